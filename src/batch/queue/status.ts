// `queue status`: job counts, connected workers, running and failed jobs.
import { Queue } from 'bullmq';
import type { EvidenceJob } from '../types.ts';
import { cleanTmp, queueOutDirs } from './clean.ts';
import { connectClient } from './connection.ts';

export interface QueueStatus {
  readonly queue: string;
  readonly counts: Record<string, number>;
  readonly workers: { readonly name: string; readonly addr: string; readonly ageSec: number; readonly idleSec: number }[];
  readonly active: { readonly sha256: string; readonly path: string; readonly worker: string | null; readonly startedAt: string | null; readonly attempt: number }[];
  readonly failed: { readonly sha256: string; readonly path: string; readonly reason: string; readonly attempts: number; readonly finishedAt: string | null }[];
  readonly paused: boolean;
  /** With `clean`: this host's dead workers' temp directories removed, per output directory the queue names. */
  readonly cleaned?: { readonly dir: string; readonly removed: number }[];
}

const iso = (ms: number | undefined | null) => (ms ? new Date(ms).toISOString() : null);

export async function queueStatus(redis: string, name: string, limit = 50, opts: { clean?: boolean } = {}): Promise<QueueStatus> {
  const client = await connectClient(redis);
  const queue = new Queue<EvidenceJob>(name, { connection: client });
  try {
    const counts = await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed');
    const workers = (await queue.getWorkers()).map((w) => {
      const raw = String(w.rawname ?? w.name ?? '');
      const i = raw.indexOf(':w:');
      return { name: i >= 0 ? raw.slice(i + 3) : raw, addr: String(w.addr ?? ''), ageSec: Number(w.age ?? 0), idleSec: Number(w.idle ?? 0) };
    });
    const active = (await queue.getActive(0, limit - 1)).map((j) => ({
      sha256: String(j.id),
      path: String(j.data?.path ?? ''),
      worker: j.processedBy ?? null,
      startedAt: iso(j.processedOn),
      attempt: j.attemptsMade + 1,
    }));
    const failed = (await queue.getFailed(0, limit - 1)).map((j) => ({
      sha256: String(j.id),
      path: String(j.data?.path ?? ''),
      reason: String(j.failedReason ?? ''),
      attempts: j.attemptsMade,
      finishedAt: iso(j.finishedOn),
    }));
    const cleaned = opts.clean ? cleanTmp(await queueOutDirs(queue)) : undefined;
    return { queue: name, counts, workers, active, failed, paused: await queue.isPaused(), ...(cleaned ? { cleaned } : {}) };
  } finally {
    await queue.close();
    await client.quit().catch(() => client.disconnect());
  }
}
