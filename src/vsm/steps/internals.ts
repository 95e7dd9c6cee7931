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
import type { KernelLayout } from '../../ntos/layout.ts';
import { loadObjectTypes, type ObjectTypes } from '../../ntos/object-header.ts';
import { walkThreads, type ThreadInfo } from '../../ntos/threads.ts';
import { readProcessToken, type TokenInfo } from '../../ntos/token.ts';
import { walkVadInfo, type VadInfo } from '../../ntos/vad-info.ts';
import type { Walk, WalkIssue } from '../../ntos/walk-result.ts';
import type { ApcRecord, HandleRecord, ModuleRecord, ThreadRecord, TokenRecord, VadRecord } from '../types.ts';
import { notes, plural, type CapHit, type StepNotes } from './notes.ts';
import type { Draft, ProcessDraft } from './records.ts';

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

export interface InternalsInput {
  readonly drafts: readonly ProcessDraft[];
  readonly vm: VirtualMemory;
  readonly layout: KernelLayout;
  readonly base: bigint | null;
  readonly psLoadedModuleList: bigint | null;
  readonly vmForDtb: (dtb: number) => VirtualMemory;
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

interface ProcessInternals {
  readonly threads: Walk<ThreadInfo>;
  readonly handles: Walk<HandleInfo>;
  readonly vads: Walk<VadInfo>;
}

function peHeaderStarts(vmForDtb: (dtb: number) => VirtualMemory, d: ProcessDraft, vads: readonly VadInfo[]): Set<string> {
  const out = new Set<string>();
  if (d.rec.secure !== false || d.rec.terminated || !d.m.info.dtb) return out;
  const candidates = vads.filter((v) => v.private === true && v.executable === true);
  if (candidates.length === 0) return out;
  const uvm = vmForDtb(pageTableRoot(d.m.info.dtb));
  for (const v of candidates) {
    const b = uvm.read(BigInt(v.start), 2);
    if (b && b.readUInt16LE(0) === EXPECTED_DOS_SIGNATURE) out.add(v.start);
  }
  return out;
}

function walkOne(inp: InternalsInput, d: ProcessDraft, va: bigint, types: ObjectTypes | null, drivers: readonly DriverInfo[], damage: Damage): { rec: Partial<Draft>; walks: ProcessInternals; unreadable: string[] } {
  const { vm, layout } = inp;
  const caps = inp.caps ?? {};
  const who = `${d.rec.name.text} (PID ${d.rec.pid})`;
  const unreadable: string[] = [];
  const tokenRead = readProcessToken(vm, layout, va);
  damage.note('tokens', who, { ...tokenRead, partial: tokenRead.partial }, `token.groups(pid ${d.rec.pid})`);
  const extendedInfo = readExtendedInfo(vm, layout, va, { token: tokenRead });
  const exit = readExitStatus(vm, layout, va);
  const prio = readBasePriority(vm, layout, va);
  const debug = readDebugPort(vm, layout, va);
  if (exit.unreadable) unreadable.push('exitStatus');
  if (prio.unreadable) unreadable.push('basePriority');
  if (debug.unreadable) unreadable.push('debugPort');

  const vads = walkVadInfo(vm, layout, va, { maxVads: caps.maxVads });
  damage.note('VAD trees', who, vads, `vads(pid ${d.rec.pid})`);
  const modules = new ModuleIndex([...drivers, ...mappedRanges(vads.items)]);

  const threads = walkThreads(vm, layout, va, { maxThreads: caps.maxThreads });
  damage.note('thread lists', who, threads, `threads(pid ${d.rec.pid})`);
  const threadRecs: ThreadRecord[] = [];
  for (const t of threads.items) {
    if (t.tid === null) continue;
    const apcs = walkApcs(vm, layout, BigInt(t.ethread), { maxApcs: caps.maxApcs });
    damage.note('APC queues', who, apcs, `apcs(pid ${d.rec.pid})`);
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

  const handles = walkHandles(vm, layout, va, types, { maxHandles: caps.maxHandles });
  damage.note('handle tables', who, handles, `handles(pid ${d.rec.pid})`);

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
  return { rec, walks: { threads, handles, vads }, unreadable };
}

export function internalsStep(inp: InternalsInput): InternalsStep {
  const { vm, layout } = inp;
  const damage = new Damage();
  const reasons: string[] = [];
  const driverWalk = inp.psLoadedModuleList !== null ? walkDrivers(vm, layout, inp.psLoadedModuleList, { maxModules: inp.caps?.maxModules }) : undefined;
  if (driverWalk) damage.note('loaded module list', 'the kernel', driverWalk, 'modules');
  else reasons.push('PsLoadedModuleList is unknown: routine addresses cannot be attributed to drivers.');
  const drivers = driverWalk?.items ?? [];
  const types = inp.base !== null ? loadObjectTypes(vm, layout, inp.base) : null;
  const objectTypes = types && 'types' in types ? (types.types ?? null) : null;
  const peHeaders = new Map<number, Set<string>>();

  inp.drafts.forEach((d, i) => {
    if (d.m.va === null) {
      Object.assign(d.rec, { threads: null, handles: null, vads: null, token: null, debugPort: null, exitStatus: null, basePriority: null });
      return;
    }
    const one = walkOne(inp, d, d.m.va, objectTypes, drivers, damage);
    Object.assign(d.rec, one.rec);
    if (one.unreadable.length) d.rec.unreadableFields = [...(d.rec.unreadableFields ?? []), ...one.unreadable.filter((u) => !d.rec.unreadableFields?.includes(u))];
    const pe = peHeaderStarts(inp.vmForDtb, d, one.walks.vads.items);
    if (pe.size) peHeaders.set(i, pe);
  });

  const modules = driverWalk && !(driverWalk.items.length === 0 && driverWalk.partial) ? driverWalk.items.map(moduleRecord) : null;
  return { modules, kernelImage: drivers[0]?.name ?? null, peHeaders, ...notes({ reasons: [...reasons, ...damage.reasons()], capsHit: damage.capsHit }) };
}

