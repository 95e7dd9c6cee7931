// DBI stream (stream 3): its header (age, machine, the global/public/symbol-record stream
// indices, substream sizes) and the optional debug header, which names the section header
// stream (and, for BBT-optimized images, the original sections plus the OMAP that maps them).
import { Parser } from 'binary-parser/dist/binary_parser.js';
import { BadInputError } from '../../errors.ts';
import { parseSectionHeader, SECTION_HEADER_SIZE, type SectionHeader } from '../pe.ts';
import type { MsfFile } from './msf.ts';

export const dbiHeaderParser = new Parser()
  .endianness('little')
  .int32('versionSignature')
  .uint32('versionHeader')
  .uint32('age')
  .uint16('globalStreamIndex')
  .uint16('buildNumber')
  .uint16('publicStreamIndex')
  .uint16('pdbDllVersion')
  .uint16('symRecordStream')
  .uint16('pdbDllRbld')
  .int32('modInfoSize')
  .int32('sectionContributionSize')
  .int32('sectionMapSize')
  .int32('sourceInfoSize')
  .int32('typeServerMapSize')
  .uint32('mfcTypeServerIndex')
  .int32('optionalDbgHeaderSize')
  .int32('ecSubstreamSize')
  .uint16('flags')
  .uint16('machine')
  .uint32('padding');
export const DBI_HEADER_SIZE = 64;

/** Slots of the optional debug header (u16 stream indices; 0xFFFF = none). */
export const DbgHeaderSlot = {
  Fpo: 0,
  Exception: 1,
  Fixup: 2,
  OmapToSrc: 3,
  OmapFromSrc: 4,
  SectionHdr: 5,
  TokenRidMap: 6,
  Xdata: 7,
  Pdata: 8,
  NewFpo: 9,
  SectionHdrOrig: 10,
} as const;

const NO_STREAM = 0xffff;
const MAX_SECTIONS = 0xffff;
const MAX_OMAP_ENTRIES = 16 * 1024 * 1024;

export interface DbiInfo {
  /** The age the PE's RSDS record carries. */
  age: number;
  machine: number;
  buildNumber: number;
  globalStreamIndex: number;
  publicStreamIndex: number;
  symRecordStream: number;
  /** Stream indices from the optional debug header (undefined = absent). */
  dbgStreams: (number | undefined)[];
}

export function parseDbiHeader(data: Buffer, label = 'PDB'): DbiInfo {
  if (data.length < DBI_HEADER_SIZE) throw new BadInputError(`${label}: DBI stream is truncated (${data.length} bytes)`, 'pdb.dbi');
  const h = dbiHeaderParser.parse(data);
  if (h.versionSignature !== -1) throw new BadInputError(`${label}: DBI stream has an old-format header`, 'pdb.dbi');
  const sizes = [h.modInfoSize, h.sectionContributionSize, h.sectionMapSize, h.sourceInfoSize, h.typeServerMapSize, h.ecSubstreamSize];
  let off = DBI_HEADER_SIZE;
  for (const s of sizes) {
    if (s < 0 || off + s > data.length) throw new BadInputError(`${label}: DBI substream size ${s} runs past the stream`, 'pdb.dbi');
    off += s;
  }
  const dbgSize = h.optionalDbgHeaderSize;
  const dbgStreams: (number | undefined)[] = [];
  if (dbgSize > 0) {
    if (off + dbgSize > data.length) throw new BadInputError(`${label}: DBI debug header runs past the stream`, 'pdb.dbi');
    for (let i = 0; i + 2 <= dbgSize; i += 2) {
      const s = data.readUInt16LE(off + i);
      dbgStreams.push(s === NO_STREAM ? undefined : s);
    }
  }
  const opt = (s: number) => (s === NO_STREAM ? -1 : s);
  return {
    age: h.age,
    machine: h.machine,
    buildNumber: h.buildNumber,
    globalStreamIndex: opt(h.globalStreamIndex),
    publicStreamIndex: opt(h.publicStreamIndex),
    symRecordStream: opt(h.symRecordStream),
    dbgStreams,
  };
}

/** Section headers stored in a PDB stream (same records as the PE's section table). */
export function parseSectionStream(data: Buffer): SectionHeader[] {
  const n = Math.min(Math.floor(data.length / SECTION_HEADER_SIZE), MAX_SECTIONS);
  const out: SectionHeader[] = [];
  for (let i = 0; i < n; i++) out.push(parseSectionHeader(data.subarray(i * SECTION_HEADER_SIZE, (i + 1) * SECTION_HEADER_SIZE)));
  return out;
}

/** OMAP: sorted (from RVA, to RVA) pairs mapping original-image RVAs to the optimized image. */
export class Omap {
  constructor(readonly entries: Uint32Array) {}

  static parse(data: Buffer, label = 'PDB'): Omap {
    const n = Math.floor(data.length / 8);
    if (n > MAX_OMAP_ENTRIES) throw new BadInputError(`${label}: OMAP has ${n} entries`, 'pdb.omap');
    const e = new Uint32Array(n * 2);
    for (let i = 0; i < n * 2; i++) e[i] = data.readUInt32LE(i * 4);
    return new Omap(e);
  }

  /** Maps an original RVA; 0 when the code was removed (as the DIA SDK does). */
  map(rva: number): number {
    const e = this.entries;
    let lo = 0;
    let hi = e.length / 2 - 1;
    if (hi < 0 || rva < e[0]) return 0;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (e[mid * 2] <= rva) lo = mid;
      else hi = mid - 1;
    }
    const to = e[lo * 2 + 1];
    return to === 0 ? 0 : to + (rva - e[lo * 2]);
  }
}

export interface SectionsAndOmap {
  sections: SectionHeader[];
  omap?: Omap;
}

/**
 * The sections that public symbols' segment numbers index. With an OMAP (original sections
 * present) symbols are in the original image's terms and their RVAs go through OmapFromSrc.
 */
export function readSections(msf: MsfFile, dbi: DbiInfo): SectionsAndOmap {
  const orig = dbi.dbgStreams[DbgHeaderSlot.SectionHdrOrig];
  const fromSrc = dbi.dbgStreams[DbgHeaderSlot.OmapFromSrc];
  if (orig !== undefined && msf.hasStream(orig)) {
    const sections = parseSectionStream(msf.readStream(orig, 'original section header stream'));
    const omap = fromSrc !== undefined && msf.hasStream(fromSrc) ? Omap.parse(msf.readStream(fromSrc, 'OMAP stream'), msf.label) : undefined;
    return { sections, omap };
  }
  const hdr = dbi.dbgStreams[DbgHeaderSlot.SectionHdr];
  if (hdr !== undefined && msf.hasStream(hdr)) return { sections: parseSectionStream(msf.readStream(hdr, 'section header stream')) };
  return { sections: [] };
}
