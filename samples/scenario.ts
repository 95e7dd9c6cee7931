// Scenarios are data (samples/scenarios/*.json): the processes of a machine, the kernel layout
// they use, and what is wrong with it. A scenario may extend another and override its fields.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What a secure process's user pages look like in the dump (formats.md §7). */
export type SecurePages = 'absent' | 'zero' | 'constant' | 'readable' | 'mixed';

export interface ScenarioProcess {
  pid: number;
  ppid: number;
  /** Image name; ImageFileName keeps its first 15 bytes. */
  name: string;
  /** Full NT path (\Device\HarddiskVolumeN\...); defaults from the name. */
  path?: string;
  /** Command line written in the PEB's process parameters. */
  commandLine?: string;
  /** Account as DOMAIN\\name (default: the machine account in session 0, the scenario's user elsewhere). */
  user?: string;
  /** RTL_USER_PROCESS_PARAMETERS.CurrentDirectory (default: System32 in session 0, the user's profile elsewhere). */
  currentDirectory?: string;
  /** DLL paths loaded after the system ones (PEB loader list). */
  dlls?: string[];
  /** Seconds after boot. */
  start: number;
  /** Seconds after boot when it exited (terminated, still referenced). */
  exit?: number;
  session?: number | null;
  /** PS_PROTECTION byte, e.g. "0x41". */
  protection?: string;
  secure?: boolean;
  /** Trustlet id as the secure kernel knows it (LsaIso.exe = 1). */
  trustletId?: number;
  /** Overrides the scenario's secure page mode for this process. */
  securePages?: SecurePages;
  /** Removed from ActiveProcessLinks (DKOM) but its object is still in pool. */
  unlinked?: boolean;
  wow64?: boolean;
  /** No PEB (System, Secure System, Registry, Memory Compression). */
  noPeb?: boolean;
  /** Number of resident user pages (default 10; 0 for no user space). */
  userPages?: number;
  /** Threads (default 4, 0 once exited); ETHREAD objects are built for up to the scenario's `threadObjectCap` of them. */
  threads?: number;
  /** Threads beyond `threads`, with their start and APCs (e.g. an injected thread). */
  extraThreads?: ThreadSpec[];
  /** APCs queued to the process's threads (`thread`: index in the thread list, default 0). */
  apcs?: (ApcSpec & { thread?: number })[];
  /** Extra private regions (VADs with resident pages unless the process is secure). */
  regions?: RegionSpec[];
  /** Handles beyond the default few (File, Event, named Mutant). */
  handles?: HandleSpec[];
  /** Further handles on a few shared unnamed Event objects (to grow the table). */
  extraHandles?: number;
  /** EPROCESS.DebugPort points at a DebugObject. */
  debugPort?: boolean;
  /** KPROCESS.DeepFreeze and FreezeCount (a frozen packaged app). */
  frozen?: boolean;
  /** EPROCESS.Flags.Background. */
  background?: boolean;
  /** EPROCESS.Flags2.CrossSessionCreate. */
  crossSessionCreate?: boolean;
  /** A Pico (WSL) process: EPROCESS.Flags3.SubsystemProcess and a PicoContext. */
  pico?: boolean;
  /** EPROCESS.Flags.ProcessDelete (an exited process being deleted). */
  processDelete?: boolean;
  /** EPROCESS.ExitStatus (default STATUS_PENDING 0x103 while running, 0 once exited). */
  exitStatus?: number;
  /** KPROCESS.BasePriority (default 8). */
  basePriority?: number;
  /** Token: user SID (default SYSTEM for session 0 / no session, the interactive user otherwise). */
  tokenUser?: string;
  /** Token integrity RID name: untrusted, low, medium, high, system (default system / medium by user). */
  integrity?: 'untrusted' | 'low' | 'medium' | 'high' | 'system';
  /** Token package SID (packaged app / app container), e.g. S-1-15-2-…. */
  packageSid?: string;
}

/**
 * Where an address points: the process image, a system DLL mapped in it, the kernel, a loaded
 * driver (`driver:NAME`), one of the process's `regions` (`region:N`), or nowhere mapped.
 */
export type AddressRef = 'image' | 'ntdll' | 'kernel32' | 'ntoskrnl' | 'nowhere' | `driver:${string}` | `region:${number}`;

export interface ThreadSpec {
  start: AddressRef;
  apcs?: ApcSpec[];
}

export interface ApcSpec {
  mode: 'kernel' | 'user';
  /** Kernel APC: the KernelRoutine; user APC: the NormalRoutine. */
  routine: AddressRef;
}

export interface RegionSpec {
  /** PAGE_* name, e.g. PAGE_EXECUTE_READWRITE. */
  protection: string;
  pages: number;
  /** What its first page holds: code bytes, a PE header (MZ … PE), or zeros. */
  content: 'code' | 'pe' | 'zero';
}

export interface HandleSpec {
  type: 'Process' | 'Thread' | 'File' | 'Event' | 'Mutant' | 'Section' | 'Token';
  /** Process / Thread (/ Token): the target process. */
  targetPid?: number;
  /** Thread: index in the target's thread list (default 0). */
  targetThread?: number;
  /** Granted access, e.g. "0x1fffff". */
  access: string;
  /** File: FileName; Event/Mutant/Section: the object name (OBJECT_HEADER_NAME_INFO). */
  name?: string;
}

export interface DriverSpec {
  name: string;
  path: string;
  size?: number;
}

export interface ListCorruption {
  kind: 'cycle' | 'bad-flink';
  /** PID of the process whose Flink is damaged. */
  pid: number;
  /** cycle: PID whose links the Flink points back to. */
  toPid?: number;
  /** bad-flink: the bogus pointer (hex string). */
  value?: string;
}

export interface Scenario {
  name: string;
  description: string;
  /** Parent scenario name whose fields this one overrides (processes are replaced, not merged, unless `addProcesses`). */
  extends?: string;
  /** Kernel: GUID-age of a ../shared/data/isf table, or a build number. */
  kernel: string;
  bootTime: string;
  crashTime: string;
  processes: ScenarioProcess[];
  addProcesses?: ScenarioProcess[];
  /** PIDs to drop from the parent's process list. */
  removePids?: number[];
  /** PIDs to patch: {pid: {field: value}}. */
  patch?: Record<string, Partial<ScenarioProcess>>;
  securePages: SecurePages;
  listCorruption?: ListCorruption | null;
  decoys: boolean;
  /** Cut the written file to this fraction of its size (a truncated acquisition). */
  truncate?: number | null;
  /** Default dump form and size when the scenario is generated by name. */
  defaultForm?: string;
  productType?: number;
  processors?: number;
  bugCheck?: { code: string; params: string[] };
  computerName?: string;
  /** At most this many of a process's `threads` become ETHREAD objects (default 8; extraThreads always do). */
  threadObjectCap?: number;
  /** Drivers loaded after the default set (PsLoadedModuleList). */
  drivers?: DriverSpec[];
  /** The interactive user's name (default jdoe) and the domain (default: a workgroup machine). */
  userName?: string;
  domain?: string;
  dnsDomain?: string;
}

export function scenariosDir(): string {
  return fileURLToPath(new URL('./scenarios/', import.meta.url));
}

export function listScenarios(): string[] {
  return readdirSync(scenariosDir())
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .sort();
}

function readJson(path: string): Partial<Scenario> {
  return JSON.parse(readFileSync(path, 'utf8')) as Partial<Scenario>;
}

/** Loads a scenario by name (samples/scenarios/NAME.json) or path, resolving `extends`. */
export function loadScenario(nameOrPath: string, depth = 0): Scenario {
  if (depth > 8) throw new Error(`scenario "${nameOrPath}": extends chain too deep`);
  const path = existsSync(nameOrPath) && nameOrPath.endsWith('.json') ? nameOrPath : join(scenariosDir(), `${nameOrPath}.json`);
  if (!existsSync(path)) throw new Error(`no scenario "${nameOrPath}" (known: ${listScenarios().join(', ')})`);
  const raw = readJson(path);
  let s: Scenario;
  if (raw.extends) {
    const parentPath = join(dirname(path), `${raw.extends}.json`);
    const parent = loadScenario(existsSync(parentPath) ? parentPath : raw.extends, depth + 1);
    s = { ...parent, ...raw, processes: raw.processes ?? parent.processes.map((p) => ({ ...p })) } as Scenario;
  } else {
    s = raw as Scenario;
  }
  s.name = raw.name ?? basename(path, '.json');
  if (raw.removePids) s.processes = s.processes.filter((p) => !raw.removePids!.includes(p.pid));
  if (raw.patch) {
    for (const [pid, patch] of Object.entries(raw.patch)) {
      const p = s.processes.find((x) => x.pid === Number(pid));
      if (!p) throw new Error(`scenario ${s.name}: patch for unknown pid ${pid}`);
      Object.assign(p, patch);
    }
  }
  if (raw.addProcesses) s.processes = [...s.processes, ...raw.addProcesses.map((p) => ({ ...p }))];
  delete s.addProcesses;
  delete s.removePids;
  delete s.patch;
  delete s.extends;
  validateScenario(s);
  return s;
}

export function validateScenario(s: Scenario): void {
  const seen = new Set<number>();
  if (!Array.isArray(s.processes) || s.processes.length === 0) throw new Error(`scenario ${s.name}: no processes`);
  for (const p of s.processes) {
    if (!Number.isInteger(p.pid) || p.pid < 0) throw new Error(`scenario ${s.name}: bad pid ${p.pid}`);
    if (seen.has(p.pid)) throw new Error(`scenario ${s.name}: duplicate pid ${p.pid}`);
    seen.add(p.pid);
    if (typeof p.name !== 'string' || p.name.length === 0) throw new Error(`scenario ${s.name}: pid ${p.pid} has no name`);
  }
  if (s.processes[0].pid !== 4) throw new Error(`scenario ${s.name}: the first process must be System (pid 4)`);
  if (Number.isNaN(Date.parse(s.bootTime)) || Number.isNaN(Date.parse(s.crashTime))) throw new Error(`scenario ${s.name}: bad bootTime/crashTime`);
}
