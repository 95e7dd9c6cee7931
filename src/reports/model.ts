// The versioned report model: one Analysis plus who ran what, when, on which evidence. Every
// renderer reads only this; schema/report.schema.json describes it (bump SCHEMA_VERSION with it).
import { packageInfo } from '../package-info.ts';
import type {
  Analysis,
  DumpString,
  Finding,
  HostIdentity,
  KernelInfo,
  PartialMark,
  ProcessRecord,
  Severity,
  VsmVerdict,
} from '../vsm/types.ts';
import { SEVERITIES } from '../vsm/types.ts';
import { withContext } from '../vsm/finding-context.ts';
import { wellFormed } from './sanitize.ts';

/** Semantic version of the JSON shape. Major: breaking; minor: additive. */
export const SCHEMA_VERSION = '2.0.0';
export const SCHEMA_ID = 'https://vsm-forensics.invalid/schema/report/2.0.0';

export interface ToolInfo {
  readonly name: string;
  readonly version: string;
  readonly commit?: string;
}

/** How this run was made (filled by the command, not by the analysis). */
export interface RunInfo {
  readonly commandLine: string;
  /** ISO-8601 UTC. */
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationMs: number;
  readonly case?: string;
  readonly examiner?: string;
  /** Host name of the machine that ran the analysis (not the imaged machine). */
  readonly host?: string;
  /** Defaults to this package's name and version. */
  readonly tool?: ToolInfo;
}

/** The evidence file as the command saw it. Plain values: the reports layer never opens a dump. */
export interface EvidenceInfo {
  readonly path: string;
  readonly fileName: string;
  readonly size: number;
  /** Lower-case hex SHA-256 of the whole file; null with --no-hash. */
  readonly sha256: string | null;
  readonly sha256ComputedAt: string | null;
  readonly mtime: string | null;
  /** src/dump's DumpFormat, e.g. 'crash-full', 'raw'. */
  readonly format: string;
  readonly formatName: string;
  /** Crash-dump header DumpType; null for raw images. */
  readonly dumpType: number | null;
  /** The header's SystemTime (ISO-8601 UTC), null when unset or absent. */
  readonly systemTime: string | null;
  readonly build: number | null;
  /** 'AMD64' etc., from the header's MachineImageType; null when unknown. */
  readonly machine: string | null;
  /** The header comment (from the evidence); a plain string is accepted and wrapped. */
  readonly comment: DumpString | string | null;
  readonly partialByNature: boolean;
}

export interface ReportEvidence extends Omit<EvidenceInfo, 'comment'> {
  readonly comment: DumpString | null;
}

export interface ReportSummary {
  readonly verdict: VsmVerdict;
  readonly processes: number;
  readonly secure: number;
  readonly trustlets: number;
  /** Processes with any PS_PROTECTION (PP or PPL). */
  readonly protected: number;
  readonly terminated: number;
  readonly unlinked: number;
  readonly findings: Readonly<Record<Severity, number>>;
  /** Highest finding severity, null when there is no finding. */
  readonly highestSeverity: Severity | null;
}

export interface Report {
  readonly schemaVersion: string;
  readonly tool: ToolInfo;
  readonly run: Omit<RunInfo, 'tool'>;
  readonly evidence: ReportEvidence;
  readonly summary: ReportSummary;
  readonly kernel: KernelInfo;
  /** The imaged machine (issue 14); absent only when the analysis predates it. */
  readonly host?: HostIdentity;
  readonly processes: readonly ProcessRecord[];
  readonly findings: readonly Finding[];
  readonly vsm: Analysis['vsm'];
  readonly partial: PartialMark;
  readonly capsHit: Analysis['capsHit'];
  readonly stats: Analysis['stats'];
  /** Loaded kernel modules; absent when internals were not walked. */
  readonly modules?: Analysis['modules'];
}

/** This package's name and version (from its package.json, wherever installed; the commit only when the caller knows it). */
export const DEFAULT_TOOL: ToolInfo = (() => {
  const pkg = packageInfo();
  return { name: pkg.name, version: pkg.version };
})();

export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

/**
 * Every string made well-formed UTF-16 (so it always encodes as UTF-8) and undefined members
 * dropped. Copy-on-write: an array or object nothing in which changes is returned as it is, so a
 * report over hundreds of thousands of handles does not hold a second copy of them.
 */
function clean<T>(v: T): T {
  if (typeof v === 'string') return wellFormed(v) as T;
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const c = clean(v[i]);
      if (out) out.push(c);
      else if (c !== v[i]) out = [...v.slice(0, i), c];
    }
    return (out ?? v) as T;
  }
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    let out: Record<string, unknown> | undefined;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      const x = o[k];
      const ck = wellFormed(k);
      const cx = x === undefined ? undefined : clean(x);
      if (!out && (x === undefined || ck !== k || cx !== x)) {
        // The first change: a copy of the members before it (each unchanged), then the rest.
        out = {};
        for (let j = 0; j < i; j++) out[keys[j]] = o[keys[j]];
      }
      if (out && cx !== undefined) out[ck] = cx;
    }
    return (out ?? v) as T;
  }
  return v;
}

export function summarize(analysis: Pick<Analysis, 'processes' | 'findings' | 'vsm'>): ReportSummary {
  const findings = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  let highest: Severity | null = null;
  for (const f of analysis.findings) {
    findings[f.severity]++;
    if (highest === null || severityRank(f.severity) > severityRank(highest)) highest = f.severity;
  }
  const p = analysis.processes;
  return {
    verdict: analysis.vsm.verdict,
    processes: p.length,
    secure: p.filter((x) => x.secure === true).length,
    trustlets: p.filter((x) => x.trustlet !== null).length,
    protected: p.filter((x) => x.protection !== null && x.protection.raw !== 0).length,
    terminated: p.filter((x) => x.terminated).length,
    unlinked: p.filter((x) => x.unlinked).length,
    findings,
    highestSeverity: highest,
  };
}

/**
 * Wraps an analysis in the versioned report. Pure: no clock, no file access; the caller passes
 * the run's times and the evidence facts. The result is marked partial when the evidence is
 * partial by nature or a cap was hit, even if the analysis did not say so itself.
 */
export function buildReport(analysis: Analysis, runInfo: RunInfo, evidenceInfo: EvidenceInfo): Report {
  const { tool = DEFAULT_TOOL, ...run } = runInfo;
  const comment = evidenceInfo.comment;
  const evidence: ReportEvidence = {
    ...evidenceInfo,
    comment: comment === null || comment === '' ? null : typeof comment === 'string' ? { text: comment } : comment,
  };

  const reasons = [...analysis.partial.reasons];
  if (evidenceInfo.partialByNature && !analysis.partial.partial && reasons.length === 0)
    reasons.push(`The evidence format (${evidenceInfo.formatName}) holds only part of memory.`);
  if (analysis.capsHit.length > 0 && !analysis.partial.partial && reasons.length === 0)
    reasons.push(`Analysis caps were hit: ${analysis.capsHit.map((c) => `${c.cap} (${c.limit})`).join(', ')}.`);
  const partial: PartialMark = {
    partial: analysis.partial.partial || evidenceInfo.partialByNature || analysis.capsHit.length > 0 || analysis.partial.missingRanges.length > 0,
    reasons,
    missingRanges: analysis.partial.missingRanges,
  };

  return clean({
    schemaVersion: SCHEMA_VERSION,
    tool,
    run,
    evidence,
    summary: summarize(analysis),
    kernel: analysis.kernel,
    host: hostOf(analysis.host, evidenceInfo),
    processes: analysis.processes,
    // Every finding carries its process context and guidance (an analysis made elsewhere may lack them).
    findings: withContext(analysis.findings, analysis.processes),
    vsm: analysis.vsm,
    partial,
    capsHit: analysis.capsHit,
    stats: analysis.stats,
    ...(analysis.modules !== undefined ? { modules: analysis.modules } : {}),
  });
}

/** The analysis's host identity, its dump time taken from the dump header when memory did not give one. */
function hostOf(host: HostIdentity | undefined, e: EvidenceInfo): HostIdentity | undefined {
  if (!host || host.dumpTime !== null || e.systemTime === null) return host;
  return { ...host, dumpTime: e.systemTime, dumpTimeSource: 'dump-header' };
}

/**
 * What identifies a process object in this evidence: its EPROCESS virtual address, or its physical
 * address when only a scan saw it and no pointer led back to a virtual one.
 */
export function processKey(p: { readonly eprocess: { readonly va: string | null; readonly pa: string | null } }): string {
  return p.eprocess.va ?? (p.eprocess.pa !== null ? `pa:${p.eprocess.pa}` : 'unknown');
}

/** The process a finding points at: by EPROCESS VA, then PA, then by PID when unambiguous. */
export function findingProcess(processes: readonly ProcessRecord[], f: Finding): ProcessRecord | undefined {
  const { eprocessVa, eprocessPa, pid } = f.evidence;
  if (eprocessVa) {
    const p = processes.find((x) => x.eprocess.va === eprocessVa);
    if (p) return p;
  }
  if (eprocessPa) {
    const p = processes.find((x) => x.eprocess.pa === eprocessPa);
    if (p) return p;
  }
  if (pid !== undefined) {
    const byPid = processes.filter((x) => x.pid === pid);
    if (byPid.length === 1) return byPid[0];
  }
  return undefined;
}
