// Minimal test builders: a page map → full (DumpType 1), bitmap (5/6), RDMP (8/9/0xA) and raw
// files, laid out as ../shared/docs/formats.md and kdmp-parser's structs describe. Small and
// explicit on purpose: tests corrupt their output byte by byte. (The synthetic-dump generator with
// kernel objects lives under samples/.)
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const PAGE = 4096;
/** pfn → page bytes (4096). */
export type PageMap = Map<number, Buffer>;

export interface HeaderOptions {
  dumpType: number;
  machine?: number;
  dtb?: bigint;
  minorVersion?: number;
  bugCheckCode?: number;
  comment?: string;
  systemTime?: bigint;
  requiredDumpSpace?: bigint;
}

/** A page whose bytes are derived from its number (and a salt), never all-zero. */
export function patternPage(pfn: number, salt = 0): Buffer {
  const b = Buffer.alloc(PAGE);
  for (let i = 0; i < PAGE; i += 8) {
    b.writeUInt32LE((pfn * 0x9e3779b1 + i * 0x85ebca6b + salt) >>> 0, i);
    b.writeUInt32LE((pfn ^ 0xa5a5a5a5 ^ i) >>> 0, i + 4);
  }
  return b;
}

export function pageMap(pfns: Iterable<number>, salt = 0): PageMap {
  const m: PageMap = new Map();
  for (const p of pfns) m.set(p, patternPage(p, salt));
  return m;
}

/** DUMP_HEADER64, filled with PAGE as Windows does. */
export function header(o: HeaderOptions): Buffer {
  const h = Buffer.alloc(0x2000);
  for (let i = 0; i < h.length; i += 4) h.write('PAGE', i, 'latin1');
  h.write('PAGEDU64', 0, 'latin1');
  h.writeUInt32LE(15, 0x8);
  h.writeUInt32LE(o.minorVersion ?? 19041, 0xc);
  h.writeBigUInt64LE(o.dtb ?? 0x1ad000n, 0x10);
  h.writeBigUInt64LE(0xfffff8047c6fc500n, 0x18);
  h.writeBigUInt64LE(0xfffff8047c62a390n, 0x20);
  h.writeBigUInt64LE(0xfffff8047c61e200n, 0x28);
  h.writeUInt32LE(o.machine ?? 0x8664, 0x30);
  h.writeUInt32LE(4, 0x34);
  h.writeUInt32LE(o.bugCheckCode ?? 0xe2, 0x38);
  for (let i = 0; i < 4; i++) h.writeBigUInt64LE(BigInt(i + 1), 0x40 + i * 8);
  h.writeBigUInt64LE(0xfffff8047c600b20n, 0x80);
  h.writeUInt32LE(o.dumpType, 0xf98);
  h.writeBigUInt64LE(o.requiredDumpSpace ?? 0n, 0xfa0);
  h.writeBigUInt64LE(o.systemTime ?? 0x01d707f23dbb3399n, 0xfa8);
  if (o.comment !== undefined) {
    h.fill(0, 0xfb0, 0xfb0 + 128);
    h.write(o.comment, 0xfb0, 'latin1');
  }
  return h;
}

/** Consecutive pfns grouped into runs. */
export function runsOf(pages: PageMap): Array<{ base: number; count: number }> {
  const pfns = [...pages.keys()].sort((a, b) => a - b);
  const runs: Array<{ base: number; count: number }> = [];
  for (const p of pfns) {
    const last = runs[runs.length - 1];
    if (last && last.base + last.count === p) last.count++;
    else runs.push({ base: p, count: 1 });
  }
  return runs;
}

export function buildFull(pages: PageMap, o: Partial<HeaderOptions> = {}): Buffer {
  const h = header({ ...o, dumpType: 1 });
  const runs = runsOf(pages);
  h.writeUInt32LE(runs.length, 0x88);
  h.writeUInt32LE(0, 0x8c);
  h.writeBigUInt64LE(BigInt(pages.size), 0x90);
  runs.forEach((r, i) => {
    h.writeBigUInt64LE(BigInt(r.base), 0x98 + i * 16);
    h.writeBigUInt64LE(BigInt(r.count), 0xa0 + i * 16);
  });
  const body = [...pages.keys()].sort((a, b) => a - b).map((p) => pages.get(p)!);
  return Buffer.concat([h, ...body]);
}

/** DumpType 5 (or 6) with an SDMP/FDMP header; the run table at 0x88 stays PAGE filler. */
export function buildBitmap(pages: PageMap, o: Partial<HeaderOptions> & { signature?: 'SDMP' | 'FDMP'; bitCount?: number } = {}): Buffer {
  const h = header({ ...o, dumpType: o.dumpType ?? 5 });
  const maxPfn = Math.max(...pages.keys());
  const bitCount = o.bitCount ?? maxPfn + 1;
  const bitmapBytes = Math.ceil(bitCount / 8);
  const hdr = Buffer.alloc(0x38 + bitmapBytes);
  hdr.write(o.signature ?? 'FDMP', 0, 'latin1');
  hdr.write('DUMP', 4, 'latin1');
  const firstPage = Math.ceil((0x2000 + hdr.length) / PAGE) * PAGE;
  hdr.writeBigUInt64LE(BigInt(firstPage), 0x20);
  hdr.writeBigUInt64LE(BigInt(pages.size), 0x28);
  hdr.writeBigUInt64LE(BigInt(bitCount), 0x30);
  for (const p of pages.keys()) hdr[0x38 + (p >> 3)]! |= 1 << (p & 7);
  const pad = Buffer.alloc(firstPage - 0x2000 - hdr.length);
  const body = [...pages.keys()].sort((a, b) => a - b).map((p) => pages.get(p)!);
  return Buffer.concat([h, hdr, pad, ...body]);
}

/** DumpType 8, 9 or 0xA: RDMP header, PFN ranges, a zero terminator, pages from a page-aligned FirstPageOffset. */
export function buildRdmp(pages: PageMap, o: Partial<HeaderOptions> & { dumpType: 8 | 9 | 0xa; rangeOrder?: 'asc' | 'desc' }): Buffer {
  const h = header(o);
  const runs = runsOf(pages);
  if (o.rangeOrder === 'desc') runs.reverse();
  const listBytes = 0x30 + (runs.length + 1) * 16;
  const firstPage = Math.ceil((0x2000 + listBytes) / PAGE) * PAGE;
  const meta = Buffer.alloc(firstPage - 0x2000);
  meta.writeUInt32LE(0x40, 0);
  meta.write('RDMP', 4, 'latin1');
  meta.write('DUMP', 8, 'latin1');
  meta.writeBigUInt64LE(BigInt(firstPage - 0x2020), 0x10); // MetadataSize
  meta.writeBigUInt64LE(BigInt(firstPage), 0x18);
  if (o.dumpType === 0xa) {
    meta.writeUInt32LE(runs.length, 0x20);
    meta.writeBigUInt64LE(BigInt(pages.size), 0x28);
  }
  runs.forEach((r, i) => {
    meta.writeBigUInt64LE(BigInt(r.base), 0x30 + i * 16);
    meta.writeBigUInt64LE(BigInt(r.count), 0x38 + i * 16);
  });
  const body: Buffer[] = [];
  for (const r of runs) for (let p = r.base; p < r.base + r.count; p++) body.push(pages.get(p)!);
  return Buffer.concat([h, meta, ...body]);
}

/** A raw image: page n at n × 4096; absent pages are zeros (a raw image cannot say otherwise). */
export function buildRaw(pages: PageMap, pageCount?: number): Buffer {
  const n = pageCount ?? Math.max(...pages.keys()) + 1;
  const out = Buffer.alloc(n * PAGE);
  for (const [p, b] of pages) if (p < n) b.copy(out, p * PAGE);
  return out;
}

/** Writes under test/.tmp/<dir>/ and returns the path. */
export function writeTmp(dir: string, name: string, data: Buffer): string {
  const d = new URL(`../.tmp/${dir}/`, import.meta.url).pathname;
  mkdirSync(d, { recursive: true });
  const p = join(d, name);
  writeFileSync(p, data);
  return p;
}

/**
 * A VMware state file (.vmss/.vmsn) with a "memory" group holding the region map; `blob` puts a
 * long-data tag (as memory kept inside a .vmsn) of that declared size before the region tags.
 */
export function buildVmss(regions: Array<{ ppn: number; pageNum: number; size: number }>, o: { magic?: number; blob?: number; blobWritten?: number } = {}): Buffer {
  const magic = o.magic ?? 0xbed2bed2; // version 2: blob size fields are 8 bytes
  const version = magic & 0xf;
  const tag = (name: string, idx: number[], value: number) => {
    const b = Buffer.alloc(2 + name.length + idx.length * 4 + 4);
    b[0] = (idx.length << 6) | 4;
    b[1] = name.length;
    b.write(name, 2, 'latin1');
    idx.forEach((v, i) => b.writeUInt32LE(v, 2 + name.length + i * 4));
    b.writeUInt32LE(value, 2 + name.length + idx.length * 4);
    return b;
  };
  const tags: Buffer[] = [];
  if (o.blob !== undefined) {
    const w = version === 0 ? 4 : 8;
    const name = 'Memory';
    const b = Buffer.alloc(2 + name.length + 2 * w + 2 + (o.blobWritten ?? o.blob), 0xcc); // blobWritten < blob: a cut blob
    b[0] = 62;
    b[1] = name.length;
    b.write(name, 2, 'latin1');
    if (w === 4) b.writeUInt32LE(o.blob, 2 + name.length);
    else b.writeBigUInt64LE(BigInt(o.blob), 2 + name.length);
    tags.push(b);
  }
  tags.push(tag('regionsCount', [], regions.length));
  regions.forEach((r, i) => tags.push(tag('regionPPN', [i], r.ppn), tag('regionPageNum', [i], r.pageNum), tag('regionSize', [i], r.size)));
  tags.push(Buffer.from([0, 0]));
  const head = Buffer.alloc(12 + 2 * 80);
  head.writeUInt32LE(magic, 0);
  head.writeUInt32LE(2, 8);
  head.write('cpu', 12, 'latin1');
  const cpuTags = head.length;
  head.writeBigUInt64LE(BigInt(cpuTags), 12 + 64);
  head.write('memory', 12 + 80, 'latin1');
  head.writeBigUInt64LE(BigInt(cpuTags + 2), 12 + 80 + 64);
  return Buffer.concat([head, Buffer.from([0, 0]), ...tags]);
}
