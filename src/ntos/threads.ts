// A process's threads: EPROCESS.ThreadListHead → ETHREAD.ThreadListEntry, bounded and cycle-safe.
// Each thread gives its TID (Cid.UniqueThread), owning PID (Cid.UniqueProcess), ETHREAD address,
// StartAddress / Win32StartAddress, create/exit time, KTHREAD.State and ExitStatus. A field the
// build lacks or whose bytes are absent is null and named in `unreadable`, never guessed.
//
// Entry point for the analysis: `walkThreads(vm, layout, eprocessVa, { maxThreads })`; APC queues of
// each thread: apcs.ts `walkApcs(vm, layout, thread.ethread)`.
import type { VirtualMemory } from '../dump/types.ts';
import { filetimeToIso, hex } from '../dump/numbers.ts';
import type { KernelLayout, LayoutFieldKey } from './layout.ts';
import { walkListLinks } from './list-walk.ts';
import { ObjectBytes } from './process.ts';
import { fieldSpan, fieldValue, missingFields } from './struct-read.ts';
import { threadStateName } from './thread-state.ts';
import { IssueLog, unreadableList, walkResult, type Walk } from './walk-result.ts';

/** Most threads read per process (a forged list stops here, reported as a cap). */
export const DEFAULT_THREAD_CAP = 65536;
/** Client IDs are multiples of 4 below 2^32. */
const CID_ALIGN = 4n;
const CID_LIMIT = 1n << 32n;

export interface ThreadInfo {
  readonly tid: number | null;
  /** Cid.UniqueProcess: the PID the thread says it belongs to. */
  readonly pid: number | null;
  /** ETHREAD address ("0x…"). */
  readonly ethread: string;
  /** Null when unset (0) or unreadable. */
  readonly startAddress: string | null;
  readonly win32StartAddress: string | null;
  readonly createTime: string | null;
  readonly exitTime: string | null;
  /** KTHREAD.State name ("Running", "Waiting" …), null when unreadable or not a known state. */
  readonly state: string | null;
  readonly exitStatus: number | null;
  /** Fields that could not be read (absent bytes, a field the build lacks, an impossible value). */
  readonly unreadable: readonly string[];
}

export interface ThreadWalkOptions {
  readonly maxThreads?: number;
}

const THREAD_FIELDS: readonly LayoutFieldKey[] = [
  'ETHREAD.Cid.UniqueThread',
  'ETHREAD.Cid.UniqueProcess',
  'ETHREAD.StartAddress',
  'ETHREAD.Win32StartAddress',
  'ETHREAD.CreateTime',
  'ETHREAD.ExitTime',
  'ETHREAD.ExitStatus',
  'ETHREAD.ThreadListEntry',
];
const KTHREAD_FIELDS: readonly LayoutFieldKey[] = ['KTHREAD.State'];

/** Offset of the KTHREAD in the ETHREAD (ETHREAD.Tcb; the first member where a layout does not name it). */
export function tcbOffset(layout: KernelLayout): number {
  return layout.fields['ETHREAD.Tcb']?.offset ?? 0;
}

function cid(v: bigint | undefined): number | null {
  return v !== undefined && v % CID_ALIGN === 0n && v < CID_LIMIT ? Number(v) : null;
}
const address = (v: bigint | undefined): string | null => (v === undefined || v === 0n ? null : hex(v));

/** Reads one ETHREAD at `ethread` (KTHREAD fields at ETHREAD.Tcb). */
export function readThread(vm: VirtualMemory, layout: KernelLayout, ethread: bigint): ThreadInfo {
  const tcb = tcbOffset(layout);
  const obj = ObjectBytes.fromVirtual(vm, ethread, Math.max(fieldSpan(layout, THREAD_FIELDS), fieldSpan(layout, KTHREAD_FIELDS, tcb)));
  const unreadable: string[] = [];
  const get = (key: LayoutFieldKey, label: string): bigint | undefined => {
    const v = fieldValue(obj, layout, key, key.startsWith('KTHREAD.') ? tcb : 0);
    if (v === undefined) unreadable.push(label);
    return v;
  };
  const tidRaw = get('ETHREAD.Cid.UniqueThread', 'tid');
  const pidRaw = get('ETHREAD.Cid.UniqueProcess', 'pid');
  const tid = cid(tidRaw);
  const pid = cid(pidRaw);
  if (tidRaw !== undefined && tid === null) unreadable.push('tid');
  if (pidRaw !== undefined && pid === null) unreadable.push('pid');
  const stateRaw = get('KTHREAD.State', 'state');
  const state = stateRaw === undefined ? null : threadStateName(Number(stateRaw));
  if (stateRaw !== undefined && state === null) unreadable.push('state');
  const exitStatus = get('ETHREAD.ExitStatus', 'exitStatus');
  return {
    tid,
    pid,
    ethread: hex(ethread),
    startAddress: address(get('ETHREAD.StartAddress', 'startAddress')),
    win32StartAddress: address(get('ETHREAD.Win32StartAddress', 'win32StartAddress')),
    createTime: filetimeToIso(get('ETHREAD.CreateTime', 'createTime')),
    exitTime: filetimeToIso(get('ETHREAD.ExitTime', 'exitTime')),
    state,
    exitStatus: exitStatus === undefined ? null : Number(exitStatus),
    unreadable: unreadableList(unreadable),
  };
}

/** Every thread on the process's ThreadListHead, in list order. */
export function walkThreads(vm: VirtualMemory, layout: KernelLayout, eprocessVa: bigint, opts: ThreadWalkOptions = {}): Walk<ThreadInfo> {
  const cap = opts.maxThreads ?? DEFAULT_THREAD_CAP;
  const log = new IssueLog();
  const need = missingFields(layout, ['EPROCESS.ThreadListHead', 'ETHREAD.ThreadListEntry']);
  if (need.length > 0) {
    log.add('layout-missing', `the layout lacks ${need.join(', ')}: threads cannot be listed`);
    return walkResult([], log, cap, false);
  }
  const head = eprocessVa + BigInt(layout.fields['EPROCESS.ThreadListHead']!.offset);
  const entryOff = BigInt(layout.fields['ETHREAD.ThreadListEntry']!.offset);
  const list = walkListLinks(vm, head, cap, `thread list of the process at ${hex(eprocessVa)}`, log);
  const items = list.links.map((link) => readThread(vm, layout, link - entryOff));
  return walkResult(items, log, cap, list.capHit);
}
