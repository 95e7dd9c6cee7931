// `vsm-forensics batch` on one machine: discover evidence, hash each file, skip those whose SHA-256
// already has a settled result, analyze the rest in a pool of N child processes, rebuild the fleet
// view. Hashing of the next file overlaps the analysis of the previous ones (same pool lane).
import { availableParallelism } from 'node:os';
import { mkdirSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { cliAnalyzer, type AnalyzerCommand } from './analyzer.ts';
import { discoverEvidence, type Candidate } from './discover.ts';
import { rebuildFleetView, type FleetView } from './fleet-view.ts';
import { sha256File } from './hash.ts';
import { removeStaleTmp } from './layout.ts';
import { runPool } from './pool.ts';
import { progressBar, type Progress } from './progress.ts';
import { analyzeEvidence } from './run-job.ts';
import type { AnalyzeOptions, EvidenceJob, ResultRecord } from './types.ts';

export interface BatchOptions {
  readonly inputs: readonly string[];
  readonly outDir: string;
  /** Parallel analyses (default: the core count). */
  readonly jobs?: number;
  readonly options?: AnalyzeOptions;
  readonly force?: boolean;
  readonly analyzer?: AnalyzerCommand;
  readonly progress?: Progress;
}

export type ItemOutcome = 'analyzed' | 'skipped' | 'duplicate' | 'unreadable';

export interface BatchItem {
  readonly path: string;
  readonly size: number;
  readonly sha256: string | null;
  readonly outcome: ItemOutcome;
  /** The result for this evidence (for a duplicate: the first copy's). */
  readonly record: ResultRecord | null;
  /** Why the file could not even be hashed. */
  readonly error?: string;
}

export interface BatchSummary {
  readonly outDir: string;
  readonly items: BatchItem[];
  readonly skippedFiles: { readonly path: string; readonly reason: string }[];
  readonly analyzed: number;
  readonly skipped: number;
  readonly duplicates: number;
  /** Failed analyses among this batch's files (including settled failures from earlier runs). */
  readonly failed: number;
  readonly unreadable: number;
  readonly bytes: number;
  readonly wallMs: number;
  readonly hashMs: number;
  readonly view: FleetView;
}

export async function runBatch(o: BatchOptions): Promise<BatchSummary> {
  const t0 = performance.now();
  mkdirSync(o.outDir, { recursive: true });
  const outDir = realpathSync(resolve(o.outDir));
  removeStaleTmp(outDir);
  const { files, skipped: skippedFiles } = discoverEvidence(o.inputs, [outDir]);
  const analyzer = o.analyzer ?? cliAnalyzer();
  const progress = o.progress ?? progressBar();
  const jobs = Math.max(1, o.jobs ?? availableParallelism());

  const total = files.length;
  const bytesTotal = files.reduce((a, f) => a + f.size, 0) * 2;
  let bytesDone = 0;
  let done = 0;
  let running = 0;
  let failed = 0;
  let skippedCount = 0;
  let hashMs = 0;
  const tick = () => progress.update({ total, done, running, failed, skipped: skippedCount, bytesDone, bytesTotal });
  tick();

  // The first file with a given hash is analyzed; later copies wait for it and share its result.
  const firstBySha = new Map<string, Promise<ResultRecord | null>>();

  const one = async (f: Candidate): Promise<BatchItem> => {
    let sha: string;
    let shaAt: string;
    const h0 = performance.now();
    try {
      sha = await sha256File(f.path, (n) => {
        bytesDone += n;
        tick();
      });
      shaAt = new Date().toISOString();
    } catch (e) {
      done++;
      failed++;
      bytesDone += f.size;
      tick();
      return { path: f.path, size: f.size, sha256: null, outcome: 'unreadable', record: null, error: (e as NodeJS.ErrnoException).code ?? (e as Error).message };
    } finally {
      hashMs += performance.now() - h0;
    }
    const first = firstBySha.get(sha);
    if (first) {
      const record = await first;
      done++;
      skippedCount++;
      bytesDone += f.size;
      tick();
      return { path: f.path, size: f.size, sha256: sha, outcome: 'duplicate', record };
    }
    let settle!: (r: ResultRecord | null) => void;
    firstBySha.set(sha, new Promise((r) => (settle = r)));
    const job: EvidenceJob = { path: f.path, sha256: sha, sha256At: shaAt, size: f.size, outDir, options: o.options ?? {}, queuedAt: new Date().toISOString() };
    try {
      const outcome = await analyzeEvidence(job, {
        analyzer,
        mode: 'batch',
        force: o.force,
        onStart: () => {
          running++;
          tick();
        },
      });
      if (outcome.kind === 'analyzed') running--;
      else skippedCount++;
      if (outcome.record.status === 'failed') failed++;
      settle(outcome.record);
      return { path: f.path, size: f.size, sha256: sha, outcome: outcome.kind, record: outcome.record };
    } catch (e) {
      settle(null);
      throw e;
    } finally {
      done++;
      bytesDone += f.size;
      tick();
    }
  };

  let items: BatchItem[];
  try {
    items = await runPool(files, jobs, one);
  } finally {
    progress.end();
  }
  const view = rebuildFleetView(outDir);
  return {
    outDir,
    items,
    skippedFiles,
    analyzed: items.filter((i) => i.outcome === 'analyzed').length,
    skipped: items.filter((i) => i.outcome === 'skipped').length,
    duplicates: items.filter((i) => i.outcome === 'duplicate').length,
    failed: items.filter((i) => i.outcome !== 'duplicate' && (i.outcome === 'unreadable' || i.record?.status === 'failed')).length,
    unreadable: items.filter((i) => i.outcome === 'unreadable').length,
    bytes: files.reduce((a, f) => a + f.size, 0),
    wallMs: Math.round(performance.now() - t0),
    hashMs: Math.round(hashMs),
    view,
  };
}
