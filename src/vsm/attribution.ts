// Which module an address lies in: the images mapped in a process (file-backed VADs) and the loaded
// kernel modules (PsLoadedModuleList). Used to name a thread's start module and an APC routine's
// owner; an address inside no known module is null ("none"), never a guess.
import type { ModuleRecord, VadRecord } from './types.ts';

export interface CodeRange {
  readonly start: bigint;
  /** Last byte, inclusive. */
  readonly end: bigint;
  readonly name: string;
}

/** The last path component of a Windows or NT path ("\Windows\System32\ntdll.dll" → "ntdll.dll"). */
export function baseName(path: string): string {
  const i = Math.max(path.lastIndexOf('\\'), path.lastIndexOf('/'));
  return i >= 0 ? path.slice(i + 1) : path;
}

/** File-backed (not private) VADs: the images and mapped files of a process. */
export function mappedRanges(vads: readonly VadRecord[] | null | undefined): CodeRange[] {
  return (vads ?? []).filter((v) => !v.private && v.file !== null).map((v) => ({ start: BigInt(v.start), end: BigInt(v.end), name: baseName(v.file!) }));
}

/** Loaded kernel modules with a known name and size. */
export function driverRanges(modules: readonly ModuleRecord[] | null | undefined): CodeRange[] {
  return (modules ?? [])
    .filter((m) => m.size > 0 && (m.name ?? m.path) !== null)
    .map((m) => ({ start: BigInt(m.base), end: BigInt(m.base) + BigInt(m.size) - 1n, name: m.name ?? baseName(m.path!) }));
}

/** Sorted, non-overlapping lookup (the first range wins where two overlap). */
export class ModuleMap {
  private readonly ranges: CodeRange[];
  constructor(ranges: readonly CodeRange[]) {
    const sorted = [...ranges].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    this.ranges = [];
    for (const r of sorted) {
      const last = this.ranges.at(-1);
      if (r.end < r.start || (last && r.start <= last.end)) continue;
      this.ranges.push(r);
    }
  }
  /** The range holding `address`, or undefined. */
  find(address: bigint): CodeRange | undefined {
    let lo = 0;
    let hi = this.ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = this.ranges[mid];
      if (address < r.start) hi = mid - 1;
      else if (address > r.end) lo = mid + 1;
      else return r;
    }
    return undefined;
  }
  /** The module name holding a "0x…" address, or null (no address, or in no known module). */
  nameOf(address: string | null): string | null {
    return address === null ? null : (this.find(BigInt(address))?.name ?? null);
  }
}
