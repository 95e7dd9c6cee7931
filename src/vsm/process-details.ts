// The PEB side of every non-secure process (issue 14): process parameters, kept environment
// variables, loader list, the account it ran as, and its image path with a drive letter. Secure
// processes are never read through their PEB: their user pages belong to VTL1 (their kernel-side
// image path is still mapped to a drive letter).
import type { VirtualMemory } from '../dump/types.ts';
import { readEnvironment, type EnvironmentRead } from '../ntos/environment.ts';
import type { KernelLayout } from '../ntos/layout.ts';
import { walkLoadedModules, type LoaderWalk } from '../ntos/ldr.ts';
import { toDosPath, type DriveLetter } from '../ntos/object-directory.ts';
import { hex } from '../dump/numbers.ts';
import type { EprocessInfo } from '../ntos/process.ts';
import { readProcessParameters, type ProcessParameters } from '../ntos/process-params.ts';
import type { DumpString, LoadedDll, ProcessRecord, ProcessUser } from './types.ts';
import type { Take } from './work-ahead.ts';

/** Loader entries kept over the whole analysis (memory bound: 65536 processes × 1024 DLLs would not fit). */
export const MAX_DLLS_PER_ANALYSIS = 65536;
/** Loader entries read per process. */
export const MAX_DLLS_PER_PROCESS = 1024;
/** A DOS path as the loader writes it: "C:\…". */
const DRIVE_PATH = /^[A-Za-z]:\\/;

export type ProcessDetails = Pick<ProcessRecord, 'commandLine' | 'currentDirectory' | 'environment' | 'dlls' | 'imagePathDos' | 'imagePathDosSource' | 'user' | 'detailReasons'>;

export interface DetailsBudget {
  dllsLeft: number;
  capHit: boolean;
}

const DETAIL_FIELDS = ['commandLine', 'currentDirectory', 'environment', 'dlls', 'user'] as const;

/** What is read through a process's PEB: a pure function of its DTB, its PEB and the loader limit. */
export interface PebReads {
  readonly params: ProcessParameters;
  readonly env: EnvironmentRead | null;
  /** The loader list, walked up to `dllLimit` entries; null when the limit is 0 (not walked). */
  readonly ldr: LoaderWalk | null;
}

export function readPeb(ctx: { layout: KernelLayout; vmForDtb: (dtb: number) => VirtualMemory }, dtb: bigint, peb: bigint, dllLimit: number): PebReads {
  const vm = ctx.vmForDtb(Number(dtb & 0x000ffffffffff000n));
  const params = readProcessParameters(vm, ctx.layout, peb);
  const env = params.environment ? readEnvironment(vm, params.environment.va, params.environment.size) : null;
  return { params, env, ldr: dllLimit > 0 ? walkLoadedModules(vm, ctx.layout, peb, dllLimit) : null };
}

/** Names a PEB-side read by all it depends on. */
export const pebKey = (dtb: bigint, peb: bigint, dllLimit: number) => `peb:${dtb}:${peb}:${dllLimit}`;

/** Whether the PEB side of a process is read at all (ordinary processes with a PEB and an address space). */
export function pebReadable(rec: Pick<ProcessRecord, 'secure'>, info: Pick<EprocessInfo, 'peb' | 'dtb'>): info is { peb: bigint; dtb: bigint } {
  return rec.secure === false && info.peb !== undefined && info.peb !== 0n && info.dtb !== undefined && info.dtb !== 0n;
}

/** The PEB-side fields of one process. `info` is what its EPROCESS said; `rec` the record built from it. */
export function readProcessDetails(
  rec: Pick<ProcessRecord, 'secure' | 'imagePath' | 'terminated'>,
  info: Pick<EprocessInfo, 'peb' | 'dtb'>,
  ctx: { layout: KernelLayout; vmForDtb: (dtb: number) => VirtualMemory; drives: readonly DriveLetter[]; budget: DetailsBudget; take?: Take },
): ProcessDetails {
  const reasons: Record<string, string> = {};
  const fromLink = rec.imagePath ? toDosPath(rec.imagePath.text, ctx.drives) : null;
  const dos = (peb: DumpString | null): Pick<ProcessDetails, 'imagePathDos' | 'imagePathDosSource'> => {
    if (fromLink) return { imagePathDos: fromLink, imagePathDosSource: 'symbolic-link' };
    if (peb && DRIVE_PATH.test(peb.text)) return { imagePathDos: peb.text, imagePathDosSource: 'peb' };
    reasons.imagePathDos = !rec.imagePath
      ? 'the image path is unknown'
      : ctx.drives.length === 0
        ? 'no drive-letter links were readable; imagePath keeps the NT device path'
        : 'no drive letter links to the image path\'s device; imagePath keeps the NT device path';
    return { imagePathDos: null, imagePathDosSource: null };
  };
  const nothing = (why: string): ProcessDetails => {
    for (const f of DETAIL_FIELDS) reasons[f] = why;
    const d = dos(null);
    return { commandLine: null, currentDirectory: null, environment: null, dlls: null, user: null, ...d, detailReasons: reasons };
  };
  if (rec.secure !== false) return nothing(rec.secure ? 'secure process: its user pages belong to VTL1 and are not read' : 'whether the process is secure is unknown, so its user pages are not read');
  if (info.peb === undefined || info.peb === 0n) return nothing('the process has no PEB (a kernel-only process)');
  if (info.dtb === undefined || info.dtb === 0n) return nothing('the process has no address space (DirectoryTableBase unreadable)');
  const dtb = info.dtb;
  const peb = info.peb;
  const dllLimit = ctx.budget.dllsLeft <= 0 ? 0 : Math.min(ctx.budget.dllsLeft, MAX_DLLS_PER_PROCESS);
  const read = () => readPeb(ctx, dtb, peb, dllLimit);
  const { params, env, ldr: w } = ctx.take ? ctx.take(pebKey(dtb, peb, dllLimit), undefined, read) : read();
  Object.assign(reasons, params.reasons);
  delete reasons.imagePathName;

  let environment: Record<string, string> | null = null;
  if (env) {
    if (env.count > 0) environment = { ...env.vars };
    if (!env.complete) reasons.environment = env.count > 0 ? `partly read: ${env.reason}` : `unreadable: ${env.reason}`;
  }
  const user: ProcessUser | null = environment?.USERNAME ? { name: environment.USERNAME, domain: environment.USERDOMAIN ?? null } : null;
  if (!user) reasons.user = environment ? 'USERNAME is not in the environment' : (reasons.environment ?? 'the environment is unreadable');

  let dlls: LoadedDll[] | null = null;
  if (!w) {
    ctx.budget.capHit = true;
    reasons.dlls = `not read: the analysis-wide cap of ${MAX_DLLS_PER_ANALYSIS} loader entries was reached`;
  } else {
    if (w.modules.length > 0 || w.complete) {
      dlls = w.modules.map((m) => ({ base: hex(m.base), size: m.size, path: m.path }));
      ctx.budget.dllsLeft -= dlls.length;
    }
    if (w.reason) reasons.dlls = dlls ? `partial: ${w.reason}` : w.reason;
    if (w.capHit && ctx.budget.dllsLeft <= 0) ctx.budget.capHit = true;
  }
  return {
    commandLine: params.commandLine,
    currentDirectory: params.currentDirectory,
    environment,
    dlls,
    user,
    ...dos(params.imagePathName),
    ...(Object.keys(reasons).length ? { detailReasons: reasons } : {}),
  };
}
