// TEST DOUBLE ONLY: a queue worker process whose analyzer is test/helpers/fake-analyze.ts, for
// plumbing tests before or beside the real one. Args: REDIS_URL QUEUE NAME LOCK_MS.
import { fileURLToPath } from 'node:url';
import { ORPHAN_GUARD } from '../../src/batch/analyzer.ts';
import { startWorker } from '../../src/batch/queue/worker.ts';

const [redis, queue, name, lockMs] = process.argv.slice(2);
const w = await startWorker({
  redis,
  queue,
  name,
  concurrency: 1,
  lockMs: Number(lockMs),
  analyzer: { command: process.execPath, args: ['--import', ORPHAN_GUARD, '--import', 'tsx', fileURLToPath(new URL('./fake-analyze.ts', import.meta.url))] },
});
process.on('SIGTERM', () => void w.close(false).then(() => process.exit(0)));
