// Temp directories (.tmp under an output directory) that killed workers left behind: a worker
// that dies mid-job never renames its temp directory into place. Each is named host-pid-…; only
// this host's, of processes no longer running, are removed (another host's may be alive). Run by
// every starting worker over the output directories its queue names, before each job, and by
// `queue status --clean`.
import type { Queue } from 'bullmq';
import { removeStaleTmp } from '../layout.ts';
import type { EvidenceJob } from '../types.ts';

/** Output directories (from the queue's jobs) a starting worker cleans of dead workers' temp directories. */
export const MAX_CLEAN_DIRS = 64;
/** Jobs read from the queue to find those directories. */
const MAX_JOBS_SCANNED = 1000;

/** Output directories named by the queue's jobs (bounded), for cleaning temp leftovers. */
export async function queueOutDirs(queue: Queue<EvidenceJob>): Promise<string[]> {
  const dirs = new Set<string>();
  for (const j of await queue.getJobs(['waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed'], 0, MAX_JOBS_SCANNED - 1)) {
    const d: unknown = j?.data?.outDir;
    if (typeof d === 'string' && d.startsWith('/') && dirs.size < MAX_CLEAN_DIRS) dirs.add(d);
  }
  return [...dirs];
}

/** Removes this host's dead workers' temp directories under each directory; what was removed, by directory. */
export function cleanTmp(dirs: readonly string[]): { dir: string; removed: number }[] {
  return dirs.map((dir) => {
    try {
      return { dir, removed: removeStaleTmp(dir) };
    } catch {
      return { dir, removed: 0 };
    }
  });
}

