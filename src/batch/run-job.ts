// One unit of work, shared by `batch` and the queue worker: analyze one evidence file into
// DIR/<sha256>/ — unless a settled result is already there — and record how it went in result.json.
import { rmSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ExitCode } from '../errors.ts';
import { DEFAULT_TOOL } from '../reports/model.ts';
import { runAnalyzer, type AnalyzerCommand, type AnalyzerRun, type KnownHash } from './analyzer.ts';
import { commitResult, fileSizes, isSettled, makeTmpDir, readResult, writeFileDurable } from './layout.ts';
import { emptyFindings, readReportSummary, type ReportSummary } from './summary.ts';
import { RESULT_FILES, type EvidenceJob, type ResultRecord } from './types.ts';

export interface JobContext {
  readonly analyzer: AnalyzerCommand;
  readonly mode: 'batch' | 'queue';
  readonly worker?: string;
  readonly attempt?: number;
  /** Re-analyze even when a settled result exists. */
  readonly force?: boolean;
  /**
   * Whether to commit a retryable failure (a crash, a timeout, missing symbols). The queue keeps
   * retryable failures uncommitted until its last attempt, so retries start from a clean slate.
   */
  readonly commitRetryable?: boolean;
  readonly signal?: AbortSignal;
  readonly onStart?: (job: EvidenceJob) => void;
  readonly onSpawn?: (pid: number) => void;
}

export type JobOutcome =
  /** A settled result was already there; nothing ran. */
  | { readonly kind: 'skipped'; readonly record: ResultRecord }
  /** The analysis ran; `committed` false when another runner's result won the race (then `record` is theirs). */
  | { readonly kind: 'analyzed'; readonly record: ResultRecord; readonly committed: boolean; readonly run: ResultRecord };

/** How an analyzer exit maps to a result: failure code, and whether a rerun could cure it. */
function classify(run: AnalyzerRun, summary: ReportSummary | null, job: EvidenceJob): { error: ResultRecord['error']; retryable: boolean } {
  const msg = (fallback: string) => run.message ?? fallback;
  if (run.aborted) return { error: { code: 'batch.aborted', message: 'stopped before the analysis finished' }, retryable: true };
  if (run.timedOut) return { error: { code: 'batch.timeout', message: `no result after ${job.options.timeoutSec} s` }, retryable: true };
  if (run.exitCode === null) return { error: { code: 'batch.killed', message: `the analyzer was killed by ${run.signal ?? 'a signal'}` }, retryable: true };
  switch (run.exitCode) {
    case ExitCode.Ok:
    case ExitCode.Finding:
      if (!summary) return { error: { code: 'batch.no-report', message: 'the analyzer exited without a readable JSON report' }, retryable: true };
      if (summary.sha256 !== null && summary.sha256 !== job.sha256)
        return { error: { code: 'batch.evidence-changed', message: `the evidence now hashes to ${summary.sha256}, not ${job.sha256}` }, retryable: false };
      return { error: null, retryable: false };
    case ExitCode.BadInput:
      return { error: { code: 'bad-input', message: msg('bad input') }, retryable: false };
    case ExitCode.Unsupported:
      return { error: { code: 'unsupported', message: msg('unsupported input') }, retryable: false };
    case ExitCode.SymbolsNeeded:
      // Cured by adding symbols and running again.
      return { error: { code: 'symbols.needed', message: msg('kernel symbols needed') }, retryable: true };
    case ExitCode.Usage:
      return { error: { code: 'usage', message: msg('the analyzer rejected its arguments') }, retryable: false };
    default:
      return { error: { code: 'internal', message: msg(`the analyzer exited with code ${run.exitCode}`) }, retryable: true };
  }
}

/**
 * The job's SHA-256, to be recorded by the analysis without hashing again, when the file still has
 * the size it was hashed at and has not been modified since (else undefined: the analysis hashes it,
 * and a different hash fails the job as batch.evidence-changed).
 */
export function hashStillValid(job: EvidenceJob, size: number, mtime: Date): KnownHash | undefined {
  if (job.sha256At === undefined || size !== job.size) return undefined;
  const at = Date.parse(job.sha256At);
  return Number.isFinite(at) && mtime.getTime() <= at ? { sha256: job.sha256, at: job.sha256At } : undefined;
}

/** Analyzes `job` into its result directory (see layout.ts); never throws for a failed analysis. */
export async function analyzeEvidence(job: EvidenceJob, ctx: JobContext): Promise<JobOutcome> {
  const existing = readResult(job.outDir, job.sha256);
  if (!ctx.force && isSettled(existing)) return { kind: 'skipped', record: existing };
  ctx.onStart?.(job);

  const tmp = makeTmpDir(job.outDir, job.sha256);
  const startedAt = new Date().toISOString();
  let mtime: string | null = null;
  let hash: KnownHash | undefined;
  try {
    const st = statSync(job.path);
    mtime = st.mtime.toISOString();
    hash = hashStillValid(job, st.size, st.mtime);
  } catch {
    /* the analyzer will say why it cannot open the file */
  }
  let run: AnalyzerRun;
  try {
    run = await runAnalyzer(ctx.analyzer, job.path, tmp, job.options, { signal: ctx.signal, onSpawn: ctx.onSpawn, hash });
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  const summary = run.exitCode === ExitCode.Ok || run.exitCode === ExitCode.Finding ? readReportSummary(join(tmp, RESULT_FILES.report)) : null;
  const { error, retryable } = classify(run, summary, job);
  const failedOrNone = error !== null;
  const files = fileSizes(tmp);
  delete files[RESULT_FILES.result];
  const record: ResultRecord = {
    schema: 'vsm-forensics/batch-result',
    schemaVersion: 1,
    sha256: job.sha256,
    evidence: { path: job.path, size: job.size, mtime },
    status: failedOrNone ? 'failed' : 'ok',
    exitCode: run.exitCode,
    signal: run.signal,
    error,
    retryable,
    verdict: failedOrNone ? null : (summary?.verdict ?? null),
    findings: failedOrNone ? emptyFindings() : (summary?.findings ?? emptyFindings()),
    maxSeverity: failedOrNone ? null : (summary?.maxSeverity ?? null),
    partial: failedOrNone ? null : (summary?.partial ?? null),
    processes: failedOrNone ? null : (summary?.processes ?? null),
    files,
    timings: { queuedAt: job.queuedAt, startedAt, finishedAt: new Date().toISOString(), analyzeMs: run.ms },
    runner: { mode: ctx.mode, host: hostname(), pid: process.pid, worker: ctx.worker ?? null, attempt: ctx.attempt ?? 1 },
    options: job.options,
    command: run.argv,
    toolVersion: DEFAULT_TOOL.version,
  };

  if (record.status === 'failed' && retryable && ctx.commitRetryable === false) {
    rmSync(tmp, { recursive: true, force: true });
    return { kind: 'analyzed', record, committed: false, run: record };
  }
  writeFileDurable(join(tmp, RESULT_FILES.result), JSON.stringify(record, null, 2) + '\n');
  // Replace what is there only when it is unsettled (a retryable failure) or when forced.
  const outcome = commitResult(tmp, job.outDir, job.sha256, (old) => old === null || !isSettled(old) || ctx.force === true);
  if (outcome.committed) return { kind: 'analyzed', record, committed: true, run: record };
  return { kind: 'analyzed', record: outcome.existing, committed: false, run: record };
}
