// The active process list: a bounded walk of EPROCESS.ActiveProcessLinks from PsActiveProcessHead.
// A broken list (cycle, non-canonical or unreadable link, garbage entry) ends the forward walk with
// an issue; the walk then recovers what it can backwards from the head's Blink. Nothing here throws
// on bad data.
import type { VirtualMemory } from '../dump/types.ts';
import type { KernelLayout } from './layout.ts';
import { hex } from '../dump/numbers.ts';
import { implausibilities, isKernelPointer, readEprocess, type EprocessInfo, type ReadProcessOptions } from './process.ts';

export type ListIssueKind =
  | 'head-unreadable'
  | 'link-non-canonical'
  | 'link-unreadable'
  | 'link-unmapped'
  | 'cycle'
  | 'blink-mismatch'
  | 'implausible-entry'
  | 'cap';

export interface ListIssue {
  readonly kind: ListIssueKind;
  readonly message: string;
  /** The LIST_ENTRY address concerned. */
  readonly address: bigint;
  /** The EPROCESS whose link led there (null for the head). */
  readonly from: bigint | null;
}

export interface ListEntry {
  /** EPROCESS body address. */
  readonly va: bigint;
  readonly info: EprocessInfo;
  /** How the walk reached it: following Flinks from the head, or Blinks back from the head after a break. */
  readonly direction: 'forward' | 'backward';
}

export interface ListWalk {
  readonly head: bigint;
  readonly entries: readonly ListEntry[];
  readonly issues: readonly ListIssue[];
  /** True when the forward walk came back to the head with no break. */
  readonly complete: boolean;
  /**
   * True when every linked entry was seen: the walk is complete, or after a break the backward
   * walk from the head met the forward walk again (so no stretch of the list went unread).
   */
  readonly covered: boolean;
  readonly capHit: boolean;
  readonly cap: number;
}

export interface ListWalkOptions extends Omit<ReadProcessOptions, 'kernel'> {
  /** Most entries to visit (both directions together). */
  readonly maxEntries?: number;
  /** Recover entries backwards from the head's Blink after a broken forward walk (default true). */
  readonly recoverBackward?: boolean;
}

export const DEFAULT_LIST_CAP = 65536;

export function walkProcessList(vm: VirtualMemory, layout: KernelLayout, head: bigint, opts: ListWalkOptions = {}): ListWalk {
  const cap = opts.maxEntries ?? DEFAULT_LIST_CAP;
  const linksOff = BigInt(layout.fields['EPROCESS.ActiveProcessLinks']?.offset ?? -1);
  const issues: ListIssue[] = [];
  const forward: ListEntry[] = [];
  const backward: ListEntry[] = [];
  const visited = new Set<bigint>();
  const issue = (kind: ListIssueKind, address: bigint, from: bigint | null, message: string) => issues.push({ kind, address, from, message });
  const base = { head, cap };

  if (linksOff < 0n) {
    issue('head-unreadable', head, null, 'the layout has no EPROCESS.ActiveProcessLinks offset');
    return { ...base, entries: [], issues, complete: false, covered: false, capHit: false };
  }
  const headFlink = isKernelPointer(head) ? vm.readU64(head) : undefined;
  const headBlink = isKernelPointer(head) ? vm.readU64(head + 8n) : undefined;
  if (headFlink === undefined || headBlink === undefined) {
    issue('head-unreadable', head, null, `PsActiveProcessHead at ${hex(head)} cannot be read`);
    return { ...base, entries: [], issues, complete: false, covered: false, capHit: false };
  }

  let capHit = false;
  const total = () => forward.length + backward.length;
  const owner = (link: bigint | null) => (link === null || link === head ? null : link - linksOff);

  // One step: validate the link at `cur` reached from `prev` and read its process.
  const step = (cur: bigint, prev: bigint, dir: 'forward' | 'backward'): EprocessInfo | 'stop' | 'head' | 'joined' => {
    if (cur === head) return 'head';
    const from = owner(prev);
    if (!isKernelPointer(cur)) {
      issue('link-non-canonical', cur, from, `${dir === 'forward' ? 'Flink' : 'Blink'} ${hex(cur)} ${from === null ? 'of the list head' : `of the process at ${hex(from)}`} is not a canonical kernel address`);
      return 'stop';
    }
    if (visited.has(cur)) {
      if (dir === 'backward') return 'joined';
      issue('cycle', cur, from, `the list loops back to the process at ${hex(cur - linksOff)} without returning to the head`);
      return 'stop';
    }
    if (total() >= cap) {
      capHit = true;
      issue('cap', cur, from, `the list walk stopped at its cap of ${cap} entries`);
      return 'stop';
    }
    const info = readEprocess(vm, layout, cur - linksOff, opts);
    if (info.flink === undefined || info.blink === undefined) {
      // Absent from the dump (truncation, a kernel-only form) is not the same as pointing at nothing.
      const t = vm.translate(cur);
      const fromDump = !t.ok && (t.reason === 'page-absent' || t.reason === 'table-absent');
      if (fromDump) issue('link-unreadable', cur, from, `the list entry at ${hex(cur)} is not in the dump`);
      else issue('link-unmapped', cur, from, `${dir === 'forward' ? 'Flink' : 'Blink'} ${hex(cur)} ${from === null ? 'of the list head' : `of the process at ${hex(from)}`} points at unmapped memory`);
      return 'stop';
    }
    const bad = implausibilities(info, { ignoreLinks: true, anyName: true });
    if (bad.length > 0) {
      issue('implausible-entry', cur, from, `the list entry at ${hex(cur)} is not a process (${bad.slice(0, 3).join('; ')})`);
      return 'stop';
    }
    const back = dir === 'forward' ? info.blink : info.flink;
    if (back !== prev) {
      issue('blink-mismatch', cur, from, `the process at ${hex(cur - linksOff)} has ${dir === 'forward' ? 'Blink' : 'Flink'} ${hex(back)}, not ${hex(prev)}`);
    }
    visited.add(cur);
    return info;
  };

  let complete = false;
  let prev = head;
  let cur = headFlink;
  for (;;) {
    const r = step(cur, prev, 'forward');
    if (r === 'head') {
      complete = true;
      if (headBlink !== prev) issue('blink-mismatch', head, null, `the list head's Blink is ${hex(headBlink)}, not the last entry ${hex(prev)}`);
      break;
    }
    if (r === 'stop' || r === 'joined') break;
    forward.push({ va: cur - linksOff, info: r, direction: 'forward' });
    prev = cur;
    cur = r.flink!;
  }

  let joined = false;
  if (!complete && !capHit && opts.recoverBackward !== false) {
    prev = head;
    cur = headBlink;
    for (;;) {
      const r = step(cur, prev, 'backward');
      // Met the forward walk, or went all the way round the Blinks to the head: nothing unread.
      if (r === 'joined' || r === 'head') joined = true;
      if (r === 'head' || r === 'stop' || r === 'joined') break;
      backward.push({ va: cur - linksOff, info: r, direction: 'backward' });
      prev = cur;
      cur = r.blink!;
    }
  }
  return { ...base, entries: [...forward, ...backward.reverse()], issues, complete, covered: complete || joined, capHit };
}
