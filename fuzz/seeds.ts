// Seed inputs for each fuzz target, annotated with where their structures are (header fields,
// hot regions, pointer and PTE offsets, JSON paths) so mutators can aim. Offsets come from small
// readers here, independent of the parsers under test (a bug there must not hide a field here).
// Sources: the real files in ../shared/data (read in place), the LLVM-built PDB fixture, the
// real ISFs cut down to the structures the analyzer reads, and small dumps built in code.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { xz } from '@napi-rs/lzma';
import { LAYOUT_FIELDS, LAYOUT_SIZES, LAYOUT_SYMBOLS } from '../src/ntos/layout.ts';
import type { Field, Seed } from './mutators.ts';

const ROOT = new URL('..', import.meta.url).pathname;
export const SHARED = join(ROOT, '..', 'shared', 'data');
export const REAL = join(SHARED, 'real');
export const ISF_DIR = join(SHARED, 'isf', 'windows', 'ntkrnlmp.pdb');
export const PDB_FIXTURE_DIR = join(ROOT, 'test', 'fixtures', 'pdb');

function u32Fields(base: number, names: readonly string[], size: 4 | 8 = 4): Field[] {
  return names.map((name, i) => ({ at: base + i * size, size, name }));
}

// ------------------------------------------------------------------------------------------------
// ISF JSON

/** The 7 real ISFs, newest-layout first (19041 is what triage_x64.dmp runs). */
export function realIsfFiles(): string[] {
  if (!existsSync(ISF_DIR)) return [];
  return readdirSync(ISF_DIR)
    .filter((f) => f.endsWith('.json.xz'))
    .sort()
    .map((f) => join(ISF_DIR, f));
}

type Json = Record<string, unknown>;

/**
 * A real ISF cut down to what the analyzer reads: the layout structs, the types their fields
 * name (two levels deep), all base types and the layout symbols. Small enough to parse in
 * milliseconds; real enough to reach every branch of layoutFromIsf.
 */
export function cutDownIsf(full: Json): Json {
  const users = full.user_types as Record<string, Json>;
  const wanted = new Set<string>([...LAYOUT_SIZES]);
  for (const alts of Object.values(LAYOUT_FIELDS)) for (const [s] of alts) wanted.add(s);
  const enums = new Set<string>();
  const visit = (ref: unknown, depth: number): void => {
    if (!ref || typeof ref !== 'object' || depth > 2) return;
    const r = ref as Json;
    if ((r.kind === 'struct' || r.kind === 'union' || r.kind === 'class') && typeof r.name === 'string' && users[r.name] && !wanted.has(r.name)) {
      wanted.add(r.name);
      for (const f of Object.values((users[r.name]!.fields as Record<string, Json>) ?? {})) visit(f.type, depth + 1);
    } else if (r.kind === 'enum' && typeof r.name === 'string') enums.add(r.name);
    else if (r.kind === 'array' || r.kind === 'bitfield') visit(r.subtype ?? r.type, depth);
  };
  for (const name of [...wanted]) {
    const t = users[name];
    if (!t) continue;
    for (const f of Object.values((t.fields as Record<string, Json>) ?? {})) visit(f.type, 1);
  }
  const out: Json = { metadata: full.metadata, base_types: full.base_types, user_types: {}, enums: {}, symbols: {} };
  for (const n of wanted) if (users[n]) (out.user_types as Json)[n] = users[n];
  for (const n of enums) if ((full.enums as Json)[n]) (out.enums as Json)[n] = (full.enums as Json)[n];
  for (const s of LAYOUT_SYMBOLS) if ((full.symbols as Json)[s]) (out.symbols as Json)[s] = (full.symbols as Json)[s];
  return out;
}

function isfJsonPaths(doc: Json): Array<Array<string | number>> {
  const paths: Array<Array<string | number>> = [
    ['metadata'],
    ['metadata', 'format'],
    ['metadata', 'windows'],
    ['metadata', 'windows', 'pdb'],
    ['metadata', 'windows', 'pdb', 'GUID'],
    ['metadata', 'windows', 'pdb', 'age'],
    ['metadata', 'windows', 'pdb', 'database'],
    ['base_types'],
    ['base_types', 'pointer'],
    ['base_types', 'pointer', 'size'],
    ['user_types'],
    ['enums'],
    ['symbols'],
  ];
  const users = doc.user_types as Record<string, Json>;
  for (const s of LAYOUT_SYMBOLS) if ((doc.symbols as Json)[s]) paths.push(['symbols', s], ['symbols', s, 'address']);
  for (const [bt] of Object.entries(doc.base_types as Json)) paths.push(['base_types', bt, 'size']);
  for (const [name, t] of Object.entries(users)) {
    paths.push(['user_types', name], ['user_types', name, 'size'], ['user_types', name, 'fields'], ['user_types', name, 'kind']);
    const fields = (t.fields ?? {}) as Record<string, Json>;
    for (const [fname, f] of Object.entries(fields)) {
      // Every field of the small structs; of the big ones only those the layout reads and anonymous members.
      const layoutField = Object.values(LAYOUT_FIELDS).some((alts) => alts.some(([s, p]) => s === name && p.split('.')[0] === fname));
      if (Object.keys(fields).length > 40 && !layoutField && !f.anonymous) continue;
      const base = ['user_types', name, 'fields', fname];
      paths.push(base, [...base, 'offset'], [...base, 'type'], [...base, 'type', 'kind'], [...base, 'type', 'name'], [...base, 'anonymous']);
      const ty = f.type as Json | undefined;
      if (ty?.kind === 'bitfield') paths.push([...base, 'type', 'bit_position'], [...base, 'type', 'bit_length'], [...base, 'type', 'type']);
      if (ty?.kind === 'array') paths.push([...base, 'type', 'count'], [...base, 'type', 'subtype']);
      if (ty?.kind === 'pointer') paths.push([...base, 'type', 'subtype']);
    }
  }
  return paths;
}

export function isfSeeds(): Seed[] {
  const files = realIsfFiles();
  // 14393 (SecurePid, TrustletIdentity), 19041.804 (the triage dump's kernel), 22000.
  const pick = files.filter((f) => /(0CE4A95C|5278AFF8|DBBC830E|B3ED6FA2)/.test(f));
  const seeds: Seed[] = [];
  for (const f of pick.length ? pick : files.slice(0, 3)) {
    const full = JSON.parse(xz.decompressSync(readFileSync(f)).toString('utf8')) as Json;
    const doc = cutDownIsf(full);
    const text = Buffer.from(JSON.stringify(doc));
    const name = f.split('/').pop()!.slice(0, 8);
    seeds.push({ name: `isf-${name}.json`, data: text, fields: [], hot: [[0, Math.min(text.length, 4096)]], jsonPaths: isfJsonPaths(doc) });
  }
  // Compressed forms: byte edits here exercise the decompressors' error paths.
  const first = seeds[0];
  if (first) {
    const xzd = Buffer.from(xz.compressSync(first.data));
    seeds.push({ name: 'isf-cut.json.xz', data: xzd, fields: [], hot: [[0, 64], [xzd.length - 64, 64]] });
    const gz = gzipSync(first.data);
    seeds.push({ name: 'isf-cut.json.gz', data: gz, fields: [{ at: gz.length - 4, size: 4, name: 'ISIZE' }], hot: [[0, 32], [gz.length - 16, 16]] });
  }
  return seeds;
}

// ------------------------------------------------------------------------------------------------
// PE

/** Field offsets of a PE image in file layout (a tiny reader of its own). */
export function peFields(b: Buffer): { fields: Field[]; hot: Array<[number, number]> } {
  const fields: Field[] = [{ at: 0x3c, size: 4, name: 'e_lfanew' }];
  const hot: Array<[number, number]> = [[0, 0x40]];
  if (b.length < 0x40) return { fields, hot };
  const lf = b.readUInt32LE(0x3c);
  if (lf + 24 > b.length) return { fields, hot };
  fields.push(
    { at: lf, size: 4, name: 'PE signature' },
    { at: lf + 4, size: 2, name: 'Machine' },
    { at: lf + 6, size: 2, name: 'NumberOfSections' },
    { at: lf + 20, size: 2, name: 'SizeOfOptionalHeader' },
  );
  const opt = lf + 24;
  const optSize = b.readUInt16LE(lf + 20);
  hot.push([lf, 24 + optSize]);
  if (opt + 2 > b.length) return { fields, hot };
  const is64 = b.readUInt16LE(opt) === 0x20b;
  const nDirOff = opt + (is64 ? 108 : 92);
  fields.push({ at: opt, size: 2, name: 'OptionalHeader.Magic' }, { at: opt + 56, size: 4, name: 'SizeOfImage' }, { at: nDirOff, size: 4, name: 'NumberOfRvaAndSizes' });
  const dbgDir = nDirOff + 4 + 6 * 8;
  fields.push({ at: dbgDir, size: 4, name: 'DebugDirectory.RVA' }, { at: dbgDir + 4, size: 4, name: 'DebugDirectory.Size' });
  const nSec = b.readUInt16LE(lf + 6);
  const secOff = opt + optSize;
  hot.push([secOff, nSec * 40]);
  const sections: Array<{ va: number; vs: number; raw: number; rawSize: number }> = [];
  for (let i = 0; i < nSec && secOff + (i + 1) * 40 <= b.length; i++) {
    const s = secOff + i * 40;
    fields.push(
      { at: s + 8, size: 4, name: `Section[${i}].VirtualSize` },
      { at: s + 12, size: 4, name: `Section[${i}].VirtualAddress` },
      { at: s + 16, size: 4, name: `Section[${i}].SizeOfRawData` },
      { at: s + 20, size: 4, name: `Section[${i}].PointerToRawData` },
    );
    sections.push({ vs: b.readUInt32LE(s + 8), va: b.readUInt32LE(s + 12), rawSize: b.readUInt32LE(s + 16), raw: b.readUInt32LE(s + 20) });
  }
  if (dbgDir + 8 <= b.length) {
    const rva = b.readUInt32LE(dbgDir);
    const size = b.readUInt32LE(dbgDir + 4);
    const sec = sections.find((s) => rva >= s.va && rva < s.va + Math.max(s.vs, s.rawSize));
    if (sec) {
      const off = sec.raw + (rva - sec.va);
      hot.push([off, size]);
      for (let e = off; e + 28 <= Math.min(b.length, off + size); e += 28) {
        fields.push(
          { at: e + 12, size: 4, name: 'Debug.Type' },
          { at: e + 16, size: 4, name: 'Debug.SizeOfData' },
          { at: e + 20, size: 4, name: 'Debug.AddressOfRawData' },
          { at: e + 24, size: 4, name: 'Debug.PointerToRawData' },
        );
        const ptr = b.readUInt32LE(e + 24);
        if (b.readUInt32LE(e + 12) === 2 && ptr + 24 <= b.length) {
          hot.push([ptr, Math.min(b.readUInt32LE(e + 16), 512)]);
          fields.push({ at: ptr, size: 4, name: 'RSDS' }, { at: ptr + 20, size: 4, name: 'RSDS.Age' });
        }
      }
    }
  }
  return { fields, hot };
}

export function peSeeds(): Seed[] {
  const files = [join(REAL, 'exceptions-test.exe'), join(PDB_FIXTURE_DIR, 'ntoskrnl.exe')].filter(existsSync);
  return files.map((f) => {
    const data = readFileSync(f);
    return { name: f.split('/').pop()!, data, ...peFields(data) };
  });
}

// ------------------------------------------------------------------------------------------------
// PDB (MSF 7.0)

interface MsfMap {
  bs: number;
  /** File offsets of the directory's bytes, block by block. */
  dirBlocks: number[];
  streams: Array<{ size: number; blocks: number[] }>;
}

function msfMap(b: Buffer): MsfMap | undefined {
  if (b.length < 56) return undefined;
  const bs = b.readUInt32LE(0x20);
  const dirBytes = b.readUInt32LE(0x2c);
  const mapAddr = b.readUInt32LE(0x34);
  if (![512, 1024, 2048, 4096].includes(bs) || (mapAddr + 1) * bs > b.length) return undefined;
  const nDirBlocks = Math.ceil(dirBytes / bs);
  const dirBlocks: number[] = [];
  for (let i = 0; i < nDirBlocks; i++) dirBlocks.push(b.readUInt32LE(mapAddr * bs + i * 4));
  const dir = Buffer.concat(dirBlocks.map((blk) => b.subarray(blk * bs, (blk + 1) * bs))).subarray(0, dirBytes);
  const n = dir.readUInt32LE(0);
  const streams: MsfMap['streams'] = [];
  let p = 4 + n * 4;
  for (let i = 0; i < n; i++) {
    const raw = dir.readUInt32LE(4 + i * 4);
    const size = raw === 0xffffffff ? 0 : raw;
    const cnt = Math.ceil(size / bs);
    const blocks: number[] = [];
    for (let j = 0; j < cnt; j++) blocks.push(dir.readUInt32LE(p + j * 4));
    p += cnt * 4;
    streams.push({ size, blocks });
  }
  return { bs, dirBlocks, streams };
}

/** File offset of byte `off` of stream `s` (or of the directory when s = -1). */
function streamOffset(m: MsfMap, s: number, off: number): number | undefined {
  const blocks = s === -1 ? m.dirBlocks : m.streams[s]?.blocks;
  if (!blocks) return undefined;
  const blk = blocks[Math.floor(off / m.bs)];
  return blk === undefined ? undefined : blk * m.bs + (off % m.bs);
}

export function pdbFields(b: Buffer): { fields: Field[]; hot: Array<[number, number]> } {
  const fields: Field[] = u32Fields(0x20, ['BlockSize', 'FreeBlockMapBlock', 'NumBlocks', 'NumDirectoryBytes', 'Unknown', 'BlockMapAddr']);
  const hot: Array<[number, number]> = [[0, 64]];
  const m = msfMap(b);
  if (!m) return { fields, hot };
  const add = (s: number, off: number, size: 1 | 2 | 4 | 8, name: string) => {
    const at = streamOffset(m, s, off);
    if (at !== undefined && at + size <= b.length) fields.push({ at, size, name });
  };
  const hotStream = (s: number, maxBlocks: number) => {
    for (const blk of (s === -1 ? m.dirBlocks : m.streams[s]?.blocks ?? []).slice(0, maxBlocks)) hot.push([blk * m.bs, m.bs]);
  };
  hot.push([b.readUInt32LE(0x34) * m.bs, m.dirBlocks.length * 4]);
  for (let i = 0; i < m.dirBlocks.length; i++) fields.push({ at: b.readUInt32LE(0x34) * m.bs + i * 4, size: 4, name: `BlockMap[${i}]` });
  hotStream(-1, 4);
  add(-1, 0, 4, 'NumStreams');
  for (let i = 0; i < Math.min(m.streams.length, 16); i++) add(-1, 4 + i * 4, 4, `StreamSize[${i}]`);
  // A few block indices of the streams we parse.
  let p = 4 + m.streams.length * 4;
  for (let i = 0; i < m.streams.length; i++) {
    if (i <= 4 && m.streams[i]!.blocks.length > 0) add(-1, p, 4, `Stream[${i}].Block[0]`);
    p += m.streams[i]!.blocks.length * 4;
  }
  // Info stream.
  hotStream(1, 1);
  add(1, 0, 4, 'Info.Version');
  add(1, 8, 4, 'Info.Age');
  add(1, 28, 4, 'Info.NamesBufferSize');
  // TPI and IPI: header fields, then record lengths and kinds.
  for (const [s, label] of [[2, 'TPI'], [4, 'IPI']] as const) {
    const st = m.streams[s];
    if (!st || st.size < 56) continue;
    hotStream(s, 4);
    const names = ['Version', 'HeaderSize', 'TypeIndexBegin', 'TypeIndexEnd', 'TypeRecordBytes'];
    names.forEach((n, i) => add(s, i * 4, 4, `${label}.${n}`));
    add(s, 20, 2, `${label}.HashStreamIndex`);
    add(s, 24, 4, `${label}.HashKeySize`);
    add(s, 28, 4, `${label}.NumHashBuckets`);
    const data = Buffer.concat(st.blocks.map((blk) => b.subarray(blk * m.bs, (blk + 1) * m.bs))).subarray(0, st.size);
    let off = data.readUInt32LE(4);
    let n = 0;
    while (off + 4 <= data.length && n < 4000) {
      const len = data.readUInt16LE(off);
      if (n % 3 === 0) {
        add(s, off, 2, `${label}.Record[${n}].Length`);
        add(s, off + 2, 2, `${label}.Record[${n}].Leaf`);
      }
      if (len < 2) break;
      off += 2 + len;
      n++;
    }
  }
  // DBI header, the optional debug header's stream indices, and the section header stream.
  const dbi = m.streams[3];
  if (dbi && dbi.size >= 64) {
    hotStream(3, 2);
    const h = Buffer.concat(dbi.blocks.slice(0, 2).map((blk) => b.subarray(blk * m.bs, (blk + 1) * m.bs)));
    add(3, 0, 4, 'DBI.VersionSignature');
    add(3, 8, 4, 'DBI.Age');
    add(3, 12, 2, 'DBI.GlobalStreamIndex');
    add(3, 16, 2, 'DBI.PublicStreamIndex');
    add(3, 20, 2, 'DBI.SymRecordStream');
    ['ModInfoSize', 'SectionContributionSize', 'SectionMapSize', 'SourceInfoSize', 'TypeServerMapSize', 'MFCTypeServerIndex', 'OptionalDbgHeaderSize', 'ECSubstreamSize'].forEach((n, i) => add(3, 24 + i * 4, 4, `DBI.${n}`));
    add(3, 58, 2, 'DBI.Machine');
    const sizes = [24, 28, 32, 36, 40, 52].map((o) => h.readInt32LE(o));
    const dbgOff = 64 + sizes.reduce((a, x) => a + Math.max(0, x), 0);
    for (let i = 0; i < 11; i++) add(3, dbgOff + i * 2, 2, `DBI.DbgHeader[${i}]`);
    const symRec = h.readUInt16LE(20);
    hotStream(symRec, 2);
    const secStream = dbgOff + 10 + 2 <= dbi.size ? readStreamU16(b, m, 3, dbgOff + 10) : undefined;
    if (secStream !== undefined && m.streams[secStream]) {
      hotStream(secStream, 1);
      for (let i = 0; i < 4; i++) {
        add(secStream, i * 40 + 8, 4, `SectionHdr[${i}].VirtualSize`);
        add(secStream, i * 40 + 12, 4, `SectionHdr[${i}].VirtualAddress`);
      }
    }
    // S_PUB32 records: length, kind, segment.
    const sr = m.streams[symRec];
    if (sr) {
      const data = Buffer.concat(sr.blocks.slice(0, 8).map((blk) => b.subarray(blk * m.bs, (blk + 1) * m.bs))).subarray(0, sr.size);
      let off = 0;
      for (let n = 0; off + 4 <= data.length && n < 600; n++) {
        const len = data.readUInt16LE(off);
        if (n % 4 === 0) {
          add(symRec, off, 2, `SymRec[${n}].Length`);
          add(symRec, off + 2, 2, `SymRec[${n}].Kind`);
          add(symRec, off + 12, 2, `SymRec[${n}].Segment`);
        }
        if (len < 2) break;
        off += 2 + len;
      }
    }
  }
  return { fields, hot };
}

function readStreamU16(b: Buffer, m: MsfMap, s: number, off: number): number | undefined {
  const at = streamOffset(m, s, off);
  return at !== undefined && at + 2 <= b.length ? b.readUInt16LE(at) : undefined;
}

export function pdbSeeds(): Seed[] {
  const files = [join(PDB_FIXTURE_DIR, 'ntkrnlmp.pdb'), join(REAL, 'minimal.pdb'), join(REAL, 'exceptions-test.pdb')].filter(existsSync);
  return files.map((f) => {
    const data = readFileSync(f);
    const name = f.includes('fixtures') ? 'llvm-ntkrnlmp.pdb' : f.split('/').pop()!;
    return { name, data, ...pdbFields(data) };
  });
}
