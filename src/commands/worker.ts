// `vsm-forensics worker [--concurrency N]`: analyze queued dumps until stopped.
// SIGINT/SIGTERM once: finish running analyses, then exit. Twice: stop them now (their jobs retry).
import { startWorker } from '../batch/queue/worker.ts';
import { ExitCode, UsageError } from '../errors.ts';

export async function run(argv: Record<string, unknown>): Promise<number> {
  const concurrency = argv.concurrency as number | undefined;
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256)) throw new UsageError('--concurrency must be an integer from 1 to 256');
  const lockMs = argv.lockDuration as number;
  if (!Number.isInteger(lockMs) || lockMs < 1000) throw new UsageError('--lock-duration must be at least 1000 ms');
  const quiet = argv.quiet === true;
  const w = await startWorker({
    redis: argv.redis as string,
    queue: argv.queue as string,
    concurrency,
    lockMs,
    name: argv.name as string | undefined,
    log: quiet ? () => {} : undefined,
  });
  await new Promise<void>((resolve) => {
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      signals++;
      if (signals === 1) {
        process.stderr.write(`worker ${w.name}: ${sig}: finishing running analyses (signal again to stop them now)\n`);
        void w.close(false).then(resolve);
      } else {
        process.stderr.write(`worker ${w.name}: ${sig}: stopping running analyses; their jobs will run again\n`);
        void w.close(true).then(resolve);
      }
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  return ExitCode.Ok;
}
