// On-disk structures of Windows x64 crash dumps, each declared once, field by field, at its byte
// offset (kdmp-parser style). Facts: ../shared/docs/formats.md §1, kdmp-parser's
// src/lib/kdmp-parser-structs.h (RDMP layout), ../shared/data/real/SOURCES.md (TRIAGE_DUMP64).
// Each structure is a binary-parser definition built from its field table, so the offsets in the
// table are the offsets parsed; test/dump-structs.test.ts asserts sizes and key offsets.
// Exports: DUMP_HEADER64, PHYSICAL_MEMORY_DESCRIPTOR64, PHYSMEM_RUN64, BITMAP_HEADER64,
// RDMP_HEADER64, TRIAGE_DUMP64, DUMP_DRIVER_ENTRY64, and their parsed TypeScript shapes.
// The CJS build, imported by path: it carries its own .d.ts, and tsconfig's 'binary-parser' paths entry must not
// steer the runtime (tsx honours paths) to a declaration file.
import { Parser } from 'binary-parser/dist/binary_parser.js';

type FieldKind = 'u8' | 'u16' | 'u32' | 'u64' | { bytes: number } | { ascii: number };

export interface StructDef<T> {
  readonly name: string;
  readonly size: number;
  /** Field name → byte offset, exactly as parsed. */
  readonly offsets: Readonly<Record<keyof T & string, number>>;
  readonly parser: Parser;
  /** Parses `buf` at `at`; the caller has checked that `size` bytes are there. */
  parse(buf: Buffer, at?: number): T;
}

function kindSize(k: FieldKind): number {
  if (typeof k === 'object') return 'bytes' in k ? k.bytes : k.ascii;
  return { u8: 1, u16: 2, u32: 4, u64: 8 }[k];
}

/** Builds a little-endian parser from [offset, name, kind] rows; rows must ascend and not overlap. */
function struct<T>(name: string, size: number, rows: ReadonlyArray<readonly [number, keyof T & string, FieldKind]>): StructDef<T> {
  let p = new Parser().endianness('little');
  let cursor = 0;
  const offsets = {} as Record<keyof T & string, number>;
  for (const [off, field, kind] of rows) {
    if (off < cursor) throw new Error(`${name}.${field} at 0x${off.toString(16)} overlaps the previous field`);
    if (off > cursor) p = p.seek(off - cursor);
    if (kind === 'u8') p = p.uint8(field);
    else if (kind === 'u16') p = p.uint16le(field);
    else if (kind === 'u32') p = p.uint32le(field);
    else if (kind === 'u64') p = p.uint64le(field);
    else if ('bytes' in kind) p = p.buffer(field, { length: kind.bytes, clone: true });
    else p = p.string(field, { length: kind.ascii, encoding: 'latin1' });
    offsets[field] = off;
    cursor = off + kindSize(kind);
  }
  if (cursor > size) throw new Error(`${name} fields run past its size`);
  if (cursor < size) p = p.seek(size - cursor);
  const parser = p;
  return {
    name,
    size,
    offsets,
    parser,
    parse(buf: Buffer, at = 0): T {
      return parser.parse(at === 0 && buf.length === size ? buf : buf.subarray(at, at + size)) as T;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// DUMP_HEADER64 (0x2000 bytes at file offset 0)

export const DUMP_HEADER64_SIZE = 0x2000;
/** Signature (first 4 bytes) of every Windows crash dump header. */
export const SIG_PAGE = 'PAGE';
/** `PAGEDU64`: the 64-bit header (the ValidDump field, bytes 4..7). */
export const VALID_DU64 = 'DU64';
/** `PAGEDUMP`: the 32-bit header. */
export const VALID_DUMP32 = 'DUMP';
/** Unused header bytes are filled with `PAGE`; a run count or page count equal to it is filler. */
export const PAGE_FILL_U32 = 0x45474150;
export const PAGE_FILL_U64 = 0x4547415045474150n;

export const MACHINE_AMD64 = 0x8664;
export const MACHINE_ARM64 = 0xaa64;
export const MACHINE_I386 = 0x14c;

export interface DumpHeader64 {
  signature: string;
  validDump: string;
  majorVersion: number;
  minorVersion: number;
  directoryTableBase: bigint;
  pfnDataBase: bigint;
  psLoadedModuleList: bigint;
  psActiveProcessHead: bigint;
  machineImageType: number;
  numberProcessors: number;
  bugCheckCode: number;
  bugCheckParameter1: bigint;
  bugCheckParameter2: bigint;
  bugCheckParameter3: bigint;
  bugCheckParameter4: bigint;
  versionUser: Buffer;
  kdDebuggerDataBlock: bigint;
  /** The first bytes of PHYSICAL_MEMORY_DESCRIPTOR64 (see PHYSICAL_MEMORY_DESCRIPTOR64). */
  physicalMemoryBlock: Buffer;
  exceptionCode: number;
  exceptionAddress: bigint;
  dumpType: number;
  requiredDumpSpace: bigint;
  systemTime: bigint;
  comment: Buffer;
  systemUpTime: bigint;
  miniDumpFields: number;
  secondaryDataState: number;
  productType: number;
  suiteMask: number;
  writerStatus: number;
}

/** Where PHYSICAL_MEMORY_DESCRIPTOR64 lives and how many bytes the header reserves for it. */
export const PHYSICAL_MEMORY_BLOCK_OFFSET = 0x88;
export const PHYSICAL_MEMORY_BLOCK_SIZE = 0x2c0;
export const CONTEXT_RECORD_OFFSET = 0x348;
export const CONTEXT_RECORD_SIZE = 0xbb8;

export const DUMP_HEADER64 = struct<DumpHeader64>('DUMP_HEADER64', DUMP_HEADER64_SIZE, [
  [0x000, 'signature', { ascii: 4 }],
  [0x004, 'validDump', { ascii: 4 }],
  [0x008, 'majorVersion', 'u32'],
  [0x00c, 'minorVersion', 'u32'],
  [0x010, 'directoryTableBase', 'u64'],
  [0x018, 'pfnDataBase', 'u64'],
  [0x020, 'psLoadedModuleList', 'u64'],
  [0x028, 'psActiveProcessHead', 'u64'],
  [0x030, 'machineImageType', 'u32'],
  [0x034, 'numberProcessors', 'u32'],
  [0x038, 'bugCheckCode', 'u32'],
  [0x040, 'bugCheckParameter1', 'u64'],
  [0x048, 'bugCheckParameter2', 'u64'],
  [0x050, 'bugCheckParameter3', 'u64'],
  [0x058, 'bugCheckParameter4', 'u64'],
  [0x060, 'versionUser', { bytes: 32 }],
  [0x080, 'kdDebuggerDataBlock', 'u64'],
  [0x088, 'physicalMemoryBlock', { bytes: PHYSICAL_MEMORY_BLOCK_SIZE }],
  // 0x348 ContextRecord (CONTEXT, 0xBB8 bytes) is not needed by the analyzer.
  [0xf00, 'exceptionCode', 'u32'],
  [0xf10, 'exceptionAddress', 'u64'],
  [0xf98, 'dumpType', 'u32'],
  [0xfa0, 'requiredDumpSpace', 'u64'],
  [0xfa8, 'systemTime', 'u64'],
  [0xfb0, 'comment', { bytes: 128 }],
  [0x1030, 'systemUpTime', 'u64'],
  [0x1038, 'miniDumpFields', 'u32'],
  [0x103c, 'secondaryDataState', 'u32'],
  [0x1040, 'productType', 'u32'],
  [0x1044, 'suiteMask', 'u32'],
  [0x1048, 'writerStatus', 'u32'],
]);

/** The 32-bit `PAGEDUMP` header: only the fields needed to name what was found. */
export interface DumpHeader32 {
  signature: string;
  validDump: string;
  majorVersion: number;
  minorVersion: number;
  machineImageType: number;
}
export const DUMP_HEADER32 = struct<DumpHeader32>('DUMP_HEADER32', 0x24, [
  [0x00, 'signature', { ascii: 4 }],
  [0x04, 'validDump', { ascii: 4 }],
  [0x08, 'majorVersion', 'u32'],
  [0x0c, 'minorVersion', 'u32'],
  [0x20, 'machineImageType', 'u32'],
]);

// ---------------------------------------------------------------------------------------------
// PHYSICAL_MEMORY_DESCRIPTOR64 (at 0x88 in the header; runs follow the 16-byte head)

export interface PhysicalMemoryDescriptor64 {
  numberOfRuns: number;
  numberOfPages: bigint;
}
export const PHYSICAL_MEMORY_DESCRIPTOR64 = struct<PhysicalMemoryDescriptor64>('PHYSICAL_MEMORY_DESCRIPTOR64', 0x10, [
  [0x0, 'numberOfRuns', 'u32'],
  [0x8, 'numberOfPages', 'u64'],
]);

export interface PhysmemRun64 {
  basePage: bigint;
  pageCount: bigint;
}
export const PHYSMEM_RUN64 = struct<PhysmemRun64>('PHYSMEM_RUN64', 0x10, [
  [0x0, 'basePage', 'u64'],
  [0x8, 'pageCount', 'u64'],
]);
/** The most runs the header's 0x2C0-byte block can hold. */
export const MAX_HEADER_RUNS = (PHYSICAL_MEMORY_BLOCK_SIZE - PHYSICAL_MEMORY_DESCRIPTOR64.size) / PHYSMEM_RUN64.size;

// ---------------------------------------------------------------------------------------------
// Bitmap header (DumpType 5 and 6, file offset 0x2000)

export const BITMAP_HEADER_OFFSET = 0x2000;
export interface BitmapHeader64 {
  signature: string; // SDMP or FDMP
  validDump: string; // DUMP
  firstPage: bigint;
  totalPresentPages: bigint;
  pages: bigint;
}
export const BITMAP_HEADER64 = struct<BitmapHeader64>('BITMAP_HEADER64', 0x38, [
  [0x00, 'signature', { ascii: 4 }],
  [0x04, 'validDump', { ascii: 4 }],
  [0x20, 'firstPage', 'u64'],
  [0x28, 'totalPresentPages', 'u64'],
  [0x30, 'pages', 'u64'],
]);
/** The bitmap starts right after the header. */
export const BITMAP_OFFSET = BITMAP_HEADER_OFFSET + BITMAP_HEADER64.size;

// ---------------------------------------------------------------------------------------------
// RDMP header (DumpType 8, 9, 0xA at file offset 0x2000), per kdmp-parser's RDMP_HEADER64,
// KERNEL_RDMP_HEADER64 and FULL_RDMP_HEADER64. After the 0x30-byte header comes a list of PFN
// ranges {PageFileNumber u64, NumberOfPages u64}; the pages of the ranges follow FirstPageOffset
// in list order. kdmp-parser checks MetadataSize - 0x20 == FirstPageOffset - 0x2040.

export const RDMP_HEADER_OFFSET = 0x2000;
export const RDMP_MARKER = 0x40;
export interface RdmpHeader64 {
  marker: number;
  signature: string; // RDMP
  validDump: string; // DUMP
  metadataSize: bigint;
  firstPageOffset: bigint;
  /** DumpType 0xA only (FULL_RDMP_HEADER64). */
  numberOfRanges: number;
  /** DumpType 0xA only: the ranges list ends when this many pages are covered. */
  totalNumberOfPages: bigint;
}
export const RDMP_HEADER64 = struct<RdmpHeader64>('RDMP_HEADER64', 0x30, [
  [0x00, 'marker', 'u32'],
  [0x04, 'signature', { ascii: 4 }],
  [0x08, 'validDump', { ascii: 4 }],
  [0x10, 'metadataSize', 'u64'],
  [0x18, 'firstPageOffset', 'u64'],
  [0x20, 'numberOfRanges', 'u32'],
  [0x28, 'totalNumberOfPages', 'u64'],
]);
export const RDMP_RANGES_OFFSET = RDMP_HEADER_OFFSET + RDMP_HEADER64.size;
export interface RdmpPfnRange {
  pageFileNumber: bigint;
  numberOfPages: bigint;
}
export const RDMP_PFN_RANGE = struct<RdmpPfnRange>('RDMP_PFN_RANGE', 0x10, [
  [0x0, 'pageFileNumber', 'u64'],
  [0x8, 'numberOfPages', 'u64'],
]);

// ---------------------------------------------------------------------------------------------
// TRIAGE_DUMP64 (DumpType 4, file offset 0x2000). All *Offset fields are file offsets.
// Checked on ../shared/data/real/triage_x64.dmp (see SOURCES.md there).

export const TRIAGE_HEADER_OFFSET = 0x2000;
export interface TriageDump64 {
  servicePackBuild: number;
  sizeOfDump: number;
  validOffset: number;
  contextOffset: number;
  exceptionOffset: number;
  mmOffset: number;
  unloadedDriversOffset: number;
  prcbOffset: number;
  processOffset: number;
  threadOffset: number;
  callStackOffset: number;
  sizeOfCallStack: number;
  driverListOffset: number;
  driverCount: number;
  stringPoolOffset: number;
  stringPoolSize: number;
  brokenDriverOffset: number;
  triageOptions: number;
  topOfStack: bigint;
  dataPageAddress: bigint;
  dataPageOffset: number;
  dataPageSize: number;
  debuggerDataOffset: number;
  debuggerDataSize: number;
  dataBlocksOffset: number;
  dataBlocksCount: number;
}
export const TRIAGE_DUMP64 = struct<TriageDump64>('TRIAGE_DUMP64', 0x80, [
  [0x00, 'servicePackBuild', 'u32'],
  [0x04, 'sizeOfDump', 'u32'],
  [0x08, 'validOffset', 'u32'],
  [0x0c, 'contextOffset', 'u32'],
  [0x10, 'exceptionOffset', 'u32'],
  [0x14, 'mmOffset', 'u32'],
  [0x18, 'unloadedDriversOffset', 'u32'],
  [0x1c, 'prcbOffset', 'u32'],
  [0x20, 'processOffset', 'u32'],
  [0x24, 'threadOffset', 'u32'],
  [0x28, 'callStackOffset', 'u32'],
  [0x2c, 'sizeOfCallStack', 'u32'],
  [0x30, 'driverListOffset', 'u32'],
  [0x34, 'driverCount', 'u32'],
  [0x38, 'stringPoolOffset', 'u32'],
  [0x3c, 'stringPoolSize', 'u32'],
  [0x40, 'brokenDriverOffset', 'u32'],
  [0x44, 'triageOptions', 'u32'],
  [0x48, 'topOfStack', 'u64'],
  // 0x50: ArchitectureSpecific (IA-64 backing store: two u32 and a u64), unused on x64.
  [0x60, 'dataPageAddress', 'u64'],
  [0x68, 'dataPageOffset', 'u32'],
  [0x6c, 'dataPageSize', 'u32'],
  [0x70, 'debuggerDataOffset', 'u32'],
  [0x74, 'debuggerDataSize', 'u32'],
  [0x78, 'dataBlocksOffset', 'u32'],
  [0x7c, 'dataBlocksCount', 'u32'],
]);

/** DUMP_DRIVER_ENTRY64: a name offset into the string pool, then a KLDR_DATA_TABLE_ENTRY64. */
export interface DumpDriverEntry64 {
  driverNameOffset: number;
  dllBase: bigint;
  entryPoint: bigint;
  sizeOfImage: number;
}
export const DUMP_DRIVER_ENTRY64 = struct<DumpDriverEntry64>('DUMP_DRIVER_ENTRY64', 0x90, [
  [0x00, 'driverNameOffset', 'u32'],
  // 0x08 LdrEntry: InLoadOrderLinks, ExceptionTable, ExceptionTableSize, GpValue, NonPagedDebugInfo
  [0x38, 'dllBase', 'u64'],
  [0x40, 'entryPoint', 'u64'],
  [0x48, 'sizeOfImage', 'u32'],
]);

/** TRIAGE_DATA_BLOCK: a block of virtual memory saved in the triage dump. */
export interface TriageDataBlock {
  address: bigint;
  offset: number;
  size: number;
}
export const TRIAGE_DATA_BLOCK = struct<TriageDataBlock>('TRIAGE_DATA_BLOCK', 0x10, [
  [0x0, 'address', 'u64'],
  [0x8, 'offset', 'u32'],
  [0xc, 'size', 'u32'],
]);

/** DumpType values (header offset 0xF98). */
export const DumpType = {
  Full: 1,
  Summary: 2,
  Header: 3,
  Triage: 4,
  Bitmap: 5,
  LiveKernelBitmap: 6,
  Kernel: 8,
  KernelAndUser: 9,
  Complete: 0xa,
} as const;

export function dumpTypeName(t: number): string {
  switch (t) {
    case 1: return 'full';
    case 2: return 'summary (old kernel)';
    case 3: return 'header only';
    case 4: return 'triage (minidump)';
    case 5: return 'bitmap';
    case 6: return 'live kernel bitmap';
    case 8: return 'kernel (RDMP)';
    case 9: return 'kernel and user (RDMP)';
    case 0xa: return 'complete (RDMP)';
    default: return 'unknown';
  }
}

export function machineName(m: number): string {
  switch (m) {
    case MACHINE_AMD64: return 'x64 (AMD64)';
    case MACHINE_ARM64: return 'ARM64';
    case MACHINE_I386: return 'x86 (i386)';
    case 0x1c4: return 'ARM (Thumb-2)';
    case 0x200: return 'IA-64';
    default: return `unknown machine 0x${m.toString(16)}`;
  }
}
