// A small MSF 7.0 / PDB writer for benchmarks and hostile-input tests: it lays out streams in
// blocks with a directory and block map, and builds PDB info, DBI (with a section header stream),
// TPI and symbol record streams. It writes only what our reader and llvm-pdbutil need to read the
// file, from the format description in ../shared/docs/formats.md §4 and LLVM's PDB docs.
import { MSF_MAGIC } from '../../src/ntos/pdb/msf.ts';

const LF_PAD = [0xf3, 0xf2, 0xf1];

/** Appends little-endian values to a growing list of chunks. */
export class Bytes {
  private chunks: Buffer[] = [];
  length = 0;
  push(b: Buffer): this {
    this.chunks.push(b);
    this.length += b.length;
    return this;
  }
  u8(v: number): this {
    return this.push(Buffer.from([v & 0xff]));
  }
  u16(v: number): this {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(v & 0xffff);
    return this.push(b);
  }
  u32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    return this.push(b);
  }
  i32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    return this.push(b);
  }
  cstr(s: string): this {
    return this.push(Buffer.from(s + '\0', 'utf8'));
  }
  /** A CodeView numeric leaf. */
  numeric(v: number | bigint): this {
    if (typeof v === 'number' && v >= 0 && v < 0x8000) return this.u16(v);
    if (typeof v === 'number' && v >= 0 && v <= 0xffffffff) return this.u16(0x8004).u32(v);
    if (typeof v === 'number' && v >= -0x80000000 && v < 0) return this.u16(0x8003).i32(v);
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(BigInt(v));
    return this.u16(0x8009).push(b);
  }
  concat(): Buffer {
    return Buffer.concat(this.chunks, this.length);
  }
}

/** One TPI record: u16 length, u16 leaf, payload, LF_PAD bytes to a 4-byte boundary. */
export function typeRecord(leaf: number, payload: Buffer): Buffer {
  const pad = (4 - ((4 + payload.length) % 4)) % 4;
  const out = new Bytes().u16(2 + payload.length + pad).u16(leaf).push(payload);
  for (let i = pad; i > 0; i--) out.u8(LF_PAD[3 - i]);
  return out.concat();
}

/** Lays out streams in an MSF file: superblock, two free-block-map blocks, streams, directory, block map. */
export function buildMsf(streams: (Buffer | null)[], blockSize = 4096): Buffer {
  const blocks: Buffer[] = [Buffer.alloc(blockSize), Buffer.alloc(blockSize), Buffer.alloc(blockSize)];
  const place = (data: Buffer): number[] => {
    const ids: number[] = [];
    for (let off = 0; off < data.length; off += blockSize) {
      const b = Buffer.alloc(blockSize);
      data.copy(b, 0, off, Math.min(data.length, off + blockSize));
      ids.push(blocks.length);
      blocks.push(b);
    }
    return ids;
  };
  const dir = new Bytes().u32(streams.length);
  for (const s of streams) dir.u32(s === null ? 0xffffffff : s.length);
  for (const s of streams) for (const id of s === null ? [] : place(s)) dir.u32(id);
  const dirBytes = dir.concat();
  const dirBlocks = place(dirBytes);
  const map = new Bytes();
  for (const id of dirBlocks) map.u32(id);
  // One block-map block per blockSize/4 directory blocks; their indices follow in the superblock.
  const mapBlocks = place(map.concat());
  const sb = new Bytes().push(MSF_MAGIC).u32(blockSize).u32(1).u32(blocks.length).u32(dirBytes.length).u32(0);
  for (const id of mapBlocks) sb.u32(id);
  sb.concat().copy(blocks[0]);
  return Buffer.concat(blocks);
}

export interface SynthSection {
  name: string;
  virtualAddress: number;
  virtualSize: number;
}

export interface SynthPdb {
  guid?: Buffer;
  age?: number;
  machine?: number;
  /** TPI record bytes (concatenated typeRecord()s) and how many records they hold. */
  types: { bytes: Buffer; count: number };
  sections?: SynthSection[];
  publics?: { name: string; segment: number; offset: number }[];
  blockSize?: number;
}

function sectionStream(sections: SynthSection[]): Buffer {
  const out = new Bytes();
  for (const s of sections) {
    const name = Buffer.alloc(8);
    name.write(s.name.slice(0, 8), 'latin1');
    out.push(name).u32(s.virtualSize).u32(s.virtualAddress).u32(0).u32(0).u32(0).u32(0).u16(0).u16(0).u32(0x40000040);
  }
  return out.concat();
}

function symRecordStream(publics: { name: string; segment: number; offset: number }[]): Buffer {
  const out = new Bytes();
  for (const p of publics) {
    const body = new Bytes().u16(0x110e).u32(0).u32(p.offset).u16(p.segment).cstr(p.name).concat();
    const pad = (4 - ((2 + body.length) % 4)) % 4;
    out.u16(body.length + pad).push(body).push(Buffer.alloc(pad));
  }
  return out.concat();
}

/** Streams: 0 old directory, 1 info, 2 TPI, 3 DBI, 4 IPI (empty TPI), 5 section headers, 6 symbol records. */
export function buildPdb(p: SynthPdb): Buffer {
  const guid = p.guid ?? Buffer.from('00112233445566778899aabbccddeeff', 'hex');
  const age = p.age ?? 1;
  // Info stream: header, an empty named-stream map (string buffer, hash size/capacity, present and
  // deleted bit vectors), and the VC140 feature signature.
  const info = new Bytes().u32(20000404).u32(0x5eed).u32(age).push(guid).u32(0).u32(0).u32(1).u32(0).u32(0).u32(20140508).concat();
  const tpiHeader = (bytes: Buffer, count: number) =>
    new Bytes().u32(20040203).u32(56).u32(0x1000).u32(0x1000 + count).u32(bytes.length).u16(0xffff).u16(0xffff).u32(4).u32(0x3ffff).i32(0).u32(0).i32(0).u32(0).i32(0).u32(0).push(bytes).concat();
  const dbgHeader = new Bytes();
  for (let i = 0; i < 11; i++) dbgHeader.u16(i === 5 ? 5 : 0xffff);
  const dbi = new Bytes()
    .i32(-1)
    .u32(19990903)
    .u32(age)
    .u16(0xffff) // globals
    .u16(0x8e00) // build number
    .u16(0xffff) // publics
    .u16(0)
    .u16(6) // symbol records
    .u16(0)
    .i32(0) // module info
    .i32(0) // section contributions
    .i32(0) // section map
    .i32(4) // file info: no modules, no files (LLVM's reader wants the substream present)
    .i32(0) // type server map
    .u32(0)
    .i32(22)
    .i32(0) // EC substream
    .u16(0)
    .u16(p.machine ?? 0x8664)
    .u32(0)
    .u32(0) // the file info substream
    .push(dbgHeader.concat())
    .concat();
  const sections = p.sections ?? [
    { name: '.text', virtualAddress: 0x1000, virtualSize: 0x1000 },
    { name: '.data', virtualAddress: 0x2000, virtualSize: 0x1000 },
  ];
  return buildMsf(
    [Buffer.alloc(0), info, tpiHeader(p.types.bytes, p.types.count), dbi, tpiHeader(Buffer.alloc(0), 0), sectionStream(sections), symRecordStream(p.publics ?? [])],
    p.blockSize,
  );
}

/** A fieldlist + structure pair (and a forward reference first, as compilers emit). */
export class TypeBuilder {
  private out = new Bytes();
  count = 0;
  add(leaf: number, payload: Buffer): number {
    this.out.push(typeRecord(leaf, payload));
    return 0x1000 + this.count++;
  }
  member(b: Bytes, name: string, type: number, offset: number): void {
    b.u16(0x150d).u16(3).u32(type).numeric(offset).cstr(name);
    const pad = (4 - (b.length % 4)) % 4;
    for (let i = pad; i > 0; i--) b.u8(LF_PAD[3 - i]);
  }
  struct(name: string, size: number, fieldList: number, memberCount: number, forwardRef = false): number {
    return this.add(0x1505, new Bytes().u16(memberCount).u16(forwardRef ? 0x80 : 0).u32(fieldList).u32(0).u32(0).numeric(size).cstr(name).concat());
  }
  get bytes(): { bytes: Buffer; count: number } {
    return { bytes: this.out.concat(), count: this.count };
  }
}

/**
 * `groups` groups of 7 records each: a forward reference, a bitfield, a pointer to the
 * structure, an array, a const modifier, the field list and the structure.
 */
export function synthTypes(groups: number, membersPerStruct = 6): { bytes: Buffer; count: number } {
  const tb = new TypeBuilder();
  let prevPtr = 0;
  for (let g = 0; g < groups; g++) {
    const name = `_SYNTH_STRUCT_${g}`;
    const fwd = tb.struct(name, 0, 0, 0, true);
    const bits = tb.add(0x1205, new Bytes().u32(0x22).u8(3).u8(g % 29).concat());
    const ptr = tb.add(0x1002, new Bytes().u32(fwd).u32(0x0c | (8 << 13)).concat());
    const arr = tb.add(0x1503, new Bytes().u32(0x20).u32(0x23).numeric(16 + (g % 64)).cstr('').concat());
    const mod = tb.add(0x1001, new Bytes().u32(0x74).u16(1).concat());
    const fl = new Bytes();
    let off = 0;
    tb.member(fl, 'Bits', bits, off);
    off += 4;
    tb.member(fl, 'Self', ptr, off);
    off += 8;
    tb.member(fl, 'Bytes', arr, off);
    off += 16 + (g % 64);
    off = (off + 7) & ~7;
    for (let m = 3; m < membersPerStruct; m++) {
      tb.member(fl, `Field${m}`, m % 2 ? mod : 0x23, off);
      off += 8;
    }
    if (prevPtr) {
      tb.member(fl, 'Prev', prevPtr, off);
      off += 8;
    }
    const flTi = tb.add(0x1203, fl.concat());
    tb.struct(name, off, flTi, membersPerStruct);
    prevPtr = ptr;
  }
  return tb.bytes;
}
