// MSF 7.0 container ("Microsoft C/C++ MSF 7.00"): the superblock, the block map (the list of
// blocks holding the stream directory: the directory's one level of indirection), the stream
// directory, and streams assembled from their blocks. Every size, count and block index is
// checked against the file before use; anything inconsistent is a BadInputError.
import { Parser } from 'binary-parser/dist/binary_parser.js';
import { BadInputError } from '../../errors.ts';

export const MSF_MAGIC = Buffer.from('Microsoft C/C++ MSF 7.00\r\n\x1aDS\0\0\0', 'latin1');

/** The superblock at file offset 0 (56 bytes). */
export const superBlockParser = new Parser()
  .endianness('little')
  .buffer('magic', { length: 32 })
  .uint32('blockSize')
  .uint32('freeBlockMapBlock')
  .uint32('numBlocks')
  .uint32('numDirectoryBytes')
  .uint32('unknown')
  .uint32('blockMapAddr');
export const SUPERBLOCK_SIZE = 56;

export interface SuperBlock {
  blockSize: number;
  freeBlockMapBlock: number;
  numBlocks: number;
  numDirectoryBytes: number;
  blockMapAddr: number;
}

/** Stream size meaning "no stream" in the directory. */
const NIL_STREAM = 0xffffffff;
const MAX_STREAMS = 0x10000; // stream indices are u16 everywhere they are referenced
const VALID_BLOCK_SIZES = new Set([512, 1024, 2048, 4096, 8192, 16384, 32768]);

export interface MsfStreamInfo {
  /** Byte size; 0 for a nil stream. */
  size: number;
  blocks: Uint32Array;
  nil: boolean;
}

export class MsfFile {
  readonly superBlock: SuperBlock;
  readonly streams: readonly MsfStreamInfo[];

  constructor(
    readonly data: Buffer,
    readonly label = 'PDB',
  ) {
    if (data.length < SUPERBLOCK_SIZE || !data.subarray(0, 32).equals(MSF_MAGIC)) {
      throw new BadInputError(`${label}: not an MSF 7.0 PDB (bad magic)`, 'pdb.magic');
    }
    const sb = superBlockParser.parse(data) as SuperBlock;
    this.superBlock = sb;
    const bs = sb.blockSize;
    if (!VALID_BLOCK_SIZES.has(bs)) throw new BadInputError(`${label}: MSF block size ${bs} is invalid`, 'pdb.superblock');
    if (sb.numBlocks === 0 || sb.numBlocks * bs > data.length + bs) {
      // The last block may be short on disk only if the writer trimmed it; more is a truncated file.
      throw new BadInputError(`${label}: MSF claims ${sb.numBlocks} blocks of ${bs} bytes but the file has ${data.length}`, 'pdb.truncated');
    }
    if (sb.numDirectoryBytes === 0 || sb.numDirectoryBytes > sb.numBlocks * bs) {
      throw new BadInputError(`${label}: MSF directory size ${sb.numDirectoryBytes} is out of range`, 'pdb.directory');
    }
    // The block map: blocks of u32 indices naming the directory's blocks. Usually one, at
    // BlockMapAddr; a directory too big for one (big PDBs) continues in the blocks whose indices
    // follow BlockMapAddr in the superblock (MSF's array of block-map pages).
    const dirBlockCount = Math.ceil(sb.numDirectoryBytes / bs);
    const perMap = bs / 4;
    const mapCount = Math.ceil(dirBlockCount / perMap);
    if (SUPERBLOCK_SIZE - 4 + mapCount * 4 > bs) {
      throw new BadInputError(`${label}: MSF directory needs ${dirBlockCount} blocks, more than the superblock can map`, 'pdb.directory');
    }
    if (SUPERBLOCK_SIZE - 4 + mapCount * 4 > data.length) throw new BadInputError(`${label}: MSF superblock is truncated`, 'pdb.truncated');
    const dirBlocks = new Uint32Array(dirBlockCount);
    for (let m = 0; m < mapCount; m++) {
      const mapIndex = data.readUInt32LE(SUPERBLOCK_SIZE - 4 + m * 4);
      const n = Math.min(perMap, dirBlockCount - m * perMap);
      const mapBuf = this.block(mapIndex).subarray(0, n * 4);
      if (mapBuf.length < n * 4) throw new BadInputError(`${label}: MSF block map is truncated`, 'pdb.truncated');
      for (let i = 0; i < n; i++) dirBlocks[m * perMap + i] = this.checkBlock(mapBuf.readUInt32LE(i * 4), 'directory');
    }
    const dir = this.gather(dirBlocks, sb.numDirectoryBytes);
    this.streams = this.parseDirectory(dir);
  }

  private checkBlock(index: number, what: string): number {
    if (index >= this.superBlock.numBlocks || index * this.superBlock.blockSize >= this.data.length) {
      throw new BadInputError(`${this.label}: ${what} block ${index} is outside the file`, 'pdb.block');
    }
    return index;
  }

  private block(index: number): Buffer {
    this.checkBlock(index, 'MSF');
    const bs = this.superBlock.blockSize;
    return this.data.subarray(index * bs, Math.min(this.data.length, (index + 1) * bs));
  }

  /** Concatenates `size` bytes from the listed blocks. */
  private gather(blocks: Uint32Array, size: number): Buffer {
    const bs = this.superBlock.blockSize;
    const out = Buffer.allocUnsafe(size);
    let done = 0;
    for (let i = 0; i < blocks.length && done < size; i++) {
      const b = this.block(blocks[i]);
      const n = Math.min(bs, size - done);
      if (b.length < n) throw new BadInputError(`${this.label}: MSF block ${blocks[i]} is truncated`, 'pdb.truncated');
      b.copy(out, done, 0, n);
      done += n;
    }
    if (done < size) throw new BadInputError(`${this.label}: MSF stream is shorter than its size`, 'pdb.truncated');
    return out;
  }

  private parseDirectory(dir: Buffer): MsfStreamInfo[] {
    const bs = this.superBlock.blockSize;
    if (dir.length < 4) throw new BadInputError(`${this.label}: MSF directory is empty`, 'pdb.directory');
    const n = dir.readUInt32LE(0);
    if (n > MAX_STREAMS || 4 + n * 4 > dir.length) {
      throw new BadInputError(`${this.label}: MSF directory lists ${n} streams, more than it can hold`, 'pdb.directory');
    }
    const streams: MsfStreamInfo[] = [];
    let pos = 4 + n * 4;
    let totalBlocks = 0;
    for (let i = 0; i < n; i++) {
      const raw = dir.readUInt32LE(4 + i * 4);
      const nil = raw === NIL_STREAM;
      const size = nil ? 0 : raw;
      const count = Math.ceil(size / bs);
      totalBlocks += count;
      if (totalBlocks > this.superBlock.numBlocks || pos + count * 4 > dir.length) {
        throw new BadInputError(`${this.label}: stream ${i} (${size} bytes) does not fit the MSF directory`, 'pdb.directory');
      }
      const blocks = new Uint32Array(count);
      for (let j = 0; j < count; j++) blocks[j] = this.checkBlock(dir.readUInt32LE(pos + j * 4), `stream ${i}`);
      pos += count * 4;
      streams.push({ size, blocks, nil });
    }
    return streams;
  }

  get streamCount(): number {
    return this.streams.length;
  }

  /** True when the stream index names a present (non-nil) stream. */
  hasStream(index: number): boolean {
    return index >= 0 && index < this.streams.length && !this.streams[index].nil;
  }

  /** A stream's bytes (copied out of its blocks). */
  readStream(index: number, what = `stream ${index}`): Buffer {
    if (!this.hasStream(index)) throw new BadInputError(`${this.label}: ${what} is missing`, 'pdb.stream');
    const s = this.streams[index];
    return this.gather(s.blocks, s.size);
  }
}
