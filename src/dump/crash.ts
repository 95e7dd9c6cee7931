// Windows x64 crash dumps (`PAGEDU64`): one parse per DumpType as a short list of named steps
// (kdmp-parser style): parse-header → check-machine → check-dump-type → the type's own steps →
// build-physical-map. Every count and offset from the header is checked against the file and
// MAX_PFN; pages past the end of a truncated file become `missing`, never zeros.
import { BadInputError, UnsupportedError } from '../errors.ts';
import {
  BITMAP_HEADER64, BITMAP_HEADER_OFFSET, BITMAP_OFFSET, DUMP_HEADER64, DUMP_HEADER64_SIZE, DumpType, MACHINE_AMD64,
  MAX_HEADER_RUNS, PAGE_FILL_U32, PAGE_FILL_U64, PHYSICAL_MEMORY_DESCRIPTOR64, PHYSMEM_RUN64, RDMP_HEADER64,
  RDMP_HEADER_OFFSET, RDMP_MARKER, RDMP_PFN_RANGE, RDMP_RANGES_OFFSET, dumpTypeName, machineName, type DumpHeader64,
} from './crash-structs.ts';
import type { EvidenceFile } from './evidence-file.ts';
import { hex } from './numbers.ts';
import { BitmapPhysicalMemory, MAX_PFN, RunPhysicalMemory, type FilePhysicalMemory, type FileSegment } from './physical.ts';
import { parseTriage, type TriageInfo } from './triage.ts';
import { PAGE_SIZE, type CrashHeaderInfo, type Dump, type DumpFormat } from './types.ts';

/** Largest bitmap we hold in memory: 512 MiB covers 16 TiB of physical memory. */
export const MAX_BITMAP_BYTES = 512 * 1024 * 1024;
/** Largest RDMP range list we read: 64 MiB = 4 Mi ranges. */
export const MAX_RDMP_METADATA = 64 * 1024 * 1024;

export interface OpenOptions {
  /** Page-cache capacity in pages (default 2048 = 8 MiB). */
  readonly cachePages?: number;
}

/** A parse in progress: the steps done so far are kept for `info` and for error context. */
class Steps {
  readonly done: string[] = [];
  step<T>(name: string, fn: () => T): T {
    const r = fn();
    this.done.push(name);
    return r;
  }
}

function headerInfo(h: DumpHeader64): CrashHeaderInfo {
  return {
    majorVersion: h.majorVersion,
    minorVersion: h.minorVersion,
    dumpType: h.dumpType,
    machineImageType: h.machineImageType,
    numberProcessors: h.numberProcessors,
    bugCheckCode: h.bugCheckCode,
    bugCheckParameters: [h.bugCheckParameter1, h.bugCheckParameter2, h.bugCheckParameter3, h.bugCheckParameter4],
    directoryTableBase: h.directoryTableBase,
    pfnDataBase: h.pfnDataBase,
    psLoadedModuleList: h.psLoadedModuleList,
    psActiveProcessHead: h.psActiveProcessHead,
    kdDebuggerDataBlock: h.kdDebuggerDataBlock,
    systemTime: h.systemTime === PAGE_FILL_U64 ? 0n : h.systemTime,
    systemUpTime: h.systemUpTime === PAGE_FILL_U64 ? 0n : h.systemUpTime,
    comment: decodeComment(h.comment),
    productType: h.productType,
    requiredDumpSpace: h.requiredDumpSpace,
  };
}

/** The 128-byte comment: ASCII up to the first NUL; `PAGE` filler means none. */
export function decodeComment(b: Buffer): string {
  let end = b.indexOf(0);
  if (end < 0) end = b.length;
  const s = b.toString('latin1', 0, end);
  if (/^(PAGE)+/.test(s) && s.replace(/PAGE/g, '').length === 0) return '';
  return s.replace(/(PAGE)+$/, '').replace(/[^\x20-\x7e]/g, '?');
}

const FORMAT_BY_TYPE: Record<number, DumpFormat> = {
  [DumpType.Full]: 'crash-full',
  [DumpType.Triage]: 'crash-triage',
  [DumpType.Bitmap]: 'crash-bitmap',
  [DumpType.LiveKernelBitmap]: 'crash-live-kernel',
  [DumpType.Kernel]: 'crash-kernel',
  [DumpType.KernelAndUser]: 'crash-kernel-user',
  [DumpType.Complete]: 'crash-complete',
};

interface TypeResult {
  physical?: FilePhysicalMemory;
  formatName: string;
  partialByNature: boolean;
  reasons: string[];
  details: Record<string, unknown>;
  triage?: TriageInfo;
}

/** Opens a `PAGEDU64` dump; the caller has checked the first 8 bytes. */
export function openCrash64(file: EvidenceFile, opts: OpenOptions = {}): Dump {
  const s = new Steps();
  const h = s.step('parse-header', () => {
    if (file.size < DUMP_HEADER64_SIZE) {
      throw new BadInputError(`crash dump header is cut short: file is 0x${file.size.toString(16)} bytes, DUMP_HEADER64 needs 0x2000`, 'dump.truncated-header');
    }
    return DUMP_HEADER64.parse(file.readExact(0, DUMP_HEADER64_SIZE, 'DUMP_HEADER64'));
  });
  s.step('check-machine', () => {
    if (h.machineImageType !== MACHINE_AMD64) {
      throw new UnsupportedError(
        `unsupported architecture ${machineName(h.machineImageType)} (MachineImageType ${hex(h.machineImageType)}) in a ${dumpTypeName(h.dumpType)} crash dump (DumpType ${h.dumpType}, build ${h.minorVersion}); only x64 is analysed`,
        'dump.unsupported-machine',
      );
    }
  });
  const format = s.step('check-dump-type', () => {
    const f = FORMAT_BY_TYPE[h.dumpType];
    if (!f) throw new UnsupportedError(`unsupported crash dump type ${h.dumpType} (${dumpTypeName(h.dumpType)}); supported: 1, 4, 5, 6, 8, 9, 0xA`, 'dump.unsupported-type');
    return f;
  });
  const header = headerInfo(h);
  let r: TypeResult;
  switch (h.dumpType) {
    case DumpType.Full:
      r = full(file, h, s, opts);
      break;
    case DumpType.Bitmap:
    case DumpType.LiveKernelBitmap:
      r = bitmap(file, h, s, opts);
      break;
    case DumpType.Kernel:
    case DumpType.KernelAndUser:
    case DumpType.Complete:
      r = rdmp(file, h, s, opts);
      break;
    default:
      r = triage(file, s);
  }
  const phys = r.physical;
  if (phys && phys.missingPages > 0) {
    const first = phys.missing[0]!;
    const more = phys.missing.length > 1 ? ` and ${phys.missing.length - 1} more range(s)` : '';
    r.reasons.push(
      `truncated: ${phys.missingPages} page(s) the dump describes are past the end of the file (0x${file.size.toString(16)} bytes), ` +
        `first missing range pages ${hex(first.basePage)}..${hex(first.basePage + first.pageCount - 1)}${more}`,
    );
  }
  if (h.requiredDumpSpace > 0n && h.requiredDumpSpace !== PAGE_FILL_U64 && BigInt(file.size) < h.requiredDumpSpace && !(phys && phys.missingPages > 0) && h.dumpType !== DumpType.Triage) {
    r.details.requiredDumpSpaceShortfall = hex(h.requiredDumpSpace - BigInt(file.size));
  }
  r.details.parseSteps = s.done;
  return {
    path: file.path,
    fileSize: file.size,
    format,
    formatName: r.formatName,
    header,
    physical: phys,
    partialByNature: r.partialByNature,
    partialReasons: r.reasons,
    details: r.details,
    ...(r.triage ? { triage: r.triage } : {}),
    close: () => (phys ? phys.close() : file.close()),
  };
}

function full(file: EvidenceFile, h: DumpHeader64, s: Steps, opts: OpenOptions): TypeResult {
  const segs = s.step('parse-run-table', () => {
    const desc = PHYSICAL_MEMORY_DESCRIPTOR64.parse(h.physicalMemoryBlock);
    if (desc.numberOfRuns === PAGE_FILL_U32 || desc.numberOfPages === PAGE_FILL_U64) {
      throw new BadInputError('full crash dump (DumpType 1) has a run table of PAGE filler: no physical memory map', 'dump.run-table-filler');
    }
    if (desc.numberOfRuns === 0) throw new BadInputError('full crash dump (DumpType 1) has no physical memory runs', 'dump.no-runs');
    if (desc.numberOfRuns > MAX_HEADER_RUNS) {
      throw new BadInputError(`full crash dump run count ${desc.numberOfRuns} exceeds the ${MAX_HEADER_RUNS} the header can hold`, 'dump.run-count');
    }
    const out: FileSegment[] = [];
    let fileOffset = DUMP_HEADER64_SIZE;
    let total = 0;
    for (let i = 0; i < desc.numberOfRuns; i++) {
      const run = PHYSMEM_RUN64.parse(h.physicalMemoryBlock, PHYSICAL_MEMORY_DESCRIPTOR64.size + i * PHYSMEM_RUN64.size);
      if (run.basePage > BigInt(MAX_PFN) || run.pageCount > BigInt(MAX_PFN) || run.basePage + run.pageCount > BigInt(MAX_PFN)) {
        throw new BadInputError(`run ${i} (base page ${hex(run.basePage)}, ${run.pageCount} pages) lies beyond the 52-bit physical address space`, 'dump.run-bounds');
      }
      const base = Number(run.basePage);
      const count = Number(run.pageCount);
      if (count === 0) continue;
      out.push({ basePage: base, pageCount: count, fileOffset });
      fileOffset += count * PAGE_SIZE;
      total += count;
    }
    return { out, total, declared: desc.numberOfPages };
  });
  const physical = s.step('build-physical-map', () => new RunPhysicalMemory(file, segs.out, opts.cachePages));
  const details: Record<string, unknown> = { runTableRuns: segs.out.length, headerNumberOfPages: Number(segs.declared) };
  const reasons: string[] = [];
  if (segs.declared !== BigInt(segs.total)) details.runTableNote = `header NumberOfPages ${segs.declared} differs from the sum of the runs ${segs.total}; the runs are used`;
  return { physical, formatName: 'full crash dump (DumpType 1)', partialByNature: false, reasons, details };
}

function bitmap(file: EvidenceFile, h: DumpHeader64, s: Steps, opts: OpenOptions): TypeResult {
  const bh = s.step('parse-bitmap-header', () => {
    const b = BITMAP_HEADER64.parse(file.readExact(BITMAP_HEADER_OFFSET, BITMAP_HEADER64.size, 'bitmap dump header'));
    if ((b.signature !== 'SDMP' && b.signature !== 'FDMP') || b.validDump !== 'DUMP') {
      throw new BadInputError(`bitmap dump (DumpType ${h.dumpType}) lacks its SDMP/FDMP header at 0x2000 (found ${JSON.stringify(b.signature + b.validDump)})`, 'dump.bitmap-signature');
    }
    return b;
  });
  const bits = s.step('parse-bitmap', () => {
    if (bh.pages === 0n || bh.pages > BigInt(MAX_PFN)) throw new BadInputError(`bitmap page count ${bh.pages} is not a sane physical page count`, 'dump.bitmap-pages');
    const count = Number(bh.pages);
    const bytes = Math.ceil(count / 8);
    if (BITMAP_OFFSET + bytes > file.size) {
      throw new BadInputError(
        `bitmap (0x${bytes.toString(16)} bytes at 0x${BITMAP_OFFSET.toString(16)}) runs past the end of the file (0x${file.size.toString(16)}): truncated inside the bitmap`,
        'dump.truncated-bitmap',
      );
    }
    if (bytes > MAX_BITMAP_BYTES) throw new BadInputError(`bitmap of ${bytes} bytes exceeds the ${MAX_BITMAP_BYTES}-byte limit`, 'dump.bitmap-size');
    if (bh.firstPage < BigInt(BITMAP_OFFSET + bytes) || bh.firstPage > BigInt(file.size)) {
      throw new BadInputError(`bitmap dump FirstPage ${hex(bh.firstPage)} is outside 0x${(BITMAP_OFFSET + bytes).toString(16)}..0x${file.size.toString(16)}`, 'dump.bitmap-first-page');
    }
    return { count, map: file.readExact(BITMAP_OFFSET, bytes, 'page bitmap') };
  });
  const physical = s.step('build-physical-map', () => new BitmapPhysicalMemory(file, bits.map, bits.count, Number(bh.firstPage), opts.cachePages));
  const details: Record<string, unknown> = {
    bitmapSignature: bh.signature,
    bitmapPages: bits.count,
    firstPageOffset: hex(bh.firstPage),
    headerTotalPresentPages: bh.totalPresentPages === PAGE_FILL_U64 ? null : Number(bh.totalPresentPages),
    bitmapSetBits: physical.setBits,
  };
  const desc = PHYSICAL_MEMORY_DESCRIPTOR64.parse(h.physicalMemoryBlock);
  details.runTableAt0x88 = desc.numberOfRuns === PAGE_FILL_U32 ? 'PAGE filler (ignored)' : `${desc.numberOfRuns} runs (ignored: the bitmap is authoritative)`;
  if (bh.totalPresentPages !== BigInt(physical.setBits)) {
    details.bitmapNote = `header TotalPresentPages ${bh.totalPresentPages} differs from the bitmap's ${physical.setBits} set bits; the bitmap is used`;
  }
  const reasons: string[] = [];
  let partialByNature = false;
  let formatName: string;
  if (h.dumpType === DumpType.LiveKernelBitmap) {
    partialByNature = true;
    formatName = 'live kernel (active) bitmap dump (DumpType 6)';
    reasons.push('live kernel dump (DumpType 6): taken from a running system, holds kernel memory only and may be inconsistent');
  } else if (bh.signature === 'SDMP') {
    partialByNature = true;
    formatName = 'kernel/automatic bitmap dump (DumpType 5, SDMP)';
    reasons.push('kernel summary bitmap dump (SDMP): holds kernel memory only, user-mode pages are absent');
  } else {
    formatName = 'full bitmap dump (DumpType 5, FDMP)';
  }
  return { physical, formatName, partialByNature, reasons, details };
}

function rdmp(file: EvidenceFile, h: DumpHeader64, s: Steps, opts: OpenOptions): TypeResult {
  const rh = s.step('parse-rdmp-header', () => {
    const r = RDMP_HEADER64.parse(file.readExact(RDMP_HEADER_OFFSET, RDMP_HEADER64.size, 'RDMP header'));
    if (r.marker !== RDMP_MARKER || r.signature !== 'RDMP' || r.validDump !== 'DUMP') {
      throw new BadInputError(`DumpType ${hex(h.dumpType)} dump lacks its RDMP header at 0x2000`, 'dump.rdmp-signature');
    }
    if (r.firstPageOffset < BigInt(RDMP_RANGES_OFFSET) || r.firstPageOffset > BigInt(file.size)) {
      throw new BadInputError(`RDMP FirstPageOffset ${hex(r.firstPageOffset)} is outside the file (0x${file.size.toString(16)} bytes)`, 'dump.rdmp-first-page');
    }
    // kdmp-parser's consistency check: the metadata ends where the pages start.
    if (r.metadataSize - 0x20n !== r.firstPageOffset - 0x2040n) {
      throw new BadInputError(`RDMP MetadataSize ${hex(r.metadataSize)} does not match FirstPageOffset ${hex(r.firstPageOffset)}`, 'dump.rdmp-metadata');
    }
    if (r.firstPageOffset - BigInt(RDMP_RANGES_OFFSET) > BigInt(MAX_RDMP_METADATA)) {
      throw new BadInputError(`RDMP range list of ${r.firstPageOffset - BigInt(RDMP_RANGES_OFFSET)} bytes exceeds the limit`, 'dump.rdmp-metadata');
    }
    return r;
  });
  const complete = h.dumpType === DumpType.Complete;
  const segs = s.step('parse-rdmp-ranges', () => {
    const firstPage = Number(rh.firstPageOffset);
    const listBytes = firstPage - RDMP_RANGES_OFFSET;
    const list = file.readExact(RDMP_RANGES_OFFSET, listBytes - (listBytes % RDMP_PFN_RANGE.size), 'RDMP range list');
    const out: FileSegment[] = [];
    let fileOffset = firstPage;
    let covered = 0n;
    for (let at = 0; at + RDMP_PFN_RANGE.size <= list.length; at += RDMP_PFN_RANGE.size) {
      if (complete && covered >= rh.totalNumberOfPages) break; // 0xA: bounded by TotalNumberOfPages
      const e = RDMP_PFN_RANGE.parse(list, at);
      if (e.pageFileNumber === 0n) break; // end of list (as kdmp-parser reads it)
      if (e.pageFileNumber + e.numberOfPages > BigInt(MAX_PFN)) {
        throw new BadInputError(`RDMP range ${at / 16} (page ${hex(e.pageFileNumber)}, ${e.numberOfPages} pages) lies beyond the physical address space`, 'dump.rdmp-range');
      }
      covered += e.numberOfPages;
      if (e.numberOfPages === 0n) continue;
      out.push({ basePage: Number(e.pageFileNumber), pageCount: Number(e.numberOfPages), fileOffset });
      fileOffset += Number(e.numberOfPages) * PAGE_SIZE;
    }
    return out;
  });
  const physical = s.step('build-physical-map', () => new RunPhysicalMemory(file, segs, opts.cachePages));
  const details: Record<string, unknown> = { rdmpRanges: segs.length, firstPageOffset: hex(rh.firstPageOffset), metadataSize: hex(rh.metadataSize) };
  if (complete) {
    details.rdmpNumberOfRanges = rh.numberOfRanges;
    details.rdmpTotalNumberOfPages = Number(rh.totalNumberOfPages);
  }
  const reasons: string[] = [];
  if (h.dumpType === DumpType.Kernel) {
    reasons.push('kernel memory dump (DumpType 8): holds kernel memory only, user-mode pages are absent');
    return { physical, formatName: 'kernel memory dump (DumpType 8, RDMP)', partialByNature: true, reasons, details };
  }
  if (h.dumpType === DumpType.KernelAndUser) {
    reasons.push('kernel and user memory dump (DumpType 9): free and cached pages are not saved');
    return { physical, formatName: 'kernel and user memory dump (DumpType 9, RDMP)', partialByNature: true, reasons, details };
  }
  return { physical, formatName: 'complete memory dump (DumpType 0xA, RDMP)', partialByNature: false, reasons, details };
}

function triage(file: EvidenceFile, s: Steps): TypeResult {
  const t: TriageInfo = s.step('parse-triage-header', () => parseTriage(file));
  s.done.push('parse-driver-list');
  const kernel = t.drivers[0];
  const details: Record<string, unknown> = {
    triage: {
      valid: t.valid,
      sizeOfDump: t.header.sizeOfDump,
      contextOffset: hex(t.header.contextOffset),
      mmOffset: hex(t.header.mmOffset),
      prcbOffset: hex(t.header.prcbOffset),
      processOffset: hex(t.header.processOffset),
      threadOffset: hex(t.header.threadOffset),
      callStackOffset: hex(t.header.callStackOffset),
      sizeOfCallStack: t.header.sizeOfCallStack,
      driverListOffset: hex(t.header.driverListOffset),
      driverCount: t.header.driverCount,
      stringPoolOffset: hex(t.header.stringPoolOffset),
      stringPoolSize: t.header.stringPoolSize,
      debuggerDataOffset: hex(t.header.debuggerDataOffset),
      dataBlocks: t.dataBlocks,
      kdbg: t.kdbg ? { size: hex(t.kdbg.size), kernBase: hex(t.kdbg.kernBase), psLoadedModuleList: hex(t.kdbg.psLoadedModuleList), psActiveProcessHead: hex(t.kdbg.psActiveProcessHead) } : null,
      kernel: kernel ? { name: kernel.name ?? null, dllBase: hex(kernel.dllBase), sizeOfImage: hex(kernel.sizeOfImage) } : null,
      drivers: t.drivers.map((d) => ({ name: d.name ?? null, dllBase: hex(d.dllBase), sizeOfImage: hex(d.sizeOfImage) })),
      notes: t.notes,
    },
  };
  const reasons = [
    'triage dump (DumpType 4): holds no physical memory, only the crashing context, the current process and thread, a stack, the driver list and small memory blocks; processes and trustlet pages cannot be analysed',
    ...t.notes,
  ];
  return { formatName: 'triage (mini kernel) dump (DumpType 4)', partialByNature: true, reasons, details, triage: t };
}
