// Step 2b: work ahead. From the process list alone, the reads the steps after the scan will need
// (the baseline's and isolation's page classifications, each process's PEB side and internals) are
// queued, for the evidence pass to run while it waits for its hash worker (scanStep hands the queue
// to the scan as its IdleWork). Drafts are made from the listed processes exactly as the records
// step makes them; each step takes a value computed ahead only where its key and owner match what
// it would read itself, and reads everything else then (processes the scan adds, a budget spent
// differently), so the analysis is the same whether a job ran or not.
import type { ListWalk } from '../../ntos/process-list.ts';
import { WorkAhead } from '../work-ahead.ts';
import { queueDetails, type DetailsInput } from './details.ts';
import { queueInternals, type InternalsContext } from './internals.ts';
import { queueBaseline, queueIsolation, type BaselineInput, type IsolationInput } from './isolate.ts';
import { mergeProcesses } from './merge.ts';
import { processRecords } from './records.ts';

export interface WorkAheadInput {
  readonly list: ListWalk | undefined;
  /** The inputs the steps will be given, less their drafts. */
  readonly baseline: Omit<BaselineInput, 'drafts' | 'ahead'>;
  readonly isolation: Omit<IsolationInput, 'drafts' | 'ahead' | 'baseline'>;
  readonly details: Omit<DetailsInput, 'drafts' | 'ahead'>;
  /** Absent when the internals are not walked. */
  readonly internals: InternalsContext | undefined;
}

/**
 * The queue of reads for the listed processes, in step order (baseline, isolation, details,
 * internals), filled when the pass first waits (never, when nothing waits: no cost then).
 */
export function workAhead(inp: WorkAheadInput): WorkAhead {
  return new WorkAhead((ahead) => {
    const { drafts } = processRecords(mergeProcesses(inp.list?.entries ?? [], []), inp.list);
    queueBaseline(ahead, { ...inp.baseline, drafts });
    queueIsolation(ahead, { ...inp.isolation, drafts });
    queueDetails(ahead, inp.details, drafts);
    if (inp.internals) queueInternals(ahead, inp.internals, drafts);
  });
}
