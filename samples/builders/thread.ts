// ETHREAD objects (pool 'Thre', OBJECT_HEADER of the Thread type) on both thread lists of their
// process (EPROCESS.ThreadListHead ↔ ETHREAD.ThreadListEntry, KPROCESS.ThreadListHead ↔
// KTHREAD.ThreadListEntry), with their KAPCs queued on KTHREAD.ApcState.ApcListHead[KernelMode]
// and [UserMode]; empty queues point at themselves.
import { KERNEL_MODE, USER_MODE } from '../../src/ntos/apc-mode.ts';
import { POOL_HEADER_BYTES } from '../../src/ntos/object-header.ts';
import { THREAD_STATE_NAMES, THREAD_STATE_WAITING } from '../../src/ntos/thread-state.ts';
import { StructWriter } from '../structs.ts';
import type { ApcSpec, ThreadSpec } from '../scenario.ts';
import type { KernelCtx } from './context.ts';
import type { ObjectSpace } from './object.ts';
import { typeIndexOf } from './object-types.ts';
import { ROUTINE_RVA, type AddressMap } from './address-map.ts';

export interface ApcModel {
  readonly mode: 'kernel' | 'user';
  readonly kapc: bigint;
  readonly kernelRoutine: bigint;
  readonly normalRoutine: bigint;
  readonly rundownRoutine: bigint;
  /** Module of the routine that runs the APC's payload: KernelRoutine (kernel APC), NormalRoutine (user APC). */
  readonly module: string | null;
}

export interface ThreadModel {
  readonly tid: number;
  readonly ethread: bigint;
  readonly objectHeader: bigint;
  readonly startAddress: bigint;
  readonly win32StartAddress: bigint;
  /** Module of Win32StartAddress (the thread's real start; StartAddress is ntdll!RtlUserThreadStart for user threads). */
  readonly startModule: string | null;
  readonly createTime: bigint;
  readonly exitTime: bigint;
  readonly state: string;
  readonly apcs: ApcModel[];
}

/** Dispatcher header types: ThreadObject, ApcObject. */
const DISPATCHER_THREAD_OBJECT = 6;
const APC_OBJECT = 0x12;
/** THREAD_PRIORITY_NORMAL in a normal-class process. */
const THREAD_BASE_PRIORITY = 8;
/** A user APC's KernelRoutine (nt!PspUserApcKernelRoutine-like) and rundown, inside ntoskrnl. */
const USER_APC_KERNEL_RVA = 0x5a010;
const APC_RUNDOWN_RVA = 0x5a0a0;
/** 10 ms in FILETIME units: threads start one after another. */
const THREAD_START_STEP = 100000n;
const LIST_ENTRY_BYTES = 16;

/** Thread IDs come from the same CID table as process IDs: never one a process uses. */
export class TidAllocator {
  private next = 0x2800;
  constructor(private readonly pids: ReadonlySet<number>) {}
  take(): number {
    while (this.pids.has(this.next)) this.next += 4;
    const t = this.next;
    this.next += 4;
    return t;
  }
}

export interface ThreadsInput {
  readonly epVa: bigint;
  readonly pid: number;
  readonly createTime: bigint;
  /** The process runs user code (has an image): threads start through ntdll. */
  readonly user: boolean;
  readonly count: number;
  readonly extra: readonly ThreadSpec[];
  readonly apcs: readonly (ApcSpec & { thread?: number })[];
  readonly map: AddressMap;
  readonly tids: TidAllocator;
}

interface ThreadDraft {
  readonly model: ThreadModel;
  readonly w: StructWriter;
}

/** Step: a process's threads and APCs, linked on both lists; returns the models (in list order). */
export function buildThreads(k: KernelCtx, o: ObjectSpace, ep: StructWriter, x: ThreadsInput): ThreadModel[] {
  const { layout } = k;
  const ethreadSize = layout.size('_ETHREAD');
  const specs: ThreadSpec[] = [...Array.from({ length: x.count }, (_, i): ThreadSpec => ({ start: x.user ? (i === 0 ? 'image' : 'ntdll') : 'ntoskrnl' })), ...x.extra];
  const apcsFor = (i: number): ApcSpec[] => [...(i >= x.count ? (x.extra[i - x.count].apcs ?? []) : []), ...x.apcs.filter((a) => (a.thread ?? 0) === i)];
  const drafts: ThreadDraft[] = specs.map((spec, i) => {
    const obj = o.allocObject(ethreadSize, 'Thre', typeIndexOf('Thread'), 'small');
    const w = new StructWriter(layout, '_ETHREAD', obj.block.buf, obj.bodyOff);
    const tid = x.tids.take();
    const win32 = x.map.resolve(spec.start, spec.start === 'ntoskrnl' ? i * 0x40 : 0);
    const start = x.user ? x.map.dllSet.ntdll.base + BigInt(ROUTINE_RVA.ntdllThreadStart) : win32;
    const createTime = x.createTime + BigInt(i + 1) * THREAD_START_STEP;
    w.set('Tcb.Header.Type', DISPATCHER_THREAD_OBJECT, true);
    w.set('Tcb.State', THREAD_STATE_WAITING);
    w.set('Tcb.Process', x.epVa, true);
    w.set('Tcb.ApcState.Process', x.epVa);
    w.set('Tcb.BasePriority', THREAD_BASE_PRIORITY, true);
    w.set('Cid.UniqueProcess', BigInt(x.pid));
    w.set('Cid.UniqueThread', BigInt(tid));
    w.set('StartAddress', start);
    w.set('Win32StartAddress', win32);
    w.set('CreateTime', createTime);
    w.set('ExitTime', 0n, true);
    const apcs = queueApcs(k, o, w, obj.bodyVa, x.map, apcsFor(i));
    const model: ThreadModel = {
      tid,
      ethread: obj.bodyVa,
      objectHeader: obj.ohVa,
      startAddress: start,
      win32StartAddress: win32,
      startModule: x.map.moduleAt(win32),
      createTime,
      exitTime: 0n,
      state: THREAD_STATE_NAMES[THREAD_STATE_WAITING],
      apcs,
    };
    return { model, w };
  });
  linkList(ep, x.epVa, 'ThreadListHead', drafts, 'ThreadListEntry');
  linkList(ep, x.epVa, 'Pcb.ThreadListHead', drafts, 'Tcb.ThreadListEntry');
  return drafts.map((d) => d.model);
}

/** Links the threads' `entry` fields into the process's `head` list (self-linked when empty). */
function linkList(ep: StructWriter, epVa: bigint, head: string, drafts: readonly ThreadDraft[], entry: string): void {
  const headVa = epVa + BigInt(ep.off(head));
  const at = (i: number) => (i < 0 || i >= drafts.length ? headVa : drafts[i].model.ethread + BigInt(drafts[i].w.off(entry)));
  ep.set(`${head}.Flink`, at(0));
  ep.set(`${head}.Blink`, at(drafts.length - 1));
  drafts.forEach((d, i) => {
    d.w.set(`${entry}.Flink`, at(i + 1));
    d.w.set(`${entry}.Blink`, i === 0 ? headVa : at(i - 1));
  });
}

/** KAPCs for one thread, each in its own pool block, linked on ApcListHead[mode]. */
function queueApcs(k: KernelCtx, o: ObjectSpace, tw: StructWriter, ethreadVa: bigint, map: AddressMap, specs: readonly ApcSpec[]): ApcModel[] {
  const { layout } = k;
  const kapcSize = layout.size('_KAPC');
  const headOff = tw.off('Tcb.ApcState.ApcListHead');
  const kernelBase = map.kernelModules[0].base;
  const made = specs.map((spec) => {
    const b = o.pool.alloc(layout, kapcSize, 'KApc', 'large');
    const va = b.headerVa + BigInt(POOL_HEADER_BYTES);
    const w = new StructWriter(layout, '_KAPC', b.buf, POOL_HEADER_BYTES);
    const mode = spec.mode === 'kernel' ? KERNEL_MODE : USER_MODE;
    const target = map.resolve(spec.routine);
    const kernelRoutine = spec.mode === 'kernel' ? target : kernelBase + BigInt(USER_APC_KERNEL_RVA);
    const normalRoutine = spec.mode === 'kernel' ? target + 0x220n : target;
    const rundownRoutine = spec.mode === 'kernel' ? target + 0x100n : kernelBase + BigInt(APC_RUNDOWN_RVA);
    w.set('Type', APC_OBJECT);
    w.set('Size', kapcSize, true);
    w.set('Thread', ethreadVa);
    w.set('KernelRoutine', kernelRoutine);
    w.set('RundownRoutine', rundownRoutine, true);
    w.set('NormalRoutine', normalRoutine);
    w.set('NormalContext', 0n, true);
    w.set('ApcStateIndex', 0, true);
    w.set('ApcMode', mode);
    w.set('Inserted', 1);
    const model: ApcModel = { mode: spec.mode, kapc: va, kernelRoutine, normalRoutine, rundownRoutine, module: map.moduleAt(spec.mode === 'kernel' ? kernelRoutine : normalRoutine) };
    return { model, w, mode };
  });
  for (const mode of [KERNEL_MODE, USER_MODE]) {
    const headVa = ethreadVa + BigInt(headOff + mode * LIST_ENTRY_BYTES);
    const q = made.filter((m) => m.mode === mode);
    const at = (i: number) => (i < 0 || i >= q.length ? headVa : q[i].model.kapc + BigInt(q[i].w.off('ApcListEntry')));
    tw.buf.writeBigUInt64LE(at(0), tw.base + headOff + mode * LIST_ENTRY_BYTES);
    tw.buf.writeBigUInt64LE(at(q.length - 1), tw.base + headOff + mode * LIST_ENTRY_BYTES + 8);
    q.forEach((m, i) => {
      m.w.set('ApcListEntry.Flink', at(i + 1));
      m.w.set('ApcListEntry.Blink', i === 0 ? headVa : at(i - 1));
    });
  }
  return made.map((m) => m.model);
}
