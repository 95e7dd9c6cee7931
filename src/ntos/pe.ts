// A small PE/COFF reader: headers, section table and the debug directory's CodeView RSDS record
// (PDB GUID, age and name). It reads through a sync `ReadAt` function so the same code serves a
// PE file on disk (file layout: offsets are file offsets) and a kernel image mapped in memory
// (memory layout: offsets are RVAs from the image base). Every header value is bounds-checked.
import { Parser } from 'binary-parser/dist/binary_parser.js';
import { BadInputError } from '../errors.ts';

/** Reads `length` bytes at `offset`; returns fewer (or undefined) when the data is not there. */
export type ReadAt = (offset: number, length: number) => Buffer | undefined;

export type PeLayout = 'file' | 'memory';

export const IMAGE_FILE_MACHINE_I386 = 0x14c;
export const IMAGE_FILE_MACHINE_AMD64 = 0x8664;
export const IMAGE_FILE_MACHINE_ARM64 = 0xaa64;
export const IMAGE_DEBUG_TYPE_CODEVIEW = 2;

export interface SectionHeader {
  name: string;
  virtualSize: number;
  virtualAddress: number;
  sizeOfRawData: number;
  pointerToRawData: number;
  characteristics: number;
}

/** IMAGE_SECTION_HEADER (40 bytes); also the record format of the PDB's section header stream. */
export const sectionHeaderParser = new Parser()
  .endianness('little')
  .buffer('name', { length: 8 })
  .uint32('virtualSize')
  .uint32('virtualAddress')
  .uint32('sizeOfRawData')
  .uint32('pointerToRawData')
  .uint32('pointerToRelocations')
  .uint32('pointerToLinenumbers')
  .uint16('numberOfRelocations')
  .uint16('numberOfLinenumbers')
  .uint32('characteristics');
export const SECTION_HEADER_SIZE = 40;

export function parseSectionHeader(buf: Buffer): SectionHeader {
  const h = sectionHeaderParser.parse(buf);
  const nul = (h.name as Buffer).indexOf(0);
  return {
    name: (h.name as Buffer).subarray(0, nul < 0 ? 8 : nul).toString('latin1'),
    virtualSize: h.virtualSize,
    virtualAddress: h.virtualAddress,
    sizeOfRawData: h.sizeOfRawData,
    pointerToRawData: h.pointerToRawData,
    characteristics: h.characteristics,
  };
}

/** IMAGE_FILE_HEADER (20 bytes), after the "PE\0\0" signature. */
export const coffHeaderParser = new Parser()
  .endianness('little')
  .uint16('machine')
  .uint16('numberOfSections')
  .uint32('timeDateStamp')
  .uint32('pointerToSymbolTable')
  .uint32('numberOfSymbols')
  .uint16('sizeOfOptionalHeader')
  .uint16('characteristics');
export const COFF_HEADER_SIZE = 20;

/** IMAGE_DEBUG_DIRECTORY (28 bytes). */
export const debugDirectoryParser = new Parser()
  .endianness('little')
  .uint32('characteristics')
  .uint32('timeDateStamp')
  .uint16('majorVersion')
  .uint16('minorVersion')
  .uint32('type')
  .uint32('sizeOfData')
  .uint32('addressOfRawData')
  .uint32('pointerToRawData');
export const DEBUG_DIRECTORY_SIZE = 28;

/** The CodeView RSDS record's fixed part: "RSDS", GUID (16), Age; the PDB path follows, NUL-terminated. */
export const rsdsHeaderParser = new Parser()
  .endianness('little')
  .uint32('signature', { assert: 0x53445352 })
  .buffer('guid', { length: 16 })
  .uint32('age');
export const RSDS_HEADER_SIZE = 24;

export interface RsdsInfo {
  /** Upper-case hex, no dashes, in Volatility's/symbol-store order (Data1..Data3 byte-swapped). */
  guid: string;
  age: number;
  /** The PDB path as recorded (may be a full build path). */
  pdbPath: string;
  /** Its last path component, e.g. `ntkrnlmp.pdb`. */
  pdbName: string;
}

export interface PeDebugInfo {
  machine: number;
  is64: boolean;
  timeDateStamp: number;
  sizeOfImage: number;
  sections: SectionHeader[];
  /** The first CodeView RSDS record of the debug directory; undefined if the image has none. */
  codeView?: RsdsInfo;
}

/** Longest PDB path we accept in an RSDS record (MAX_PATH-ish, with margin). */
const MAX_PDB_PATH = 1024;
const MAX_SECTIONS = 96; // the PE loader's own limit
const MAX_DEBUG_ENTRIES = 64;
/** Largest header span we read: e_lfanew is capped so garbage can't send us far away. */
const MAX_LFANEW = 0x10000;

/** Formats the 16 GUID bytes as stored on disk into the symbol-store form (upper hex, no dashes). */
export function guidToString(raw: Buffer): string {
  if (raw.length !== 16) throw new BadInputError(`GUID must be 16 bytes, got ${raw.length}`, 'pe.guid');
  const d1 = raw.readUInt32LE(0).toString(16).padStart(8, '0');
  const d2 = raw.readUInt16LE(4).toString(16).padStart(4, '0');
  const d3 = raw.readUInt16LE(6).toString(16).padStart(4, '0');
  return (d1 + d2 + d3 + raw.subarray(8, 16).toString('hex')).toUpperCase();
}

/** `{2A7ED8A5-D796-443D-80CF-7200044EDF83}` form of a guidToString() value. */
export function guidDashed(guid: string): string {
  return `{${guid.slice(0, 8)}-${guid.slice(8, 12)}-${guid.slice(12, 16)}-${guid.slice(16, 20)}-${guid.slice(20, 32)}}`;
}

/** Parses a CodeView RSDS record; undefined when the bytes are not one. */
export function parseRsds(buf: Buffer): RsdsInfo | undefined {
  if (buf.length < RSDS_HEADER_SIZE + 1 || buf.readUInt32LE(0) !== 0x53445352) return undefined;
  const h = rsdsHeaderParser.parse(buf);
  const tail = buf.subarray(RSDS_HEADER_SIZE, RSDS_HEADER_SIZE + MAX_PDB_PATH);
  const nul = tail.indexOf(0);
  const pdbPath = (nul < 0 ? tail : tail.subarray(0, nul)).toString('utf8');
  if (pdbPath.length === 0) return undefined;
  const parts = pdbPath.split(/[\\/]/);
  return { guid: guidToString(h.guid as Buffer), age: h.age, pdbPath, pdbName: parts[parts.length - 1] };
}

function asReader(source: Buffer | ReadAt): ReadAt {
  if (typeof source === 'function') return source;
  return (offset, length) => {
    if (offset < 0 || offset >= source.length) return undefined;
    return source.subarray(offset, Math.min(source.length, offset + length));
  };
}

function mustRead(read: ReadAt, offset: number, length: number, what: string): Buffer {
  const b = read(offset, length);
  if (!b || b.length < length) throw new BadInputError(`PE ${what} at 0x${offset.toString(16)} is truncated`, 'pe.truncated');
  return b;
}

/** Maps an RVA to a file offset through the section table; undefined if no section holds it. */
export function rvaToFileOffset(sections: readonly SectionHeader[], rva: number, length = 1): number | undefined {
  for (const s of sections) {
    const span = Math.max(s.virtualSize, s.sizeOfRawData);
    if (rva >= s.virtualAddress && rva + length <= s.virtualAddress + span) {
      const delta = rva - s.virtualAddress;
      if (delta + length > s.sizeOfRawData) return undefined; // not backed by file data
      return s.pointerToRawData + delta;
    }
  }
  return undefined;
}

/**
 * Reads a PE image's headers, sections and CodeView record. `layout` says whether `source`
 * addresses the file (offsets) or the mapped image (RVAs). Throws BadInputError for anything
 * that is not a well-formed PE; a missing or unreadable debug directory leaves codeView undefined.
 */
export function readPeDebugInfo(source: Buffer | ReadAt, layout: PeLayout = 'file'): PeDebugInfo {
  const read = asReader(source);
  const dos = mustRead(read, 0, 0x40, 'DOS header');
  if (dos.readUInt16LE(0) !== 0x5a4d) throw new BadInputError('not a PE image (no MZ signature)', 'pe.magic');
  const lfanew = dos.readUInt32LE(0x3c);
  if (lfanew < 0x40 || lfanew > MAX_LFANEW) throw new BadInputError(`PE e_lfanew 0x${lfanew.toString(16)} is out of range`, 'pe.lfanew');
  const nt = mustRead(read, lfanew, 4 + COFF_HEADER_SIZE, 'NT headers');
  if (nt.readUInt32LE(0) !== 0x00004550) throw new BadInputError('not a PE image (no PE signature)', 'pe.magic');
  const coff = coffHeaderParser.parse(nt.subarray(4));
  if (coff.numberOfSections > MAX_SECTIONS) throw new BadInputError(`PE has ${coff.numberOfSections} sections (max ${MAX_SECTIONS})`, 'pe.sections');
  const optOff = lfanew + 4 + COFF_HEADER_SIZE;
  const optSize: number = coff.sizeOfOptionalHeader;
  if (optSize < 96) throw new BadInputError(`PE optional header too small (${optSize} bytes)`, 'pe.optional');
  const opt = mustRead(read, optOff, optSize, 'optional header');
  const magic = opt.readUInt16LE(0);
  if (magic !== 0x10b && magic !== 0x20b) throw new BadInputError(`PE optional header magic 0x${magic.toString(16)} is unknown`, 'pe.optional');
  const is64 = magic === 0x20b;
  const sizeOfImage = opt.readUInt32LE(56);
  const dirCountOff = is64 ? 108 : 92;
  const dirsOff = dirCountOff + 4;
  const numDirs = opt.length >= dirsOff ? opt.readUInt32LE(dirCountOff) : 0;

  const secOff = optOff + optSize;
  const secBuf = mustRead(read, secOff, coff.numberOfSections * SECTION_HEADER_SIZE, 'section table');
  const sections: SectionHeader[] = [];
  for (let i = 0; i < coff.numberOfSections; i++) {
    sections.push(parseSectionHeader(secBuf.subarray(i * SECTION_HEADER_SIZE, (i + 1) * SECTION_HEADER_SIZE)));
  }

  const info: PeDebugInfo = { machine: coff.machine, is64, timeDateStamp: coff.timeDateStamp, sizeOfImage, sections };
  const DEBUG_DIR = 6;
  if (numDirs <= DEBUG_DIR || opt.length < dirsOff + (DEBUG_DIR + 1) * 8) return info;
  const dbgRva = opt.readUInt32LE(dirsOff + DEBUG_DIR * 8);
  const dbgSize = opt.readUInt32LE(dirsOff + DEBUG_DIR * 8 + 4);
  if (dbgRva === 0 || dbgSize < DEBUG_DIRECTORY_SIZE) return info;
  const count = Math.min(Math.floor(dbgSize / DEBUG_DIRECTORY_SIZE), MAX_DEBUG_ENTRIES);
  const dirOffset = layout === 'memory' ? dbgRva : rvaToFileOffset(sections, dbgRva, count * DEBUG_DIRECTORY_SIZE);
  if (dirOffset === undefined) return info;
  const dir = read(dirOffset, count * DEBUG_DIRECTORY_SIZE);
  if (!dir) return info;
  for (let i = 0; (i + 1) * DEBUG_DIRECTORY_SIZE <= dir.length; i++) {
    const e = debugDirectoryParser.parse(dir.subarray(i * DEBUG_DIRECTORY_SIZE));
    if (e.type !== IMAGE_DEBUG_TYPE_CODEVIEW || e.sizeOfData < RSDS_HEADER_SIZE + 1) continue;
    const len = Math.min(e.sizeOfData, RSDS_HEADER_SIZE + MAX_PDB_PATH);
    const at = layout === 'memory' ? e.addressOfRawData : e.pointerToRawData;
    if (at === 0) continue;
    const rec = read(at, len);
    const cv = rec ? parseRsds(rec) : undefined;
    if (cv) {
      info.codeView = cv;
      break;
    }
  }
  return info;
}
