// A thread's queued APCs: KTHREAD.ApcState.ApcListHead[KernelMode] and [UserMode] → KAPC.ApcListEntry.
// Each KAPC gives its mode (the queue it is on), address, KernelRoutine and NormalRoutine; bounded
// per queue and cycle-safe like every list walk.
//
// Entry point for the analysis: `walkApcs(vm, layout, ethreadVa, { maxApcs })`.
import type { VirtualMemory } from '../dump/types.ts';
import { hex } from '../dump/numbers.ts';
import { APC_MODE_NAMES, APC_QUEUE_COUNT, apcModeName, type ApcMode } from './apc-mode.ts';
import type { KernelLayout, LayoutFieldKey } from './layout.ts';
import { LIST_ENTRY_SIZE, walkListLinks } from './list-walk.ts';
import { fieldValue, missingFields, readFields } from './struct-read.ts';
import { tcbOffset } from './threads.ts';
import { IssueLog, unreadableList, walkResult, type Walk } from './walk-result.ts';

/** Most APCs read per queue (two queues per thread). */
export const DEFAULT_APC_CAP = 4096;

export interface ApcInfo {
  /** The queue the KAPC is on. */
  readonly mode: ApcMode;
  /** KAPC address ("0x…"). */
  readonly kapc: string;
  /** Null when unset (0) or unreadable. */
  readonly kernelRoutine: string | null;
  readonly normalRoutine: string | null;
  /** KAPC.ApcMode as stored, when it names a mode (it should equal `mode`). */
  readonly storedMode: ApcMode | null;
  readonly unreadable: readonly string[];
}

export interface ApcWalkOptions {
  /** Per queue. */
  readonly maxApcs?: number;
}

const KAPC_FIELDS: readonly LayoutFieldKey[] = ['KAPC.ApcListEntry', 'KAPC.KernelRoutine', 'KAPC.NormalRoutine', 'KAPC.ApcMode'];

const address = (v: bigint | undefined): string | null => (v === undefined || v === 0n ? null : hex(v));

export function readApc(vm: VirtualMemory, layout: KernelLayout, kapc: bigint, mode: ApcMode): ApcInfo {
  const obj = readFields(vm, layout, kapc, KAPC_FIELDS);
  const unreadable: string[] = [];
  const get = (key: LayoutFieldKey, label: string): bigint | undefined => {
    const v = fieldValue(obj, layout, key);
    if (v === undefined) unreadable.push(label);
    return v;
  };
  const kr = get('KAPC.KernelRoutine', 'kernelRoutine');
  const nr = get('KAPC.NormalRoutine', 'normalRoutine');
  const sm = get('KAPC.ApcMode', 'apcMode');
  return { mode, kapc: hex(kapc), kernelRoutine: address(kr), normalRoutine: address(nr), storedMode: sm === undefined ? null : apcModeName(Number(sm)), unreadable: unreadableList(unreadable) };
}

/** Both APC queues of the thread whose ETHREAD is at `ethreadVa` (KTHREAD at ETHREAD.Tcb): kernel queue first. */
export function walkApcs(vm: VirtualMemory, layout: KernelLayout, ethreadVa: bigint, opts: ApcWalkOptions = {}): Walk<ApcInfo> {
  const cap = opts.maxApcs ?? DEFAULT_APC_CAP;
  const log = new IssueLog();
  const need = missingFields(layout, ['KTHREAD.ApcState.ApcListHead', 'KAPC.ApcListEntry']);
  if (need.length > 0) {
    log.add('layout-missing', `the layout lacks ${need.join(', ')}: APC queues cannot be listed`);
    return walkResult([], log, cap, false);
  }
  const heads = ethreadVa + BigInt(tcbOffset(layout) + layout.fields['KTHREAD.ApcState.ApcListHead']!.offset);
  const entryOff = BigInt(layout.fields['KAPC.ApcListEntry']!.offset);
  const items: ApcInfo[] = [];
  let capHit = false;
  for (let q = 0; q < APC_QUEUE_COUNT; q++) {
    const mode = APC_MODE_NAMES[q];
    const list = walkListLinks(vm, heads + BigInt(q * LIST_ENTRY_SIZE), cap, `${mode}-mode APC queue of the thread at ${hex(ethreadVa)}`, log);
    capHit ||= list.capHit;
    for (const link of list.links) {
      const apc = readApc(vm, layout, link - entryOff, mode);
      if (apc.storedMode !== null && apc.storedMode !== mode) log.add('implausible', `the KAPC at ${apc.kapc} is on the ${mode}-mode queue but says ${apc.storedMode} mode`, link - entryOff);
      items.push(apc);
    }
  }
  return walkResult(items, log, cap, capHit);
}
