// Loaded kernel modules: nt!PsLoadedModuleList → KLDR_DATA_TABLE_ENTRY.InLoadOrderLinks (bounded,
// cycle-safe), each with its base, size, name and path; and `ModuleIndex`, which attributes an
// address (an APC routine, a thread start) to the module whose image contains it.
//
// Entry points for the analysis: `walkDrivers(vm, layout, psLoadedModuleList, { maxModules })`, then
// `new ModuleIndex(walk.items).attribute(address)`. User-mode images of a process (its EXE and DLLs)
// come from its VADs' mapped files (vad-info.ts): build a ModuleIndex from those ranges the same way.
import type { VirtualMemory } from '../dump/types.ts';
import { hex } from '../dump/numbers.ts';
import type { KernelLayout, LayoutFieldKey } from './layout.ts';
import { walkListLinks } from './list-walk.ts';
import { readUnicodeString } from './process.ts';
import { fieldValue, missingFields, readFields } from './struct-read.ts';
import { IssueLog, unreadableList, walkResult, type Walk } from './walk-result.ts';

/** Most loaded modules read (a real system has a few hundred). */
export const DEFAULT_MODULE_CAP = 4096;
/** Largest image size believed (SizeOfImage is a ULONG; no driver is near 1 GiB). */
export const MAX_MODULE_SIZE = 1 << 30;

export interface DriverInfo {
  /** KLDR_DATA_TABLE_ENTRY address. */
  readonly entry: string;
  /** DllBase; null when unreadable. */
  readonly base: string | null;
  readonly size: number | null;
  /** BaseDllName ("ntoskrnl.exe"). */
  readonly name: string | null;
  /** FullDllName ("\SystemRoot\system32\ntoskrnl.exe"). */
  readonly path: string | null;
  readonly unreadable: readonly string[];
}

export interface DriverWalkOptions {
  readonly maxModules?: number;
}

const ENTRY_FIELDS: readonly LayoutFieldKey[] = ['KLDR_DATA_TABLE_ENTRY.DllBase', 'KLDR_DATA_TABLE_ENTRY.SizeOfImage'];

export function readDriver(vm: VirtualMemory, layout: KernelLayout, entry: bigint): DriverInfo {
  const obj = readFields(vm, layout, entry, ENTRY_FIELDS);
  const unreadable: string[] = [];
  const base = fieldValue(obj, layout, 'KLDR_DATA_TABLE_ENTRY.DllBase');
  const size = fieldValue(obj, layout, 'KLDR_DATA_TABLE_ENTRY.SizeOfImage');
  if (base === undefined) unreadable.push('base');
  if (size === undefined || size > BigInt(MAX_MODULE_SIZE)) unreadable.push('size');
  const str = (key: LayoutFieldKey, label: string): string | null => {
    const p = layout.fields[key];
    const s = p ? readUnicodeString(vm, layout, entry + BigInt(p.offset)) : null;
    if (!s) unreadable.push(label);
    return s ? s.text : null;
  };
  return {
    entry: hex(entry),
    base: base === undefined ? null : hex(base),
    size: size === undefined || size > BigInt(MAX_MODULE_SIZE) ? null : Number(size),
    name: str('KLDR_DATA_TABLE_ENTRY.BaseDllName', 'name'),
    path: str('KLDR_DATA_TABLE_ENTRY.FullDllName', 'path'),
    unreadable: unreadableList(unreadable),
  };
}

/** Every module on the loaded-module list headed at `head` (nt!PsLoadedModuleList), in load order. */
export function walkDrivers(vm: VirtualMemory, layout: KernelLayout, head: bigint, opts: DriverWalkOptions = {}): Walk<DriverInfo> {
  const cap = opts.maxModules ?? DEFAULT_MODULE_CAP;
  const log = new IssueLog();
  const need = missingFields(layout, ['KLDR_DATA_TABLE_ENTRY.InLoadOrderLinks', 'KLDR_DATA_TABLE_ENTRY.DllBase']);
  if (need.length > 0) {
    log.add('layout-missing', `the layout lacks ${need.join(', ')}: loaded modules cannot be listed`);
    return walkResult([], log, cap, false);
  }
  const linkOff = BigInt(layout.fields['KLDR_DATA_TABLE_ENTRY.InLoadOrderLinks']!.offset);
  const list = walkListLinks(vm, head, cap, 'loaded-module list', log);
  return walkResult(
    list.links.map((l) => readDriver(vm, layout, l - linkOff)),
    log,
    cap,
    list.capHit,
  );
}

/** An image range with the name to attribute addresses in it to. */
export interface ModuleRange {
  readonly base: bigint;
  /** One past the last byte. */
  readonly end: bigint;
  readonly name: string;
}

/** Address → module name over a set of ranges (binary search; overlapping ranges: the lowest base wins). */
export class ModuleIndex {
  private readonly ranges: ModuleRange[];
  constructor(modules: Iterable<DriverInfo | ModuleRange>) {
    const out: ModuleRange[] = [];
    for (const m of modules) {
      if ('entry' in m) {
        if (m.base === null || m.size === null || m.size === 0 || m.name === null) continue;
        const base = BigInt(m.base);
        if (base === 0n) continue;
        out.push({ base, end: base + BigInt(m.size), name: m.name });
      } else if (m.end > m.base) out.push(m);
    }
    this.ranges = out.sort((a, b) => (a.base < b.base ? -1 : a.base > b.base ? 1 : 0));
  }
  get size(): number {
    return this.ranges.length;
  }
  /** The module containing `address`, or null (an address in no known image). */
  attribute(address: bigint | string | null): string | null {
    if (address === null) return null;
    const a = typeof address === 'string' ? BigInt(address) : address;
    let lo = 0;
    let hi = this.ranges.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.ranges[mid].base <= a) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    // Walk back over earlier ranges that may still cover `a` (overlaps from damaged lists).
    for (let i = found; i >= 0 && i > found - 8; i--) if (a < this.ranges[i].end && a >= this.ranges[i].base) return this.ranges[i].name;
    return null;
  }
}
