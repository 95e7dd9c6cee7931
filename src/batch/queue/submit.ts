// `queue submit`: hash each evidence file here (the submitter reads it once; Redis never sees its
// bytes) and queue one job per SHA-256. The job id is the hash, so the same evidence submitted
// twice — from two paths, two machines, or twice in a row — is one job; a settled result in the
// output directory means no job at all.
import { mkdirSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { availableParallelism } from 'node:os';
import { Queue } from 'bullmq';
import { discoverEvidence } from '../discover.ts';
import { sha256File } from '../hash.ts';
import { isSettled, readResult } from '../layout.ts';
import { runPool } from '../pool.ts';
import type { AnalyzeOptions, EvidenceJob } from '../types.ts';
import { connectClient, JOB_NAME } from './connection.ts';

export interface SubmitOptions {
  readonly redis: string;
  readonly queue: string;
  readonly outDir: string;
  readonly options: AnalyzeOptions;
  /** Attempts per job, retries included (retries back off exponentially from `backoffMs`). */
  readonly attempts: number;
  readonly backoffMs: number;
  /** BullMQ priority: 1 is the highest; absent = ordinary FIFO. */
  readonly priority?: number;
}

export type SubmitOutcome =
  /** A new job. */
  | 'queued'
  /** A job for this evidence is already waiting, delayed or running. */
  | 'already-queued'
  /** The output directory already holds a settled result. */
  | 'already-done'
  /** A failed job for this evidence was retried. */
  | 'retried'
  /** A completed job whose result is missing from the output directory was queued again. */
  | 'requeued'
  /** Another file of this submission has the same content (same SHA-256): one job for both. */
  | 'duplicate';

export interface SubmittedItem {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
  readonly outcome: SubmitOutcome;
  /** For already-queued: the job's state and the output directory it writes to. */
  readonly state?: string;
  readonly jobOutDir?: string;
}

export async function submitEvidence(inputs: readonly string[], o: SubmitOptions, onItem?: (i: SubmittedItem) => void): Promise<{ items: SubmittedItem[]; skippedFiles: { path: string; reason: string }[] }> {
  mkdirSync(o.outDir, { recursive: true });
  const outDir = realpathSync(resolve(o.outDir));
  const { files, skipped } = discoverEvidence(inputs, [outDir]);
  const client = await connectClient(o.redis);
  const queue = new Queue<EvidenceJob>(o.queue, { connection: client });
  const items: SubmittedItem[] = [];
  const seen = new Set<string>();
  try {
    // Hashing is the submitter's cost (it reads every byte once); a few files at a time, and each
    // job is queued as soon as its hash is known, so workers start before the last file is read.
    await runPool(files, Math.min(4, availableParallelism()), async (f) => {
      const sha256 = await sha256File(f.path);
      const sha256At = new Date().toISOString();
      const base = { path: f.path, size: f.size, sha256 };
      let item: SubmittedItem;
      if (seen.has(sha256)) {
        item = { ...base, outcome: 'duplicate' };
      } else if ((seen.add(sha256), isSettled(readResult(outDir, sha256)))) {
        item = { ...base, outcome: 'already-done' };
      } else {
        const data: EvidenceJob = { path: f.path, sha256, sha256At, size: f.size, outDir, options: o.options, queuedAt: new Date().toISOString() };
        const opts = {
          jobId: sha256,
          attempts: o.attempts,
          backoff: { type: 'exponential' as const, delay: o.backoffMs },
          ...(o.priority !== undefined ? { priority: o.priority } : {}),
        };
        const existing = await queue.getJob(sha256);
        const state = existing ? await existing.getState() : null;
        if (!existing || state === 'unknown') {
          await queue.add(JOB_NAME, data, opts);
          item = { ...base, outcome: 'queued' };
        } else if (state === 'failed') {
          await existing.retry('failed');
          item = { ...base, outcome: 'retried', jobOutDir: existing.data.outDir };
        } else if (state === 'completed') {
          // Completed, yet no settled result here: the output was deleted, or it went elsewhere.
          await existing.remove();
          await queue.add(JOB_NAME, data, opts);
          item = { ...base, outcome: 'requeued' };
        } else {
          item = { ...base, outcome: 'already-queued', state: state ?? undefined, jobOutDir: existing.data?.outDir };
        }
      }
      items.push(item);
      onItem?.(item);
    });
  } finally {
    await queue.close();
    await client.quit().catch(() => client.disconnect());
  }
  items.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { items, skippedFiles: skipped };
}
