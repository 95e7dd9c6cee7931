// The few facts a fleet view needs from one analysis' JSON report: verdict, findings by severity,
// partial flag, process count, and the evidence hash analyze computed (to check it is the file we
// meant). Read defensively: the report is ours, but a result directory is only a directory.
import { readFileSync } from 'node:fs';
import { SEVERITIES, type Severity, type VsmVerdict } from '../vsm/types.ts';

export interface ReportSummary {
  readonly verdict: VsmVerdict | null;
  readonly findings: Record<Severity, number>;
  readonly maxSeverity: Severity | null;
  readonly partial: boolean | null;
  readonly processes: number | null;
  readonly sha256: string | null;
}

const VERDICTS: readonly string[] = ['isolated', 'exposed', 'indeterminate', 'not-running'];

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | null => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : null);
/** The first path (a.b.c) that resolves, looked up in the report and in its `analysis` member. */
function pick(root: Obj, ...paths: string[]): unknown {
  for (const base of [root, obj(root.analysis)]) {
    if (!base) continue;
    for (const p of paths) {
      let cur: unknown = base;
      for (const k of p.split('.')) cur = obj(cur)?.[k];
      if (cur !== undefined) return cur;
    }
  }
  return undefined;
}

export function emptyFindings(): Record<Severity, number> {
  return { info: 0, low: 0, medium: 0, high: 0, critical: 0 };
}

export function summarizeReport(report: unknown): ReportSummary {
  const root = obj(report) ?? {};
  const verdict = pick(root, 'vsm.verdict', 'summary.verdict');
  const findings = emptyFindings();
  const list = pick(root, 'findings');
  let maxSeverity: Severity | null = null;
  if (Array.isArray(list)) {
    for (const f of list) {
      const sev = obj(f)?.severity;
      if (typeof sev === 'string' && (SEVERITIES as readonly string[]).includes(sev)) {
        findings[sev as Severity]++;
        if (maxSeverity === null || SEVERITIES.indexOf(sev as Severity) > SEVERITIES.indexOf(maxSeverity)) maxSeverity = sev as Severity;
      }
    }
  }
  const partial = pick(root, 'partial.partial', 'partial');
  const procs = pick(root, 'processes');
  const sha = pick(root, 'evidence.sha256', 'evidence.hash.sha256', 'evidence.hashes.sha256');
  return {
    verdict: typeof verdict === 'string' && VERDICTS.includes(verdict) ? (verdict as VsmVerdict) : null,
    findings,
    maxSeverity,
    partial: typeof partial === 'boolean' ? partial : null,
    processes: Array.isArray(procs) ? procs.length : null,
    sha256: typeof sha === 'string' ? sha.toLowerCase() : null,
  };
}

export function readReportSummary(path: string): ReportSummary | null {
  try {
    return summarizeReport(JSON.parse(readFileSync(path, 'utf8')));
  } catch {
    return null;
  }
}

/** True when `sev` is at or above `threshold`. */
export function atOrAbove(sev: Severity | null, threshold: Severity): boolean {
  return sev !== null && SEVERITIES.indexOf(sev) >= SEVERITIES.indexOf(threshold);
}
