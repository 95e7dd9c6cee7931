// Step 6: an isolation baseline over ordinary processes, then each secure process's user pages
// judged against it (ISOLATION_RULES: readable trustlet pages, isolation that cannot be judged).
import type { PhysicalMemory, VirtualMemory } from '../../dump/types.ts';
import { log } from '../../log.ts';
import type { KernelLayout } from '../../ntos/layout.ts';
import { walkVads } from '../../ntos/vad.ts';
import { classifyUserPages, DEFAULT_MAX_ENTRIES, DEFAULT_MAX_PAGES_READ, judgeIsolation, type Baseline } from '../isolation.ts';
import { applyRules, rule, whenRule } from '../rules.ts';
import { pageTableRoot } from '../../dump/numbers.ts';
import { knownTrustlet, SECURE_SYSTEM } from '../../ntos/process-names.ts';
import type { Finding, Isolation } from '../types.ts';
import { takeFrom, type WorkAhead } from '../work-ahead.ts';
import { notes, plural, type CapHit, type StepNotes } from './notes.ts';
import type { Draft, ProcessDraft } from './records.ts';

/** Page-table entries visited per baseline process. */
const BASELINE_MAX_ENTRIES = 1 << 16;

export const DEFAULT_BASELINE_PROCESSES = 16;
export const DEFAULT_BASELINE_PAGES = 4096;

export interface BaselineInput {
  readonly drafts: readonly ProcessDraft[];
  readonly pm: PhysicalMemory;
  readonly vmForDtb: (dtb: number) => VirtualMemory;
  readonly maxProcesses?: number;
  readonly pagesPerProcess?: number;
  /** Reads done ahead, taken where they fit. */
  readonly ahead?: WorkAhead;
}

/** The ordinary processes the baseline samples, and how each is classified. */
function baselinePlan(inp: Omit<BaselineInput, 'ahead'>) {
  const maxBase = inp.maxProcesses ?? DEFAULT_BASELINE_PROCESSES;
  const ordinary = inp.drafts.filter(({ rec, m }) => rec.secure === false && !rec.terminated && !!m.info.dtb);
  const opts = { maxPagesRead: inp.pagesPerProcess ?? DEFAULT_BASELINE_PAGES, maxEntries: BASELINE_MAX_ENTRIES };
  const roots = ordinary.slice(0, maxBase).map(({ m }) => pageTableRoot(m.info.dtb!));
  const key = (root: number) => `baseline:${root}:${opts.maxPagesRead}:${opts.maxEntries}`;
  const read = (root: number) => classifyUserPages(inp.vmForDtb(root), inp.pm, opts);
  return { maxBase, ordinary, roots, key, read };
}

/** Queues the baseline's page classifications (drafts made from the list, before the scan). */
export function queueBaseline(ahead: WorkAhead, inp: Omit<BaselineInput, 'ahead'>): void {
  const plan = baselinePlan(inp);
  for (const root of plan.roots) ahead.later(plan.key(root), undefined, () => plan.read(root));
}

export interface BaselineStep {
  readonly baseline: Baseline;
  /** Highest physical page the walked page tables reference that the evidence lacks (-1: none). */
  readonly maxAbsentPfn: number;
}

export function measureBaseline(inp: BaselineInput): BaselineStep {
  const b = { processes: 0, pagesMapped: 0, pagesNotResident: 0, pagesAbsent: 0, pagesUnreadable: 0, pagesReadable: 0 };
  const { maxBase, ordinary, roots, key, read } = baselinePlan(inp);
  const take = takeFrom(inp.ahead);
  let capped = false;
  let maxAbsentPfn = -1;
  for (const root of roots) {
    const c = take(key(root), undefined, () => read(root));
    if (c.capHit) capped = true;
    maxAbsentPfn = Math.max(maxAbsentPfn, c.maxAbsentPfn);
    if (c.pagesMapped === 0) continue;
    b.processes++;
    b.pagesMapped += c.pagesMapped;
    b.pagesNotResident += c.pagesNotResident;
    b.pagesAbsent += c.pagesAbsent;
    b.pagesUnreadable += c.pagesUnreadable;
    b.pagesReadable += c.pagesReadable;
  }
  if (capped) log().debug('baseline sampled (page cap per process)');
  if (ordinary.length > maxBase) log().debug({ ordinary: ordinary.length, sampled: maxBase }, 'baseline sampled a subset of ordinary processes');
  return { baseline: b, maxAbsentPfn };
}

interface IsolationContext {
  readonly rec: Draft;
  readonly iso: Isolation;
}

function isolationEvidence({ rec, iso }: IsolationContext): Finding['evidence'] {
  return { pid: rec.pid, eprocessVa: rec.eprocess.va ?? undefined, pages: { pagesMapped: iso.pagesMapped, pagesNotResident: iso.pagesNotResident, pagesAbsent: iso.pagesAbsent, pagesUnreadable: iso.pagesUnreadable, pagesReadable: iso.pagesReadable } };
}

export const ISOLATION_RULES = [
  whenRule<IsolationContext>({
    rule: 'vsm.trustlet-pages-readable',
    title: 'Secure process pages readable in the dump',
    severity: 'high',
    when: (c) => c.iso.verdict === 'exposed',
    message: ({ rec, iso }) =>
      `${rec.name.text} (PID ${rec.pid}) has ${iso.pagesReadable} readable page${plural(iso.pagesReadable)}: VTL1 isolation did not hold for this dump, which may contain isolated secrets (handle it as credential material).`,
    evidence: (c) => ({ ...isolationEvidence(c), sampleAddresses: c.iso.sampleReadable }),
  }),
  whenRule<IsolationContext>({
    rule: 'vsm.isolation-indeterminate',
    title: 'Isolation of a secure process cannot be judged',
    severity: 'low',
    when: (c) => c.iso.verdict === 'indeterminate' && c.rec.name.text !== SECURE_SYSTEM,
    message: ({ rec, iso }) => `${rec.name.text} (PID ${rec.pid}): ${iso.reason}.`,
    evidence: isolationEvidence,
  }),
].map(rule);

export interface IsolationInput {
  readonly drafts: readonly ProcessDraft[];
  readonly vm: VirtualMemory;
  readonly layout: KernelLayout;
  readonly pm: PhysicalMemory;
  readonly vmForDtb: (dtb: number) => VirtualMemory;
  readonly baseline: Baseline;
  /** Whole-analysis isolation work bound (default ISOLATION_WORK_BUDGET). */
  readonly workBudget?: number;
  /** Reads done ahead, taken where they fit. */
  readonly ahead?: WorkAhead;
}

type IsolationReadInput = Pick<IsolationInput, 'vm' | 'layout' | 'pm' | 'vmForDtb'>;

/** The order secure processes are judged in: the trustlets we know and Secure System first, then draft order. */
function secureInJudgingOrder(drafts: readonly ProcessDraft[]): (readonly [ProcessDraft, number])[] {
  const secure = drafts.map((d, i) => [d, i] as const).filter(([d]) => d.rec.secure === true && d.m.info.dtb);
  const known = (d: ProcessDraft) => (knownTrustlet(d.rec.name.text) || d.rec.name.text === SECURE_SYSTEM ? 0 : 1);
  return secure.sort((a, b) => known(a[0]) - known(b[0]) || a[1] - b[1]);
}

/** One secure process's VADs and page classification with `left` of the budget: a pure function of its arguments. */
function isolationRead(inp: IsolationReadInput, d: ProcessDraft, left: number) {
  const vadRoot = d.m.info.vadRoot;
  const root = pageTableRoot(d.m.info.dtb!);
  const maxEntries = Math.min(DEFAULT_MAX_ENTRIES, left);
  const maxPagesRead = Math.min(DEFAULT_MAX_PAGES_READ, left);
  return {
    key: `isolation:${root}:${vadRoot}:${maxEntries}:${maxPagesRead}`,
    read: () => {
      const vads = vadRoot !== undefined && vadRoot !== 0n ? walkVads(inp.vm, inp.layout, vadRoot) : undefined;
      return { vads, c: classifyUserPages(inp.vmForDtb(root), inp.pm, { vads: vads?.ranges, maxEntries, maxPagesRead }) };
    },
  };
}

/** Queues the isolation reads in judging order, each with the budget the ones before it leave. */
export function queueIsolation(ahead: WorkAhead, inp: Omit<IsolationInput, 'ahead' | 'baseline'>): void {
  let left = inp.workBudget ?? ISOLATION_WORK_BUDGET;
  for (const [d] of secureInJudgingOrder(inp.drafts)) {
    ahead.laterJob(() => {
      if (left <= 0) return;
      const { key, read } = isolationRead(inp, d, left);
      const before = left;
      left = 0; // a read that throws ends the chain
      const r = read();
      ahead.put(key, undefined, r);
      left = before - r.c.work;
    });
  }
}

/**
 * Whole-analysis bound on isolation work — page-table leaf entries walked plus pages read, summed
 * over every secure process — so that many forged secure processes cannot multiply the per-process
 * caps (DEFAULT_MAX_ENTRIES / DEFAULT_MAX_PAGES_READ each). Eight times the per-process entry cap.
 */
export const ISOLATION_WORK_BUDGET = 8 * DEFAULT_MAX_ENTRIES;

export interface IsolationStep extends StepNotes {
  /** Isolation per secure process, by draft index. */
  readonly isolation: ReadonlyMap<number, Isolation>;
  readonly maxAbsentPfn: number;
}

/** Judges each secure process's user pages; never reads their contents beyond the fill check. */
export function isolateSecure(inp: IsolationInput): IsolationStep {
  const isolation = new Map<number, Isolation>();
  const findings: Finding[] = [];
  const reasons: string[] = [];
  const capsHit: CapHit[] = [];
  let maxAbsentPfn = -1;
  const budget = inp.workBudget ?? ISOLATION_WORK_BUDGET;
  let left = budget;
  const notJudged: number[] = [];
  const take = takeFrom(inp.ahead);
  // The trustlets we know and Secure System first: forged secure processes spend what is left.
  for (const [d, i] of secureInJudgingOrder(inp.drafts)) {
    if (left <= 0) {
      notJudged.push(d.rec.pid);
      continue;
    }
    const { key, read } = isolationRead(inp, d, left);
    const { vads, c } = take(key, undefined, read);
    left -= c.work;
    if (c.capHit) capsHit.push({ cap: `isolation.pages(pid ${d.rec.pid})`, limit: 0 });
    maxAbsentPfn = Math.max(maxAbsentPfn, c.maxAbsentPfn);
    const iso = judgeIsolation({ ...c, partial: c.partial || (vads !== undefined && !vads.complete) }, inp.baseline);
    isolation.set(i, iso);
    if (iso.partial) reasons.push(`The page walk of ${d.rec.name.text} (PID ${d.rec.pid}) is incomplete${c.tablePagesAbsent ? ` (${c.tablePagesAbsent} page-table pages absent)` : ''}.`);
    findings.push(...applyRules(ISOLATION_RULES, { rec: d.rec, iso }));
  }
  if (notJudged.length) {
    capsHit.push({ cap: 'analysis.isolation-work', limit: budget });
    reasons.push(`The whole-analysis isolation budget (${budget} page-table entries and pages) ran out: ${notJudged.length} secure process${plural(notJudged.length, 'es')} not judged (PID ${notJudged.slice(0, 20).join(', ')}${notJudged.length > 20 ? ', …' : ''}).`);
  }
  return { isolation, maxAbsentPfn, ...notes({ findings, reasons, capsHit }) };
}
