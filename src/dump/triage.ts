// DumpType 4 (triage / "minidump" kernel dump): a TRIAGE_DUMP64 at 0x2000 whose fields are file
// offsets of small blobs (context, current process and thread, a stack, the driver list). It holds
// no physical memory, so analysis can only report what it is. Every offset and count is bounded
// by the file and by TRIAGE_LIMITS.
import { BadInputError } from '../errors.ts';
import { DUMP_DRIVER_ENTRY64, TRIAGE_DATA_BLOCK, TRIAGE_DUMP64, TRIAGE_HEADER_OFFSET, type TriageDump64 } from './crash-structs.ts';
import type { EvidenceFile } from './evidence-file.ts';

export const TRIAGE_LIMITS = { maxDrivers: 16384, maxNameChars: 1024, maxDataBlocks: 1 << 20 } as const;
/** `TRGD` read as a u32 at TRIAGE_DUMP64.ValidOffset marks a complete triage dump. */
export const TRIAGE_VALID = 0x44475254;

export interface TriageDriver {
  readonly index: number;
  /** Full path as stored (e.g. `\SystemRoot\system32\ntoskrnl.exe`), undefined when unreadable. */
  readonly name?: string;
  readonly dllBase: bigint;
  readonly sizeOfImage: number;
}

export interface TriageInfo {
  readonly header: TriageDump64;
  /** True when the TRGD marker is at ValidOffset. */
  readonly valid: boolean;
  readonly drivers: readonly TriageDriver[];
  /** Virtual-memory blocks saved in the dump (TRIAGE_DATA_BLOCK): count and total bytes. */
  readonly dataBlocks: { count: number; bytes: number };
  /** The KDDEBUGGER_DATA64 copy at DebuggerDataOffset, when it carries the KDBG tag. */
  readonly kdbg?: { readonly size: number; readonly kernBase: bigint; readonly psLoadedModuleList: bigint; readonly psActiveProcessHead: bigint };
  /** Problems that did not stop parsing. */
  readonly notes: readonly string[];
  /** The saved virtual-memory blocks as a bounded VA reader over the open evidence; undefined when none fit in the file. */
  readonly memory?: TriageMemory;
}

/** Reads of the virtual memory a triage dump saved: the whole range must lie in one block. */
export interface TriageMemory {
  readonly blocks: number;
  read(va: bigint, len: number): Buffer | undefined;
}

/** The data block table (already checked to fit in the file) as a reader; blocks past the end of the file are left out. */
function triageMemory(file: EvidenceFile, tbl: Buffer, count: number): TriageMemory | undefined {
  const va = new BigUint64Array(count);
  const off = new Float64Array(count);
  const size = new Float64Array(count);
  let n = 0;
  for (let i = 0; i < count; i++) {
    const b = TRIAGE_DATA_BLOCK.parse(tbl, i * TRIAGE_DATA_BLOCK.size);
    if (b.size === 0 || !inFile(file, b.offset, b.size)) continue;
    va[n] = b.address;
    off[n] = b.offset;
    size[n] = b.size;
    n++;
  }
  if (n === 0) return undefined;
  return {
    blocks: n,
    read(at: bigint, len: number): Buffer | undefined {
      for (let i = 0; i < n; i++) {
        if (at >= va[i]! && at + BigInt(len) <= va[i]! + BigInt(size[i]!)) return file.readExact(off[i]! + Number(at - va[i]!), len, 'triage data block');
      }
      return undefined;
    },
  };
}

function inFile(file: EvidenceFile, off: number, len: number): boolean {
  return off >= 0 && len >= 0 && off + len <= file.size;
}

export function parseTriage(file: EvidenceFile): TriageInfo {
  const header = TRIAGE_DUMP64.parse(file.readExact(TRIAGE_HEADER_OFFSET, TRIAGE_DUMP64.size, 'TRIAGE_DUMP64 header'));
  const notes: string[] = [];
  // Blob offsets the header names must lie in the file.
  const blobs: Array<[string, number, number]> = [
    ['ContextOffset', header.contextOffset, 1],
    ['ProcessOffset', header.processOffset, 1],
    ['ThreadOffset', header.threadOffset, 1],
    ['CallStackOffset', header.callStackOffset, header.sizeOfCallStack],
    ['StringPoolOffset', header.stringPoolOffset, header.stringPoolSize],
  ];
  for (const [name, off, len] of blobs) {
    if (off !== 0 && !inFile(file, off, len)) {
      throw new BadInputError(`TRIAGE_DUMP64.${name} 0x${off.toString(16)} (+0x${len.toString(16)}) lies outside the file (size 0x${file.size.toString(16)})`, 'dump.triage-offset');
    }
  }
  if (header.sizeOfDump > file.size) notes.push(`file is 0x${file.size.toString(16)} bytes but TRIAGE_DUMP64.SizeOfDump says 0x${header.sizeOfDump.toString(16)}: truncated`);
  let valid = false;
  if (inFile(file, header.validOffset, 4)) valid = file.readExact(header.validOffset, 4, 'triage ValidOffset').readUInt32LE(0) === TRIAGE_VALID;
  if (!valid) notes.push('no TRGD marker at TRIAGE_DUMP64.ValidOffset: the triage dump may be incomplete');

  const drivers: TriageDriver[] = [];
  if (header.driverCount > 0) {
    if (header.driverCount > TRIAGE_LIMITS.maxDrivers) {
      throw new BadInputError(`TRIAGE_DUMP64.DriverCount ${header.driverCount} exceeds the limit ${TRIAGE_LIMITS.maxDrivers}`, 'dump.triage-count');
    }
    const len = header.driverCount * DUMP_DRIVER_ENTRY64.size;
    const list = file.readExact(header.driverListOffset, len, 'triage driver list');
    const pool = header.stringPoolSize > 0 ? file.readExact(header.stringPoolOffset, header.stringPoolSize, 'triage string pool') : Buffer.alloc(0);
    let badNames = 0;
    for (let i = 0; i < header.driverCount; i++) {
      const e = DUMP_DRIVER_ENTRY64.parse(list, i * DUMP_DRIVER_ENTRY64.size);
      const name = poolString(pool, e.driverNameOffset - header.stringPoolOffset);
      if (name === undefined) badNames++;
      drivers.push({ index: i, name, dllBase: e.dllBase, sizeOfImage: e.sizeOfImage });
    }
    if (badNames) notes.push(`${badNames} driver name(s) point outside the string pool`);
  }

  let dataBlocks = { count: 0, bytes: 0 };
  let memory: TriageMemory | undefined;
  if (header.dataBlocksCount > 0) {
    if (header.dataBlocksCount > TRIAGE_LIMITS.maxDataBlocks || !inFile(file, header.dataBlocksOffset, header.dataBlocksCount * TRIAGE_DATA_BLOCK.size)) {
      notes.push(`data block table (${header.dataBlocksCount} entries at 0x${header.dataBlocksOffset.toString(16)}) does not fit in the file; ignored`);
    } else {
      const tbl = file.readExact(header.dataBlocksOffset, header.dataBlocksCount * TRIAGE_DATA_BLOCK.size, 'triage data blocks');
      let bytes = 0;
      for (let i = 0; i < header.dataBlocksCount; i++) bytes += TRIAGE_DATA_BLOCK.parse(tbl, i * TRIAGE_DATA_BLOCK.size).size;
      dataBlocks = { count: header.dataBlocksCount, bytes };
      memory = triageMemory(file, tbl, header.dataBlocksCount);
    }
  }
  let kdbg: TriageInfo['kdbg'];
  if (header.debuggerDataOffset !== 0 && header.debuggerDataSize >= 0x58 && inFile(file, header.debuggerDataOffset, 0x58)) {
    const k = file.readExact(header.debuggerDataOffset, 0x58, 'triage KDDEBUGGER_DATA64');
    // KDDEBUGGER_DATA64: OwnerTag 'KDBG' at +0x10, Size +0x14, KernBase +0x18, PsLoadedModuleList +0x48, PsActiveProcessHead +0x50.
    if (k.toString('latin1', 0x10, 0x14) === 'KDBG') {
      kdbg = { size: k.readUInt32LE(0x14), kernBase: k.readBigUInt64LE(0x18), psLoadedModuleList: k.readBigUInt64LE(0x48), psActiveProcessHead: k.readBigUInt64LE(0x50) };
    } else notes.push('no KDBG tag in the debugger data block');
  }
  return { header, valid, drivers, dataBlocks, kdbg, notes, ...(memory ? { memory } : {}) };
}

/** DUMP_STRING in the pool: u32 length in UTF-16 units, then the characters. */
function poolString(pool: Buffer, rel: number): string | undefined {
  if (rel < 0 || rel + 4 > pool.length) return undefined;
  const chars = pool.readUInt32LE(rel);
  if (chars > TRIAGE_LIMITS.maxNameChars || rel + 4 + chars * 2 > pool.length) return undefined;
  return pool.toString('utf16le', rel + 4, rel + 4 + chars * 2);
}
