// What each step of the analysis hands back besides its data: findings, partial-result reasons and
// caps hit, concatenated by analyzeKernel in step order.
import type { Finding } from '../types.ts';

export interface CapHit {
  readonly cap: string;
  readonly limit: number;
}

export interface StepNotes {
  readonly findings: readonly Finding[];
  readonly reasons: readonly string[];
  readonly capsHit: readonly CapHit[];
}

export const NO_NOTES: StepNotes = { findings: [], reasons: [], capsHit: [] };

export function notes(n: Partial<StepNotes>): StepNotes {
  return { findings: n.findings ?? [], reasons: n.reasons ?? [], capsHit: n.capsHit ?? [] };
}

/** 's' when n ≠ 1. */
export function plural(n: number, many = 's', one = ''): string {
  return n === 1 ? one : many;
}
