// Step: process internals — for each process object, the walks of src/ntos hanging off it
// (token, the nine extended flags, exit status, base priority, debug port, VADs, threads with
// their APC queues, handles), and the loaded drivers once. Start addresses and APC routines are
// attributed through the images mapped in the process and the drivers. Kernel memory only: the one
// user-memory read is the PE-header test at the start of private executable regions of ordinary
// processes (never of a secure process: VTL1 owns those pages). Damage gives partial reasons,
// caps go to capsHit.
import { pageTableRoot } from '../../dump/numbers.ts';
import type { VirtualMemory } from '../../dump/types.ts';
import { walkApcs, type ApcInfo } from '../../ntos/apcs.ts';
import { ModuleIndex, walkDrivers, type DriverInfo, type ModuleRange } from '../../ntos/drivers.ts';
import { readBasePriority, readDebugPort, readExitStatus, readExtendedInfo } from '../../ntos/extended-info.ts';
import { walkHandles, type HandleInfo } from '../../ntos/handles.ts';
import { loadObjectTypes, type ObjectTypes } from '../../ntos/object-header.ts';
import { walkThreads, type ThreadInfo } from '../../ntos/threads.ts';
import { readProcessToken, type TokenInfo } from '../../ntos/token.ts';
import { walkVadInfo, type VadInfo } from '../../ntos/vad-info.ts';
import type { Walk, WalkIssue } from '../../ntos/walk-result.ts';
import type { ApcRecord, HandleRecord, ModuleRecord, ThreadRecord, TokenRecord, VadRecord } from '../types.ts';
import { takeFrom, type WorkAhead } from '../work-ahead.ts';
import { notes, plural, type CapHit, type StepNotes } from './notes.ts';
import type { Draft, ProcessDraft, ProcessStepInput } from './records.ts';

/** "MZ": the first two bytes of a PE image (IMAGE_DOS_SIGNATURE). */
const EXPECTED_DOS_SIGNATURE = 0x5a4d;
/** Processes named in one partial reason before "and N more". */
const NAMED_IN_REASON = 5;

export interface InternalsCaps {
  readonly maxThreads?: number;
  readonly maxApcs?: number;
  readonly maxHandles?: number;
  readonly maxVads?: number;
  readonly maxModules?: number;
}

export interface InternalsInput extends ProcessStepInput {
  readonly psLoadedModuleList: bigint | null;
  readonly caps?: InternalsCaps;
}

export interface InternalsStep extends StepNotes {
  /** Loaded drivers; null when the list could not be walked at all. */
  readonly modules: ModuleRecord[] | null;
  /** The kernel image's module name (the first entry of PsLoadedModuleList). */
  readonly kernelImage: string | null;
  /** Private executable regions that start with a PE header, by draft index (ordinary processes only). */
  readonly peHeaders: ReadonlyMap<number, ReadonlySet<string>>;
}

/** Walk damage gathered per structure kind, for one partial reason each. */
class Damage {
  private readonly byKind = new Map<string, string[]>();
  readonly capsHit: CapHit[] = [];
  note(kind: string, who: string, w: { partial: boolean; capHit: boolean; cap: number; issues: readonly WalkIssue[] }, capName: string): void {
    if (w.capHit) this.capsHit.push({ cap: capName, limit: w.cap });
    if (!w.partial) return;
    const first = w.issues.find((i) => i.kind !== 'cap') ?? w.issues[0];
    const list = this.byKind.get(kind) ?? [];
    list.push(`${who}${first ? `: ${first.message}` : ''}`);
    this.byKind.set(kind, list);
  }
  reasons(): string[] {
    return [...this.byKind].map(([kind, who]) => {
      const shown = who.slice(0, NAMED_IN_REASON).join('; ');
      const more = who.length > NAMED_IN_REASON ? `; and ${who.length - NAMED_IN_REASON} more` : '';
      return `The ${kind} of ${who.length} process${plural(who.length, 'es')} could not be read completely (${shown}${more}).`;
    });
  }
}

function moduleRecord(d: DriverInfo): ModuleRecord {
  return { base: d.base, size: d.size, name: d.name, path: d.path };
}

function vadRecord(v: VadInfo): VadRecord {
  return { start: v.start, end: v.end, protection: v.protection, private: v.private, file: v.file, commit: v.commit };
}

function tokenRecord(t: TokenInfo): TokenRecord {
  return { user: t.user, integrity: t.integrity, groups: t.groups.map((g) => ({ sid: g.sid, attributes: g.attributes })), privileges: t.privileges.map((p) => ({ name: p.name, present: p.present, enabled: p.enabled, enabledByDefault: p.enabledByDefault })), package: t.package };
}

function handleRecord(h: HandleInfo): HandleRecord {
  return { handle: h.handle, type: h.type, grantedAccess: h.grantedAccess, rights: h.rights, object: h.object, target: h.target, name: h.name };
}

/** The routine that runs for an APC: the user routine for user APCs, the kernel routine otherwise. */
function apcRecord(a: ApcInfo, modules: ModuleIndex): ApcRecord {
  const routine = a.mode === 'user' ? (a.normalRoutine ?? a.kernelRoutine) : a.kernelRoutine;
  return { mode: a.mode, kapc: a.kapc, kernelRoutine: a.kernelRoutine, normalRoutine: a.normalRoutine, module: modules.attribute(routine) };
}

/** Image and file views mapped in a process, as attribution ranges. */
function mappedRanges(vads: readonly VadInfo[]): ModuleRange[] {
  return vads.filter((v) => v.private === false && v.file !== null).map((v) => ({ base: BigInt(v.start), end: BigInt(v.end) + 1n, name: fileBaseName(v.file!) }));
}

/** The last component of a Windows/NT path. */
export function fileBaseName(path: string): string {
  return path.slice(Math.max(path.lastIndexOf('\\'), path.lastIndexOf('/')) + 1);
}

/** What is read of one process, before any of it is written into its draft. */
interface InternalsRead {
  readonly rec: Partial<Draft>;
  /** The walks to note as damage, in the order they were made (`cap` gets the PID added). */
  readonly walks: readonly { readonly kind: string; readonly walk: NotedWalk; readonly cap: string }[];
  readonly unreadable: readonly string[];
  /** Private executable regions starting with a PE header (ordinary processes only). */
  readonly peHeaders: ReadonlySet<string>;
}

type NotedWalk = Parameters<Damage['note']>[2];

/** What the damage notes need of a walk (not its items: a read kept for later holds no more than its records). */
const noted = (w: NotedWalk): NotedWalk => ({ partial: w.partial, capHit: w.capHit, cap: w.cap, issues: w.issues });

/** The parts of a process's draft its internals read depends on. */
type ReadSubject = Pick<Draft, 'secure' | 'terminated'> & { readonly dtb: bigint | undefined };

function peHeaderStarts(vmForDtb: (dtb: number) => VirtualMemory, p: ReadSubject, vads: readonly VadInfo[]): Set<string> {
  const out = new Set<string>();
  if (p.secure !== false || p.terminated || !p.dtb) return out;
  const candidates = vads.filter((v) => v.private === true && v.executable === true);
  if (candidates.length === 0) return out;
  const uvm = vmForDtb(pageTableRoot(p.dtb));
  for (const v of candidates) {
    const b = uvm.read(BigInt(v.start), 2);
    if (b && b.readUInt16LE(0) === EXPECTED_DOS_SIGNATURE) out.add(v.start);
  }
  return out;
}

/** What internals reads once for the whole kernel: the loaded drivers and the object types. */
interface KernelSide {
  readonly driverWalk: Walk<DriverInfo> | undefined;
  readonly objectTypes: ObjectTypes | null;
}

/** The inputs of the reads (all of InternalsInput but the drafts). */
export type InternalsContext = Omit<InternalsInput, 'drafts' | 'ahead'>;

function readKernelSide(ctx: InternalsContext): KernelSide {
  const { vm, layout } = ctx;
  const driverWalk = ctx.psLoadedModuleList !== null ? walkDrivers(vm, layout, ctx.psLoadedModuleList, { maxModules: ctx.caps?.maxModules }) : undefined;
  const types = ctx.base !== null ? loadObjectTypes(vm, layout, ctx.base) : null;
  return { driverWalk, objectTypes: types && 'types' in types ? (types.types ?? null) : null };
}

/** One process's internals, read from its EPROCESS at `va`: a pure function of its arguments. */
function readInternals(ctx: InternalsContext, kernel: KernelSide, va: bigint, p: ReadSubject): InternalsRead {
  const { vm, layout } = ctx;
  const caps = ctx.caps ?? {};
  const walks: { kind: string; walk: NotedWalk; cap: string }[] = [];
  const unreadable: string[] = [];
  const tokenRead = readProcessToken(vm, layout, va);
  walks.push({ kind: 'tokens', walk: noted(tokenRead), cap: 'token.groups' });
  const extendedInfo = readExtendedInfo(vm, layout, va, { token: tokenRead });
  const exit = readExitStatus(vm, layout, va);
  const prio = readBasePriority(vm, layout, va);
  const debug = readDebugPort(vm, layout, va);
  if (exit.unreadable) unreadable.push('exitStatus');
  if (prio.unreadable) unreadable.push('basePriority');
  if (debug.unreadable) unreadable.push('debugPort');

  const vads = walkVadInfo(vm, layout, va, { maxVads: caps.maxVads });
  walks.push({ kind: 'VAD trees', walk: noted(vads), cap: 'vads' });
  const modules = new ModuleIndex([...(kernel.driverWalk?.items ?? []), ...mappedRanges(vads.items)]);

  const threads = walkThreads(vm, layout, va, { maxThreads: caps.maxThreads });
  walks.push({ kind: 'thread lists', walk: noted(threads), cap: 'threads' });
  const threadRecs: ThreadRecord[] = [];
  for (const t of threads.items) {
    if (t.tid === null) continue;
    const apcs = walkApcs(vm, layout, BigInt(t.ethread), { maxApcs: caps.maxApcs });
    walks.push({ kind: 'APC queues', walk: noted(apcs), cap: 'apcs' });
    threadRecs.push({
      tid: t.tid,
      ethread: t.ethread,
      startAddress: t.startAddress,
      win32StartAddress: t.win32StartAddress,
      startModule: modules.attribute(t.win32StartAddress),
      createTime: t.createTime,
      exitTime: t.exitTime,
      state: t.state,
      apcs: apcs.items.map((a) => apcRecord(a, modules)),
    });
  }

  const handles = walkHandles(vm, layout, va, kernel.objectTypes, { maxHandles: caps.maxHandles });
  walks.push({ kind: 'handle tables', walk: noted(handles), cap: 'handles' });

  const nothing = (w: Walk<unknown>) => w.items.length === 0 && w.partial;
  const rec: Partial<Draft> = {
    extendedInfo,
    exitStatus: exit.value,
    basePriority: prio.value,
    debugPort: debug.value,
    token: tokenRead.token ? tokenRecord(tokenRead.token) : null,
    vads: nothing(vads) ? null : vads.items.map(vadRecord),
    threads: nothing(threads) ? null : threadRecs,
    handles: nothing(handles) ? null : handles.items.map(handleRecord),
  };
  return { rec, walks, unreadable, peHeaders: peHeaderStarts(ctx.vmForDtb, p, vads.items) };
}

const KERNEL_SIDE_KEY = 'internals:kernel';
const subjectOf = (d: ProcessDraft): ReadSubject => ({ secure: d.rec.secure, terminated: d.rec.terminated, dtb: d.m.info.dtb });
/** A process's read, named by everything it depends on besides its EPROCESS fields (the owner). */
const internalsKey = (va: bigint, p: ReadSubject) => `internals:${va}:${p.secure}:${p.terminated}:${p.dtb}`;

/** Queues the kernel side and each draft's internals read (drafts made from the list, before the scan). */
export function queueInternals(ahead: WorkAhead, ctx: InternalsContext, drafts: readonly ProcessDraft[]): void {
  let kernel: KernelSide | undefined;
  const kernelSide = () => (kernel ??= readKernelSide(ctx));
  ahead.later(KERNEL_SIDE_KEY, undefined, kernelSide);
  for (const d of drafts) {
    const va = d.m.va;
    if (va === null) continue;
    const p = subjectOf(d);
    ahead.later(internalsKey(va, p), d.m.info, () => readInternals(ctx, kernelSide(), va, p));
  }
}

export function internalsStep(inp: InternalsInput): InternalsStep {
  const take = takeFrom(inp.ahead);
  const damage = new Damage();
  const reasons: string[] = [];
  const kernel = take(KERNEL_SIDE_KEY, undefined, () => readKernelSide(inp));
  const { driverWalk } = kernel;
  if (driverWalk) damage.note('loaded module list', 'the kernel', driverWalk, 'modules');
  else reasons.push('PsLoadedModuleList is unknown: routine addresses cannot be attributed to drivers.');
  const drivers = driverWalk?.items ?? [];
  const peHeaders = new Map<number, Set<string>>();

  inp.drafts.forEach((d, i) => {
    const va = d.m.va;
    if (va === null) {
      Object.assign(d.rec, { threads: null, handles: null, vads: null, token: null, debugPort: null, exitStatus: null, basePriority: null });
      return;
    }
    const p = subjectOf(d);
    const one = take(internalsKey(va, p), d.m.info, () => readInternals(inp, kernel, va, p));
    const who = `${d.rec.name.text} (PID ${d.rec.pid})`;
    for (const w of one.walks) damage.note(w.kind, who, w.walk, `${w.cap}(pid ${d.rec.pid})`);
    Object.assign(d.rec, one.rec);
    if (one.unreadable.length) d.rec.unreadableFields = [...(d.rec.unreadableFields ?? []), ...one.unreadable.filter((u) => !d.rec.unreadableFields?.includes(u))];
    if (one.peHeaders.size) peHeaders.set(i, new Set(one.peHeaders));
  });

  const modules = driverWalk && !(driverWalk.items.length === 0 && driverWalk.partial) ? driverWalk.items.map(moduleRecord) : null;
  return { modules, kernelImage: drivers[0]?.name ?? null, peHeaders, ...notes({ reasons: [...reasons, ...damage.reasons()], capsHit: damage.capsHit }) };
}
