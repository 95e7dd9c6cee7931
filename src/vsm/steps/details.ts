// Step: the PEB side of every process and the machine's identity (issue 14). Drive letters are read
// once from \GLOBAL??, each process's parameters/environment/loader list through its own address
// space (never for secure processes), then the host identity from the environments and KUSER_SHARED_DATA.
import type { VirtualMemory } from '../../dump/types.ts';
import { readKuserFacts } from '../../ntos/kuser.ts';
import type { KernelLayout } from '../../ntos/layout.ts';
import { readDriveLetters } from '../../ntos/object-directory.ts';
import { identifyHost } from '../host.ts';
import { MAX_DLLS_PER_ANALYSIS, readProcessDetails } from '../process-details.ts';
import type { HostIdentity, ProcessRecord } from '../types.ts';
import { notes, type StepNotes } from './notes.ts';
import type { ProcessDraft } from './records.ts';

export interface DetailsStep extends StepNotes {
  readonly host: HostIdentity;
}

/** Fills the drafts' PEB-side fields in place and returns the host identity. */
export function detailsStep(input: { drafts: readonly ProcessDraft[]; vm: VirtualMemory; layout: KernelLayout; base: bigint | null; build: number | null; vmForDtb: (dtb: number) => VirtualMemory }): DetailsStep {
  const { drafts, vm, layout } = input;
  const drives = readDriveLetters(vm, layout, input.base);
  const budget = { dllsLeft: MAX_DLLS_PER_ANALYSIS, capHit: false };
  for (const d of drafts) Object.assign(d.rec, readProcessDetails(d.rec, d.m.info, { layout, vmForDtb: input.vmForDtb, drives: drives.drives, budget }));
  const host = identifyHost(
    drafts.map((d) => d.rec as ProcessRecord),
    readKuserFacts(vm, layout),
    input.build,
    drives,
  );
  return { host, ...notes({ capsHit: budget.capHit ? [{ cap: 'dlls.entries', limit: MAX_DLLS_PER_ANALYSIS }] : [] }) };
}
