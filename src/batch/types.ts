// The fleet job model. One unit of work: analyze one evidence file into its result directory
// OUT/<evidence sha256>/. The same shape travels through Redis as BullMQ job data (metadata only:
// paths, hash, options — never evidence bytes).
import type { Severity, VsmVerdict } from '../vsm/types.ts';

/** `analyze` options a job carries; everything else about a run is fixed so results compare. */
export interface AnalyzeOptions {
  readonly symbols?: readonly string[];
  readonly symbolServer?: string;
  /** false = --no-scan. */
  readonly scan?: boolean;
  readonly case?: string;
  readonly examiner?: string;
  /** Kill the analysis after this many seconds (0 or absent: no limit). */
  readonly timeoutSec?: number;
}

export interface EvidenceJob {
  /** Absolute path of the evidence, as every worker sees it (shared storage). */
  readonly path: string;
  /** Lower-case hex SHA-256 of the evidence: the job id and the result directory's name. */
  readonly sha256: string;
  /**
   * ISO-8601 UTC, when `sha256` was computed (batch, queue submit). With it the analysis records this
   * hash instead of reading the evidence again to compute it; without it (older jobs) it hashes.
   */
  readonly sha256At?: string;
  readonly size: number;
  /** Absolute output directory; the result goes to `${outDir}/${sha256}/`. */
  readonly outDir: string;
  readonly options: AnalyzeOptions;
  /** ISO-8601 UTC, when the job was queued (queue) or found (batch). */
  readonly queuedAt: string;
}

export type ResultStatus = 'ok' | 'failed';

/** DIR/<sha256>/result.json: how one analysis went. Written last, inside the temp dir, before the rename. */
export interface ResultRecord {
  readonly schema: 'vsm-forensics/batch-result';
  readonly schemaVersion: 1;
  readonly sha256: string;
  readonly evidence: { readonly path: string; readonly size: number; readonly mtime: string | null };
  readonly status: ResultStatus;
  /** analyze's exit code; null when it was killed by a signal or never started. */
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** Why it failed: a stable code and analyze's one-line message. */
  readonly error: { readonly code: string; readonly message: string } | null;
  /** A failure that a rerun might cure (symbols added, a crash, a timeout): reruns try again. */
  readonly retryable: boolean;
  readonly verdict: VsmVerdict | null;
  /** Finding counts by severity (all zero on failure). */
  readonly findings: Readonly<Record<Severity, number>>;
  readonly maxSeverity: Severity | null;
  readonly partial: boolean | null;
  readonly processes: number | null;
  /** The files of this result directory, with sizes. */
  readonly files: Readonly<Record<string, number>>;
  readonly timings: {
    readonly queuedAt: string;
    readonly startedAt: string;
    readonly finishedAt: string;
    readonly analyzeMs: number;
  };
  readonly runner: {
    readonly mode: 'batch' | 'queue';
    readonly host: string;
    readonly pid: number;
    readonly worker: string | null;
    readonly attempt: number;
  };
  readonly options: AnalyzeOptions;
  /** The analyze command line (argv after the node binary), for the record. */
  readonly command: readonly string[];
  readonly toolVersion: string;
}

/** The files a result directory holds. */
export const RESULT_FILES = {
  report: 'report.json',
  events: 'events.ndjson',
  html: 'report.html',
  terminal: 'report.txt',
  log: 'analyze.log',
  result: 'result.json',
} as const;

export const SHA256_RE = /^[0-9a-f]{64}$/;
