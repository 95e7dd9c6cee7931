// The VTL1 isolation check: classify every mapped user page of a process (../shared/docs/formats.md §7)
// and judge whether a secure process's pages are readable in the dump. Only addresses are ever
// reported, never page contents.
import type { PhysicalMemory, VirtualMemory } from '../dump/types.ts';
import { PAGE_SIZE } from '../dump/types.ts';
import type { VadRange } from '../ntos/vad.ts';
import { hex, PHYS_FRAME_MASK } from '../dump/numbers.ts';
import { USER_MAX } from '../ntos/process.ts';
import type { Isolation, IsolationCounts, IsolationVerdict } from './types.ts';

export interface PageClassification extends IsolationCounts {
  readonly sampleReadable: readonly bigint[];
  /** Page-table pages absent from the dump (what they map is unknown). */
  readonly tablePagesAbsent: number;
  /** A cap cut the walk short or tables were absent. */
  readonly partial: boolean;
  readonly capHit: boolean;
  /** Highest physical page number referenced but absent (data or table page), -1 if none. */
  readonly maxAbsentPfn: number;
  /** What the classification cost: leaf entries walked plus pages read (for the whole-analysis budget). */
  readonly work: number;
}

export interface ClassifyOptions {
  /** VAD ranges: pages inside them with no page-table entry count as mapped but not resident. */
  readonly vads?: readonly VadRange[];
  /** Most leaf entries to walk. */
  readonly maxEntries?: number;
  /** Most 4 KiB pages whose contents are read. */
  readonly maxPagesRead?: number;
  /** Most 4 KiB frames examined (large pages count 512 or 262144): bounds the work hostile tables can ask for. */
  readonly maxFrames?: number;
  readonly samples?: number;
}

export const DEFAULT_MAX_ENTRIES = 1 << 21;
export const DEFAULT_MAX_PAGES_READ = 1 << 20;

/** True when the page holds no content: every 8-byte word equal (all zero or one repeated fill). */
export function isFillPage(page: Buffer): boolean {
  // Every word equals the first exactly when the bytes repeat with period 8: one native compare of
  // the page against itself shifted by a word (no allocation), for whole words.
  if (page.length >= 8 && page.length % 8 === 0) return page.compare(page, 0, page.length - 8, 8, page.length) === 0;
  const first = page.readBigUInt64LE(0);
  for (let o = 8; o + 8 <= page.length; o += 8) if (page.readBigUInt64LE(o) !== first) return false;
  return true;
}

export function classifyUserPages(vm: VirtualMemory, pm: PhysicalMemory, opts: ClassifyOptions = {}): PageClassification {
  const maxEntries = opts.maxEntries ?? DEFAULT_MAX_ENTRIES;
  const maxRead = opts.maxPagesRead ?? DEFAULT_MAX_PAGES_READ;
  const samples = opts.samples ?? 5;
  const maxFrames = opts.maxFrames ?? maxEntries;
  let frames = 0;
  const walk = vm.walk(0n, USER_MAX + 1n, maxEntries);
  let notResident = 0;
  let absent = 0;
  let unreadable = 0;
  let readable = 0;
  let tablesAbsent = 0;
  let read = 0;
  let maxAbsentPfn = -1;
  const noteAbsent = (pa: number | undefined) => {
    if (pa !== undefined) maxAbsentPfn = Math.max(maxAbsentPfn, Math.floor(pa / PAGE_SIZE));
  };
  let capHit = walk.truncated;
  const sample: bigint[] = [];
  const scratch = Buffer.allocUnsafe(PAGE_SIZE);
  // 4 KiB page ranges the page tables account for (including absent-table spans), to subtract from VADs.
  const covered: [bigint, bigint][] = [];

  entries: for (const m of walk.pages) {
    const t = m.translation;
    const pages = Math.max(1, Math.floor(m.pageSize / PAGE_SIZE));
    const startVpn = m.va >> 12n;
    covered.push([startVpn, startVpn + BigInt(pages) - 1n]);
    if (!t.ok) {
      switch (t.reason) {
        case 'table-absent':
          tablesAbsent++;
          noteAbsent(t.pa);
          continue;
        case 'demand-zero':
        case 'prototype':
        case 'pagefile':
          notResident += pages;
          continue;
        case 'page-absent': {
          // A large page may be partly present: check each 4 KiB frame.
          if (pages === 1 || t.pte === undefined) {
            absent += pages;
            noteAbsent(t.pa);
            continue;
          }
          if (frames >= maxFrames) {
            capHit = true;
            break entries;
          }
          frames += pages;
          const base = Number(t.pte & PHYS_FRAME_MASK & ~BigInt(m.pageSize - 1)) / PAGE_SIZE;
          classifyRange(base, pages, m.va);
          continue;
        }
        default:
          continue; // not-mapped / non-canonical: nothing there
      }
    }
    if (frames >= maxFrames) {
      capHit = true;
      break;
    }
    frames += pages;
    const base = Math.floor((t.pa - (t.pa % m.pageSize)) / PAGE_SIZE);
    classifyRange(base, pages, m.va);
  }

  /** `count` frames from `base` mapped at `va`; frames past the evidence's last page are absent in bulk. */
  function classifyRange(base: number, count: number, va: bigint): void {
    const inside = Math.max(0, Math.min(count, pm.pageLimit - base));
    if (inside < count) {
      absent += count - inside;
      maxAbsentPfn = Math.max(maxAbsentPfn, base + count - 1);
    }
    for (let k = 0; k < inside; k++) classifyFrame(base + k, va + BigInt(k * PAGE_SIZE));
  }

  function classifyFrame(pfn: number, va: bigint): void {
    if (!pm.isPresent(pfn)) {
      absent++;
      maxAbsentPfn = Math.max(maxAbsentPfn, pfn);
      return;
    }
    if (read >= maxRead) {
      capHit = true;
      return;
    }
    read++;
    // Each frame is looked at once: read it into one scratch page, not into the page cache.
    if (!pm.readPageInto(pfn, scratch)) {
      absent++;
      return;
    }
    if (isFillPage(scratch)) unreadable++;
    else {
      readable++;
      if (sample.length < samples) sample.push(va);
    }
  }

  // VAD ranges with no page-table entry at all: mapped, not resident.
  if (opts.vads && opts.vads.length) {
    const merged = mergeRanges(covered);
    for (const v of opts.vads) notResident += Number(uncovered(v.startVpn, v.endVpn, merged));
  }

  const mapped = notResident + absent + unreadable + readable;
  return {
    pagesMapped: mapped,
    pagesNotResident: notResident,
    pagesAbsent: absent,
    pagesUnreadable: unreadable,
    pagesReadable: readable,
    sampleReadable: sample,
    tablePagesAbsent: tablesAbsent,
    partial: capHit || tablesAbsent > 0,
    capHit,
    maxAbsentPfn,
    work: walk.pages.length + read,
  };
}

/** Sorts and merges inclusive page ranges into disjoint ones. */
function mergeRanges(r: [bigint, bigint][]): [bigint, bigint][] {
  r.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: [bigint, bigint][] = [];
  for (const [s, e] of r) {
    const last = out[out.length - 1];
    if (last && s <= last[1] + 1n) {
      if (e > last[1]) last[1] = e;
    } else out.push([s, e]);
  }
  return out;
}

/** Pages of [start, end] outside the disjoint sorted ranges `covered`. */
function uncovered(start: bigint, end: bigint, covered: readonly [bigint, bigint][]): bigint {
  let lo = 0;
  let hi = covered.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (covered[mid][1] < start) lo = mid + 1;
    else hi = mid;
  }
  let n = 0n;
  let pos = start;
  for (let i = lo; i < covered.length && pos <= end; i++) {
    const [s, e] = covered[i];
    if (s > end) break;
    if (s > pos) n += s - pos;
    if (e + 1n > pos) pos = e + 1n;
  }
  if (pos <= end) n += end - pos + 1n;
  return n;
}

export interface Baseline extends IsolationCounts {
  readonly processes: number;
}

/**
 * The baseline is usable when ordinary processes show readable user pages at all: a kernel-only or
 * damaged dump (or a kernel-only raw read) shows none, and then an unreadable trustlet proves nothing.
 */
export function baselineUsable(b: Baseline): { usable: boolean; why: string } {
  const resident = b.pagesAbsent + b.pagesUnreadable + b.pagesReadable;
  if (b.processes === 0 || resident === 0) return { usable: false, why: 'no ordinary process has resident user pages to compare with' };
  if (b.pagesReadable === 0)
    return { usable: false, why: `ordinary processes' pages are also absent or zero (${b.pagesReadable} of ${resident} resident pages readable): the dump is kernel-only or damaged` };
  return { usable: true, why: `${b.pagesReadable} of ${resident} resident pages of ${b.processes} ordinary processes are readable` };
}

export function judgeIsolation(c: Omit<PageClassification, 'work'>, baseline: Baseline): Isolation {
  const resident = c.pagesAbsent + c.pagesUnreadable + c.pagesReadable;
  let verdict: IsolationVerdict;
  let reason: string;
  const b = baselineUsable(baseline);
  if (c.pagesReadable > 0) {
    verdict = 'exposed';
    reason = `${c.pagesReadable} of ${resident} resident pages are readable in the dump`;
  } else if (resident === 0) {
    verdict = 'indeterminate';
    reason = c.tablePagesAbsent > 0 ? `no resident page could be tested (${c.tablePagesAbsent} page-table pages absent)` : 'no resident page to test';
  } else if (!b.usable) {
    verdict = 'indeterminate';
    reason = b.why;
  } else {
    verdict = 'isolated';
    reason = `all ${resident} resident pages are absent (${c.pagesAbsent}) or hold no content (${c.pagesUnreadable}), while ${b.why}`;
  }
  return {
    pagesMapped: c.pagesMapped,
    pagesNotResident: c.pagesNotResident,
    pagesAbsent: c.pagesAbsent,
    pagesUnreadable: c.pagesUnreadable,
    pagesReadable: c.pagesReadable,
    verdict,
    reason,
    sampleReadable: c.sampleReadable.map(hex),
    partial: c.partial,
    tablePagesAbsent: c.tablePagesAbsent,
  };
}
