// `vsm-forensics worker`: takes jobs from the queue and analyzes each evidence file (read from
// shared storage at the path the job names) into the output directory the job names.
// Recovery: a worker that dies mid-job stops renewing its job lock; after lockMs BullMQ's stalled
// check (any live worker runs it) puts the job back and another worker runs it. The dead worker's
// analyzer child dies with it (orphan-guard.mjs) and its temp directory is never renamed into
// place, so the result is written once, by the run that finished.
import { accessSync, constants as fsc, statSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { terminalText } from '../../reports/sanitize.ts';
import { cliAnalyzer, type AnalyzerCommand } from '../analyzer.ts';
import { rebuildFleetView } from '../fleet-view.ts';
import { removeStaleTmp } from '../layout.ts';
import { analyzeEvidence } from '../run-job.ts';
import type { EvidenceJob, ResultRecord } from '../types.ts';
import { cleanTmp, queueOutDirs } from './clean.ts';
import { redactUrl, workerClient } from './connection.ts';
import { parseJobData } from './job-data.ts';

export interface WorkerOptions {
  readonly redis: string;
  readonly queue: string;
  readonly concurrency?: number;
  /** Job lock duration: how long a dead worker's job waits before another worker takes it. */
  readonly lockMs?: number;
  readonly name?: string;
  readonly analyzer?: AnalyzerCommand;
  /** One line per event (start, done, failed, stalled…); default: stderr. */
  readonly log?: (line: string) => void;
}

/** What a completed job returns (BullMQ stores it as the job's return value). */
export interface JobReturn {
  readonly sha256: string;
  readonly status: ResultRecord['status'];
  readonly verdict: ResultRecord['verdict'];
  readonly analyzed: boolean;
  readonly committed: boolean;
  readonly worker: string;
}

export interface RunningWorker {
  readonly name: string;
  readonly worker: Worker<EvidenceJob, JobReturn>;
  /**
   * Graceful: stop taking jobs and wait for running analyses, at most `graceMs`; then (or at once
   * when forced, or when called again with force) kill them — their jobs stall and run elsewhere.
   * Resolves within the grace period plus REDIS_CLOSE_WAIT_MS whatever state Redis is in: the
   * queue connection is left once the analyses are settled, never waited on without bound.
   */
  close(force?: boolean, graceMs?: number): Promise<void>;
}

/** How long a stopping worker waits for Redis to take its last job states before it disconnects anyway. */
export const REDIS_CLOSE_WAIT_MS = 3000;
/** After the stop, how long open handles (BullMQ retrying a Redis that is gone) may keep the process before it exits anyway. */
const EXIT_LINGER_MS = 1000;

/**
 * SIGINT/SIGTERM once: stop taking jobs, give running analyses `graceMs`, then stop them. Twice:
 * stop them now. Resolves when the worker is closed; the process then exits even if BullMQ still
 * holds connections (Redis down), EXIT_LINGER_MS later at most.
 */
export async function stopOnSignals(w: RunningWorker, graceMs: number, say: (line: string) => void = (l) => process.stderr.write(l + '\n')): Promise<void> {
  await new Promise<void>((resolve) => {
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      signals++;
      if (signals === 1) {
        say(`worker ${w.name}: ${sig}: finishing running analyses for at most ${graceMs / 1000} s (signal again to stop them now)`);
        void w.close(false, graceMs).then(resolve);
      } else {
        say(`worker ${w.name}: ${sig}: stopping running analyses; their jobs will run again`);
        void w.close(true).then(resolve);
      }
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  setTimeout(() => process.exit(process.exitCode ?? 0), EXIT_LINGER_MS).unref();
}

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

export async function startWorker(o: WorkerOptions): Promise<RunningWorker> {
  const name = o.name ?? `${hostname()}:${process.pid}`;
  const log = o.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const say = (what: string) => log(`${new Date().toISOString()} worker ${name}: ${what}`);
  const analyzer = o.analyzer ?? cliAnalyzer();
  const lockMs = o.lockMs ?? 30_000;
  const abort = new AbortController();

  let lastErr = 0;
  const client = workerClient(o.redis, (e) => {
    const now = Date.now();
    if (now - lastErr > 10_000) say(`redis ${redactUrl(o.redis)}: ${e.message}`);
    lastErr = now;
  });

  // Fleet view rebuilds, at most one per output directory per second.
  const pendingViews = new Map<string, NodeJS.Timeout>();
  const scheduleView = (outDir: string) => {
    if (pendingViews.has(outDir)) return;
    pendingViews.set(
      outDir,
      setTimeout(() => {
        pendingViews.delete(outDir);
        try {
          rebuildFleetView(outDir);
        } catch (e) {
          say(`cannot rebuild the index of ${terminalText(outDir)}: ${(e as Error).message}`);
        }
      }, 1000),
    );
  };

  const running = new Set<Promise<unknown>>();
  const processJob = (job: Job<EvidenceJob, JobReturn>): Promise<JobReturn> => {
    const p = runJob(job);
    running.add(p);
    void p.catch(() => {}).finally(() => running.delete(p));
    return p;
  };
  const runJob = async (job: Job<EvidenceJob, JobReturn>): Promise<JobReturn> => {
    let data: EvidenceJob;
    try {
      data = parseJobData(job.data, job.id);
    } catch (e) {
      throw new UnrecoverableError((e as Error).message);
    }
    // Missing shared storage on this machine is this worker's problem, not the evidence's: retry
    // (elsewhere, or here once mounted) instead of recording the dump as bad.
    try {
      accessSync(data.outDir, fsc.W_OK);
    } catch {
      throw new Error(`output directory ${data.outDir} is not writable from ${hostname()}`);
    }
    try {
      accessSync(data.path, fsc.R_OK);
      if (statSync(data.path).size !== data.size) throw new Error('size changed');
    } catch (e) {
      throw new Error(`evidence ${data.path} is not readable from ${hostname()} as submitted (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    // Temp directories of workers that died on this host (cheap: one readdir).
    removeStaleTmp(data.outDir);
    const attempt = job.attemptsMade + 1;
    const final = attempt >= (job.opts.attempts ?? 1);
    const outcome = await analyzeEvidence(data, {
      analyzer,
      mode: 'queue',
      worker: name,
      attempt,
      commitRetryable: final,
      signal: abort.signal,
      onStart: () => say(`start ${data.sha256} attempt ${attempt} ${terminalText(data.path)}`),
      onSpawn: (pid) => say(`analyzer ${data.sha256} pid ${pid}`),
    });
    const rec = outcome.record;
    if (outcome.kind === 'skipped') say(`skip ${data.sha256}: already ${rec.status === 'ok' ? 'done' : 'failed'}`);
    else {
      const committed = outcome.committed ? 'committed' : rec === outcome.run ? 'not committed' : 'lost the race, result already there';
      say(`${outcome.run.status === 'ok' ? 'done' : 'failed'} ${data.sha256} ${outcome.run.verdict ?? outcome.run.error?.message ?? ''} in ${(outcome.run.timings.analyzeMs / 1000).toFixed(1)} s (${committed})`);
      scheduleView(data.outDir);
    }
    const failure = outcome.kind === 'analyzed' ? outcome.run : rec;
    if (failure.status === 'failed') {
      const msg = `${failure.error?.code ?? 'failed'}: ${failure.error?.message ?? ''}`;
      if (failure.retryable && !final && outcome.kind === 'analyzed') throw new Error(msg);
      throw new UnrecoverableError(msg);
    }
    return { sha256: data.sha256, status: rec.status, verdict: rec.verdict, analyzed: outcome.kind === 'analyzed', committed: outcome.kind === 'analyzed' && outcome.committed, worker: name };
  };

  const worker = new Worker<EvidenceJob, JobReturn>(o.queue, processJob, {
    connection: client,
    name,
    concurrency: Math.max(1, o.concurrency ?? availableParallelism()),
    lockDuration: lockMs,
    stalledInterval: lockMs,
    // A job whose worker died twice is more likely killing workers than unlucky: fail it.
    maxStalledCount: 2,
    autorun: true,
  });
  worker.on('failed', (job, err) => {
    if (job) say(`job ${job.id} attempt ${job.attemptsMade} failed: ${err.message}`);
  });
  worker.on('stalled', (jobId) => say(`job ${jobId} stalled (its worker stopped renewing the lock); queued again`));
  worker.on('error', (e) => {
    const now = Date.now();
    if (now - lastErr > 10_000) say(`error: ${e.message}`);
    lastErr = now;
  });
  await worker.waitUntilReady();
  say(`ready: queue ${o.queue} on ${redactUrl(o.redis)}, concurrency ${worker.concurrency}, lock ${lockMs} ms`);
  // Temp directories a killed worker of this host left in the output directories the queue names.
  // In the background: the caller installs its signal handling as soon as the worker is ready.
  const queue = new Queue<EvidenceJob>(o.queue, { connection: client });
  void (async () => {
    try {
      const cleaned = cleanTmp(await Promise.race([queueOutDirs(queue), delay(REDIS_CLOSE_WAIT_MS).then(() => [])]));
      const n = cleaned.reduce((s, c) => s + c.removed, 0);
      if (n) say(`removed ${n} temp director${n === 1 ? 'y' : 'ies'} of dead workers`);
    } catch (e) {
      say(`cannot list the queue's output directories: ${(e as Error).message}`);
    } finally {
      void queue.close().catch(() => {});
    }
  })();

  let closing: Promise<void> | null = null;
  const aborted = new Promise<void>((r) => abort.signal.addEventListener('abort', () => r(), { once: true }));
  const close = async (force = false, graceMs = Infinity) => {
    if (force) abort.abort();
    closing ??= (async () => {
      // Stop taking jobs; BullMQ's own close needs Redis, so it is never awaited without a bound.
      const bull = worker.close(force).catch(() => {});
      // Running analyses: wait for them, at most the grace period (or until forced), then kill them.
      const settled = () => Promise.all([...running].map((p) => p.catch(() => {})));
      const grace = Number.isFinite(graceMs) ? delay(graceMs) : new Promise<void>(() => {});
      await Promise.race([settled(), grace, aborted]);
      if (running.size) {
        abort.abort();
        await settled();
      }
      await Promise.race([bull, delay(abort.signal.aborted ? 0 : REDIS_CLOSE_WAIT_MS)]);
      for (const [dir, t] of pendingViews) {
        clearTimeout(t);
        try {
          rebuildFleetView(dir);
        } catch {
          /* best effort on the way out */
        }
      }
      pendingViews.clear();
      if (client.status === 'ready') await Promise.race([client.quit().catch(() => {}), delay(abort.signal.aborted ? 0 : REDIS_CLOSE_WAIT_MS)]);
      client.disconnect();
      void worker.disconnect().catch(() => {});
    })();
    return closing;
  };
  return { name, worker, close };
}
