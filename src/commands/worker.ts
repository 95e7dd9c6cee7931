// `vsm-forensics worker [--concurrency N] [--grace S]`: analyze queued dumps until stopped.
// SIGINT/SIGTERM once: finish running analyses for at most --grace seconds, then stop them and exit.
// Twice: stop them now (their jobs retry). Either way the exit never waits on Redis without bound:
// with Redis stopped or unreachable the worker still leaves within its grace period.
import { startWorker, stopOnSignals } from '../batch/queue/worker.ts';
import { ExitCode, UsageError } from '../errors.ts';

/** Default grace period: under the systemd unit's TimeoutStopSec (30 min), so the worker, not systemd, ends the analyses. */
export const DEFAULT_GRACE_SEC = 25 * 60;
const MAX_GRACE_SEC = 24 * 3600;

export async function run(argv: Record<string, unknown>): Promise<number> {
  const concurrency = argv.concurrency as number | undefined;
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256)) throw new UsageError('--concurrency must be an integer from 1 to 256');
  const lockMs = argv.lockDuration as number;
  if (!Number.isInteger(lockMs) || lockMs < 1000) throw new UsageError('--lock-duration must be at least 1000 ms');
  const grace = (argv.grace as number | undefined) ?? DEFAULT_GRACE_SEC;
  if (!Number.isFinite(grace) || grace < 0 || grace > MAX_GRACE_SEC) throw new UsageError(`--grace must be a number of seconds from 0 to ${MAX_GRACE_SEC}`);
  const quiet = argv.quiet === true;
  const w = await startWorker({
    redis: argv.redis as string,
    queue: argv.queue as string,
    concurrency,
    lockMs,
    name: argv.name as string | undefined,
    log: quiet ? () => {} : undefined,
  });
  await stopOnSignals(w, grace * 1000);
  return ExitCode.Ok;
}
