// The decompressed size of an .xz file, read from its structure before anything is decompressed,
// so an xz bomb is refused with no memory spent on it. We walk every stream, every block and every
// LZMA2 chunk header (each chunk states its unpacked and packed size; a decoder produces exactly
// the unpacked sizes, so their sum is what decompression would yield) and stop as soon as the sum
// passes the caller's bound. Damaged structure is bad input. Format: tukaani.org/xz/xz-file-format.txt
// (stream header/footer, block header, index) and the LZMA2 chunk layout of liblzma's lzma2_decoder.c.
import { BadInputError } from '../errors.ts';

/** "\xFD7zXZ\0": the stream header magic. */
export const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
const STREAM_HEADER_BYTES = 12;
const STREAM_FOOTER_BYTES = 12;
/** Filter ID of LZMA2, the only filter that changes the size (BCJ and delta filters do not). */
const FILTER_LZMA2 = 0x21n;
/** Check field size by check type (stream flags byte 1, low nibble): none, CRC32, CRC64, SHA-256 and the reserved ones. */
const CHECK_BYTES = [0, 4, 4, 4, 8, 8, 8, 16, 16, 16, 32, 32, 32, 64, 64, 64];
/** LZMA2 control bytes: end of data, uncompressed chunk (with or without dictionary reset), LZMA chunk. */
const LZMA2_END = 0x00;
const LZMA2_UNCOMPRESSED_MAX = 0x02;
const LZMA2_LZMA_MIN = 0x80;
/** LZMA chunks whose control byte says new properties follow (one extra byte). */
const LZMA2_PROPS_MIN = 0xc0;

class Reader {
  constructor(
    readonly b: Buffer,
    public at: number,
    readonly label: string,
  ) {}
  need(n: number, what: string): void {
    if (n < 0 || this.at + n > this.b.length) throw new BadInputError(`${this.label}: xz ${what} runs past the end of the file`, 'isf.xz-structure');
  }
  u8(what: string): number {
    this.need(1, what);
    return this.b[this.at++]!;
  }
  /** xz multibyte integer (7 bits a byte, at most 9 bytes). */
  varint(what: string): bigint {
    let v = 0n;
    for (let i = 0; i < 9; i++) {
      const c = this.u8(what);
      v |= BigInt(c & 0x7f) << BigInt(7 * i);
      if ((c & 0x80) === 0) return v;
    }
    throw new BadInputError(`${this.label}: xz ${what}: integer longer than 9 bytes`, 'isf.xz-structure');
  }
}

/** Sum of unpacked sizes of one block's LZMA2 chunks; leaves the reader after the end marker. */
function lzma2Size(r: Reader, total: number, bound: number): number {
  for (;;) {
    const c = r.u8('LZMA2 chunk');
    if (c === LZMA2_END) return total;
    let unpacked: number;
    let packed: number;
    if (c <= LZMA2_UNCOMPRESSED_MAX) {
      r.need(2, 'LZMA2 chunk header');
      unpacked = r.b.readUInt16BE(r.at) + 1;
      packed = unpacked;
      r.at += 2;
    } else if (c >= LZMA2_LZMA_MIN) {
      r.need(4, 'LZMA2 chunk header');
      unpacked = (c & 0x1f) * 65536 + r.b.readUInt16BE(r.at) + 1;
      packed = r.b.readUInt16BE(r.at + 2) + 1;
      r.at += 4 + (c >= LZMA2_PROPS_MIN ? 1 : 0);
    } else throw new BadInputError(`${r.label}: xz LZMA2 control byte 0x${c.toString(16)} is invalid`, 'isf.xz-structure');
    total += unpacked;
    if (total > bound) throw new BadInputError(`${r.label}: xz expands to more than the ${bound}-byte bound for an ISF file (stopped reading at ${total} bytes)`, 'isf.decompressed-size');
    r.need(packed, 'LZMA2 chunk data');
    r.at += packed;
  }
}

/** One block (its header byte already peeked as non-zero): returns the running total. */
function blockSize(r: Reader, checkBytes: number, total: number, bound: number): number {
  const start = r.at;
  const headerBytes = (r.u8('block header') + 1) * 4;
  r.need(headerBytes - 1, 'block header');
  const flags = r.u8('block flags');
  if (flags & 0x40) r.varint('compressed size');
  if (flags & 0x80) r.varint('uncompressed size');
  const filters = (flags & 0x03) + 1;
  let last = -1n;
  for (let i = 0; i < filters; i++) {
    last = r.varint('filter ID');
    const props = r.varint('filter properties size');
    if (props > 64n) throw new BadInputError(`${r.label}: xz filter properties of ${props} bytes`, 'isf.xz-structure');
    r.need(Number(props), 'filter properties');
    r.at += Number(props);
  }
  if (last !== FILTER_LZMA2) throw new BadInputError(`${r.label}: xz block whose last filter is 0x${last.toString(16)}, not LZMA2`, 'isf.xz-structure');
  if (r.at > start + headerBytes - 4) throw new BadInputError(`${r.label}: xz block header longer than it says`, 'isf.xz-structure');
  r.at = start + headerBytes; // padding and CRC32
  total = lzma2Size(r, total, bound);
  r.at += (4 - ((r.at - start) % 4)) % 4; // block padding
  r.need(checkBytes, 'block check');
  r.at += checkBytes;
  return total;
}

/**
 * Decompressed size of an xz file (all concatenated streams), read from its structure; throws
 * BadInputError 'isf.decompressed-size' as soon as it passes `bound`, 'isf.xz-structure' on damage.
 */
export function xzDecompressedSize(bytes: Buffer, bound: number, label: string): number {
  const r = new Reader(bytes, 0, label);
  let total = 0;
  let streams = 0;
  while (r.at < bytes.length) {
    // Stream padding between streams: zero bytes, a multiple of four.
    if (streams > 0 && bytes[r.at] === 0) {
      r.at += 4;
      continue;
    }
    r.need(STREAM_HEADER_BYTES, 'stream header');
    if (!bytes.subarray(r.at, r.at + XZ_MAGIC.length).equals(XZ_MAGIC)) throw new BadInputError(`${label}: xz stream ${streams} has no stream header magic`, 'isf.xz-structure');
    const checkBytes = CHECK_BYTES[bytes[r.at + 7]! & 0x0f]!;
    r.at += STREAM_HEADER_BYTES;
    for (;;) {
      r.need(1, 'block or index');
      if (bytes[r.at] === 0) break; // index indicator
      total = blockSize(r, checkBytes, total, bound);
    }
    // Index: indicator, record count, records (unpadded size, uncompressed size), padding, CRC32.
    const indexStart = r.at++;
    const records = r.varint('index record count');
    for (let i = 0n; i < records; i++) {
      r.varint('index unpadded size');
      r.varint('index uncompressed size');
    }
    r.at += (4 - ((r.at - indexStart) % 4)) % 4;
    r.need(4 + STREAM_FOOTER_BYTES, 'index CRC32 and stream footer');
    r.at += 4 + STREAM_FOOTER_BYTES;
    streams++;
  }
  if (streams === 0) throw new BadInputError(`${label}: empty xz file`, 'isf.xz-structure');
  return total;
}
