// Findings from rule tables: a rule names its id, title, severity and ATT&CK technique once, and
// says how to find its matches in a context and what each match's message and evidence are. The
// steps of the analysis only pick the table and the context.
import type { AttackMapping, Finding, Severity } from './types.ts';

export interface FindingRule<C, M = C> {
  readonly rule: string;
  readonly title: string;
  /** One severity for every match, or one per match. */
  readonly severity: Severity | ((m: M) => Severity);
  /** The technique every match shows, or one per match (undefined: none). */
  readonly attack?: AttackMapping | ((m: M) => AttackMapping | undefined);
  /** What in the context the rule fires on (an empty list: it does not fire). */
  readonly matches: (c: C) => readonly M[];
  readonly message: (m: M) => string;
  readonly evidence: (m: M) => Finding['evidence'];
}

/** A rule that fires at most once, on the context itself, when `when` holds. */
export function whenRule<C>(r: Omit<FindingRule<C, C>, 'matches'> & { readonly when: (c: C) => boolean }): FindingRule<C, C> {
  const { when, ...rest } = r;
  return { ...rest, matches: (c) => (when(c) ? [c] : []) };
}

/** Keeps a table of rules with different match types in one array. */
export function rule<C, M>(r: FindingRule<C, M>): FindingRule<C, unknown> {
  return r as unknown as FindingRule<C, unknown>;
}

/** Every finding of every rule in table order, matches in the order the rule lists them. */
export function applyRules<C>(rules: readonly FindingRule<C, unknown>[], c: C): Finding[] {
  const out: Finding[] = [];
  for (const r of rules) {
    for (const m of r.matches(c)) {
      const attack = typeof r.attack === 'function' ? r.attack(m) : r.attack;
      const severity = typeof r.severity === 'function' ? r.severity(m) : r.severity;
      out.push({ rule: r.rule, title: r.title, severity, message: r.message(m), evidence: r.evidence(m), ...(attack ? { attack } : {}) });
    }
  }
  return out;
}
