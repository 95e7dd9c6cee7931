// The PEB side of every non-secure process (issue 14): process parameters, kept environment
// variables, loader list, the account it ran as, and its image path with a drive letter. Secure
// processes are never read through their PEB: their user pages belong to VTL1 (their kernel-side
// image path is still mapped to a drive letter).
import type { VirtualMemory } from '../dump/types.ts';
import { readEnvironment } from '../ntos/environment.ts';
import type { KernelLayout } from '../ntos/layout.ts';
import { walkLoadedModules } from '../ntos/ldr.ts';
import { toDosPath, type DriveLetter } from '../ntos/object-directory.ts';
import { hex } from '../dump/numbers.ts';
import type { EprocessInfo } from '../ntos/process.ts';
import { readProcessParameters } from '../ntos/process-params.ts';
import type { DumpString, LoadedDll, ProcessRecord, ProcessUser } from './types.ts';

/** Loader entries kept over the whole analysis (memory bound: 65536 processes × 1024 DLLs would not fit). */
export const MAX_DLLS_PER_ANALYSIS = 65536;
/** A DOS path as the loader writes it: "C:\…". */
const DRIVE_PATH = /^[A-Za-z]:\\/;

export type ProcessDetails = Pick<ProcessRecord, 'commandLine' | 'currentDirectory' | 'environment' | 'dlls' | 'imagePathDos' | 'imagePathDosSource' | 'user' | 'detailReasons'>;

export interface DetailsBudget {
  dllsLeft: number;
  capHit: boolean;
}

const DETAIL_FIELDS = ['commandLine', 'currentDirectory', 'environment', 'dlls', 'user'] as const;

/** The PEB-side fields of one process. `info` is what its EPROCESS said; `rec` the record built from it. */
export function readProcessDetails(
  rec: Pick<ProcessRecord, 'secure' | 'imagePath' | 'terminated'>,
  info: Pick<EprocessInfo, 'peb' | 'dtb'>,
  ctx: { layout: KernelLayout; vmForDtb: (dtb: number) => VirtualMemory; drives: readonly DriveLetter[]; budget: DetailsBudget },
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
  const vm = ctx.vmForDtb(Number(info.dtb & 0x000ffffffffff000n));
  const params = readProcessParameters(vm, ctx.layout, info.peb);
  Object.assign(reasons, params.reasons);
  delete reasons.imagePathName;

  let environment: Record<string, string> | null = null;
  if (params.environment) {
    const env = readEnvironment(vm, params.environment.va, params.environment.size);
    if (env.count > 0) environment = { ...env.vars };
    if (!env.complete) reasons.environment = env.count > 0 ? `partly read: ${env.reason}` : `unreadable: ${env.reason}`;
  }
  const user: ProcessUser | null = environment?.USERNAME ? { name: environment.USERNAME, domain: environment.USERDOMAIN ?? null } : null;
  if (!user) reasons.user = environment ? 'USERNAME is not in the environment' : (reasons.environment ?? 'the environment is unreadable');

  let dlls: LoadedDll[] | null = null;
  if (ctx.budget.dllsLeft <= 0) {
    ctx.budget.capHit = true;
    reasons.dlls = `not read: the analysis-wide cap of ${MAX_DLLS_PER_ANALYSIS} loader entries was reached`;
  } else {
    const w = walkLoadedModules(vm, ctx.layout, info.peb, Math.min(ctx.budget.dllsLeft, 1024));
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
