// `vsm-forensics worker [--concurrency N] [--grace S]`: analyze queued dumps until stopped.
// SIGINT/SIGTERM once: finish running analyses for at most --grace seconds, then stop them and exit.
// Twice: stop them now (their jobs retry). Either way the exit never waits on Redis without bound:
// with Redis stopped or unreachable the worker still leaves within its grace period.
import type { Argv } from 'yargs';
import { startWorker, stopOnSignals } from '../batch/queue/worker.ts';
import { QUEUE_OPTIONS } from '../batch/queue/cli-options.ts';
import { ExitCode, UsageError } from '../errors.ts';
import { checkInteger, exitWith, tableCheck, type ArgvOf, type GlobalArgs, type OptionTable } from './args.ts';
import { entry } from './catalogue.ts';

/** Default grace period: under the systemd unit's TimeoutStopSec (30 min), so the worker, not systemd, ends the analyses. */
export const DEFAULT_GRACE_SEC = 25 * 60;
const MAX_GRACE_SEC = 24 * 3600;

export const WORKER_OPTIONS = {
  ...QUEUE_OPTIONS,
  concurrency: { alias: 'c', type: 'number', requiresArg: true, describe: 'Analyses at once, 1 to 256 (default: the number of cores)' },
  name: { type: 'string', requiresArg: true, describe: 'Worker name in queue status (default: host:pid)' },
  'lock-duration': { type: 'number', default: 30000, requiresArg: true, describe: 'Job lock in ms (at least 1000): a dead worker’s job runs elsewhere after this long' },
  grace: {
    type: 'number',
    default: DEFAULT_GRACE_SEC,
    requiresArg: true,
    describe: `Seconds running analyses may take to finish after SIGTERM before they are stopped (0 to ${MAX_GRACE_SEC})`,
  },
} as const satisfies OptionTable;

const builder = (y: Argv<GlobalArgs>) =>
  y
    .options(WORKER_OPTIONS)
    .check(tableCheck(WORKER_OPTIONS))
    .check((a) => {
      checkInteger('concurrency', a.concurrency, 1, 256);
      checkInteger('lock-duration', a['lock-duration'], 1000, 2 ** 31 - 1);
      if (a.grace < 0 || a.grace > MAX_GRACE_SEC) throw new UsageError(`--grace must be a number of seconds from 0 to ${MAX_GRACE_SEC}`);
      return true;
    })
    .example('$0 worker --redis redis://queue:6379 --concurrency 2', 'two analyses at once until SIGTERM')
    .example('$0 worker --grace 60', 'after SIGTERM, give running analyses one minute, then stop them (their jobs retry)');

export type WorkerArgs = ArgvOf<typeof builder>;

const { command, describe } = entry('worker');
export const cli = {
  options: WORKER_OPTIONS,
  register: (y: Argv<GlobalArgs>) => y.command({ command, describe, builder, handler: exitWith((a: WorkerArgs) => run(a)) }),
};

export async function run(argv: WorkerArgs): Promise<number> {
  const { concurrency, grace } = argv;
  const lockMs = argv.lockDuration;
  const quiet = argv.quiet === true;
  const w = await startWorker({
    redis: argv.redis,
    queue: argv.queue,
    concurrency,
    lockMs,
    name: argv.name,
    log: quiet ? () => {} : undefined,
  });
  await stopOnSignals(w, grace * 1000);
  return ExitCode.Ok;
}
