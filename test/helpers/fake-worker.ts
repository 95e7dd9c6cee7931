// A queue worker process whose analyzer is the TEST DOUBLE (test/helpers/fake-analyze.ts: a file
// starting with "HANG" never finishes), stopped by the product's own signal handling
// (stopOnSignals): lets a test hold a job running while it stops Redis and signals the worker.
//   node --import tsx test/helpers/fake-worker.ts REDIS_URL QUEUE GRACE_MS
import { fileURLToPath } from 'node:url';
import { startWorker, stopOnSignals } from '../../src/batch/queue/worker.ts';

const [redis, queue, graceMs] = process.argv.slice(2);
const FAKE = fileURLToPath(new URL('./fake-analyze.ts', import.meta.url));
const w = await startWorker({ redis: redis!, queue: queue!, concurrency: 1, lockMs: 5000, name: 'fake-worker', analyzer: { command: process.execPath, args: ['--import', 'tsx', FAKE] } });
await stopOnSignals(w, Number(graceMs));
