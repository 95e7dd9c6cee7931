// Step 1: the active process list, and its breaks as findings (LIST_RULES).
import type { VirtualMemory } from '../../dump/types.ts';
import type { KernelLayout } from '../../ntos/layout.ts';
import { walkProcessList, type ListIssue, type ListIssueKind, type ListWalk } from '../../ntos/process-list.ts';
import { hex } from '../../dump/numbers.ts';
import { applyRules, rule, whenRule } from '../rules.ts';
import type { Finding, Severity } from '../types.ts';
import { notes, type StepNotes } from './notes.ts';

export const LIST_RULES: Record<ListIssueKind, { rule: string; title: string; severity: Severity }> = {
  'head-unreadable': { rule: 'ntos.list-head-unreadable', title: 'Process list head unreadable', severity: 'medium' },
  'link-non-canonical': { rule: 'ntos.list-bad-link', title: 'Process list link is not a kernel address', severity: 'medium' },
  'link-unreadable': { rule: 'ntos.list-unreadable', title: 'Process list entry missing from the dump', severity: 'medium' },
  'link-unmapped': { rule: 'ntos.list-bad-link', title: 'Process list link points at unmapped memory', severity: 'medium' },
  cycle: { rule: 'ntos.list-cycle', title: 'Process list loops without returning to its head', severity: 'medium' },
  'blink-mismatch': { rule: 'ntos.list-blink-mismatch', title: 'Process list back link does not match', severity: 'low' },
  'implausible-entry': { rule: 'ntos.list-bad-link', title: 'Process list link leads to something that is not a process', severity: 'medium' },
  cap: { rule: 'ntos.list-cap', title: 'Process list walk hit its cap', severity: 'low' },
};

const HEAD_UNKNOWN = rule(
  whenRule<null>({
  rule: 'ntos.list-head-unknown',
  title: 'Process list head unknown',
  severity: 'medium',
  when: () => true,
  message: () => 'PsActiveProcessHead could not be located; processes come from the pool scan only.',
  evidence: () => ({}),
  }),
);

export interface ListStepInput {
  readonly vm: VirtualMemory;
  readonly layout: KernelLayout;
  readonly head: bigint | null;
  readonly maxEntries?: number;
  readonly vmForDtb: (dtb: number) => VirtualMemory;
}

export interface ListStep extends StepNotes {
  /** Undefined when PsActiveProcessHead is unknown. */
  readonly list: ListWalk | undefined;
}

function issueFinding(i: ListIssue, pidAt: ReadonlyMap<bigint, bigint | undefined>): Finding {
  const r = LIST_RULES[i.kind];
  const pid = i.from !== null ? pidAt.get(i.from) : undefined;
  return {
    rule: r.rule,
    title: r.title,
    severity: r.severity,
    message: `${i.message}.`,
    evidence: { address: hex(i.address), ...(pid !== undefined ? { pid: Number(pid) } : {}), ...(i.from !== null ? { eprocessVa: hex(i.from) } : {}) },
  };
}

/** One finding per list issue, in walk order. */
export function listFindings(list: ListWalk): Finding[] {
  const pidAt = new Map(list.entries.map((e) => [e.va, e.info.pid]));
  return list.issues.map((i) => issueFinding(i, pidAt));
}

function brokenListReason(list: ListWalk): string {
  const kinds = list.issues.filter((i) => i.kind !== 'blink-mismatch').map((i) => i.kind).join(', ') || 'incomplete';
  const back = list.entries.some((e) => e.direction === 'backward') ? ', some by walking back from the head' : '';
  return `The process list is broken (${kinds}): ${list.entries.length} entries recovered${back}.`;
}

export function walkListStep(inp: ListStepInput): ListStep {
  if (inp.head === null) {
    return { list: undefined, ...notes({ findings: applyRules([HEAD_UNKNOWN], null), reasons: ['PsActiveProcessHead is unknown: the process list could not be walked.'] }) };
  }
  const list = walkProcessList(inp.vm, inp.layout, inp.head, { maxEntries: inp.maxEntries, vmForDtb: inp.vmForDtb });
  return {
    list,
    ...notes({
      findings: listFindings(list),
      capsHit: list.capHit ? [{ cap: 'list.entries', limit: list.cap }] : [],
      reasons: list.complete ? [] : [brokenListReason(list)],
    }),
  };
}
