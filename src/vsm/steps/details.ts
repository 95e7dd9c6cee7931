// Step: the PEB side of every process and the machine's identity (issue 14). Drive letters are read
// once from \GLOBAL??, each process's parameters/environment/loader list through its own address
// space (never for secure processes), then the host identity from the environments and KUSER_SHARED_DATA.
// The reads (drive letters, KUSER_SHARED_DATA, each listed process's PEB side) may have been done
// ahead, while the evidence pass waited for its hash (queueDetails); the loader budget is applied here.
import { readKuserFacts } from '../../ntos/kuser.ts';
import { readDriveLetters } from '../../ntos/object-directory.ts';
import { identifyHost } from '../host.ts';
import { MAX_DLLS_PER_ANALYSIS, MAX_DLLS_PER_PROCESS, pebKey, pebReadable, readPeb, readProcessDetails } from '../process-details.ts';
import type { HostIdentity, ProcessRecord } from '../types.ts';
import { takeFrom, type WorkAhead } from '../work-ahead.ts';
import { notes, type StepNotes } from './notes.ts';
import type { ProcessDraft, ProcessStepInput } from './records.ts';

export interface DetailsStep extends StepNotes {
  readonly host: HostIdentity;
}

export interface DetailsInput extends ProcessStepInput {
  readonly build: number | null;
}

const DRIVES_KEY = 'details:drives';
const KUSER_KEY = 'details:kuser';

/** Queues the drive letters, KUSER_SHARED_DATA and each draft's PEB side (as the first processes' budget will allow). */
export function queueDetails(ahead: WorkAhead, input: Omit<DetailsInput, 'drafts' | 'ahead'>, drafts: readonly ProcessDraft[]): void {
  const { vm, layout } = input;
  ahead.later(DRIVES_KEY, undefined, () => readDriveLetters(vm, layout, input.base));
  ahead.later(KUSER_KEY, undefined, () => readKuserFacts(vm, layout));
  // The budget only runs short after MAX_DLLS_PER_ANALYSIS entries: until then each process reads its full share.
  const limit = Math.min(MAX_DLLS_PER_ANALYSIS, MAX_DLLS_PER_PROCESS);
  for (const { rec, m } of drafts) {
    const info = m.info;
    if (pebReadable(rec, info)) ahead.later(pebKey(info.dtb, info.peb, limit), undefined, () => readPeb(input, info.dtb, info.peb, limit));
  }
}

/** Fills the drafts' PEB-side fields in place and returns the host identity. */
export function detailsStep(input: DetailsInput): DetailsStep {
  const { drafts, vm, layout } = input;
  const take = takeFrom(input.ahead);
  const drives = take(DRIVES_KEY, undefined, () => readDriveLetters(vm, layout, input.base));
  const budget = { dllsLeft: MAX_DLLS_PER_ANALYSIS, capHit: false };
  for (const d of drafts) Object.assign(d.rec, readProcessDetails(d.rec, d.m.info, { layout, vmForDtb: input.vmForDtb, drives: drives.drives, budget, take }));
  const host = identifyHost(
    drafts.map((d) => d.rec as ProcessRecord),
    take(KUSER_KEY, undefined, () => readKuserFacts(vm, layout)),
    input.build,
    drives,
  );
  return { host, ...notes({ capsHit: budget.capHit ? [{ cap: 'dlls.entries', limit: MAX_DLLS_PER_ANALYSIS }] : [] }) };
}
