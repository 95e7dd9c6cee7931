// `vsm-forensics queue submit <files|dirs…> --out DIR` and `vsm-forensics queue status`.
import type { Argv } from 'yargs';
import { JOB_ANALYZE_OPTIONS, analyzeOptionsFromArgv } from '../batch/cli-options.ts';
import { QUEUE_OPTIONS } from '../batch/queue/cli-options.ts';
import { queueStatus } from '../batch/queue/status.ts';
import { submitEvidence, type SubmittedItem } from '../batch/queue/submit.ts';
import { ExitCode, UsageError } from '../errors.ts';
import { jsonStringify, terminalText } from '../reports/sanitize.ts';
import { checkInputPath, checkInteger, exitWith, tableCheck, type ArgvOf, type GlobalArgs, type OptionTable } from './args.ts';
import { entry } from './catalogue.ts';

export const SUBMIT_OPTIONS = {
  ...QUEUE_OPTIONS,
  ...JOB_ANALYZE_OPTIONS,
  out: { alias: 'o', type: 'string', demandOption: true, requiresArg: true, describe: 'Output directory, at a path every worker can write' },
  attempts: { type: 'number', default: 3, requiresArg: true, describe: 'Attempts per job, retries included (1 to 100)' },
  backoff: { type: 'number', default: 10, requiresArg: true, describe: 'First retry delay in seconds (doubles each retry)' },
  priority: { type: 'number', requiresArg: true, describe: 'Job priority, 1 = highest' },
  json: { type: 'boolean', default: false, describe: 'Print the outcome per dump as JSON' },
} as const satisfies OptionTable;

const submitBuilder = (y: Argv<GlobalArgs>) =>
  y
    .positional('inputs', { type: 'string', array: true, demandOption: true, describe: 'Dump files and directories, at paths every worker can read' })
    .options(SUBMIT_OPTIONS)
    .check(tableCheck(SUBMIT_OPTIONS))
    .check((a) => {
      checkInteger('attempts', a.attempts, 1, 100);
      checkInteger('priority', a.priority, 1, 2_097_152);
      if (a.backoff < 0) throw new UsageError('--backoff must be a number of seconds ≥ 0');
      return true;
    })
    .example('$0 queue submit /cases/117/ --out /shared/results --redis redis://queue:6379', 'one job per dump for the workers');

export type SubmitArgs = ArgvOf<typeof submitBuilder>;

export const STATUS_OPTIONS = {
  ...QUEUE_OPTIONS,
  json: { type: 'boolean', default: false, describe: 'Print JSON on stdout' },
  limit: { type: 'number', default: 50, requiresArg: true, describe: 'At most this many running and failed jobs listed' },
  clean: { type: 'boolean', default: false, describe: 'Remove temp directories that dead workers of this host left in the output directories' },
} as const satisfies OptionTable;

const statusBuilder = (y: Argv<GlobalArgs>) =>
  y
    .options(STATUS_OPTIONS)
    .check(tableCheck(STATUS_OPTIONS))
    .check((a) => (checkInteger('limit', a.limit, 0, 100_000), true))
    .example('$0 queue status --redis redis://queue:6379', 'counts, workers, running and failed jobs')
    .example('$0 queue status --clean', 'also remove temp directories dead workers of this host left behind');

export type StatusArgs = ArgvOf<typeof statusBuilder>;

const { command, describe } = entry('queue');
export const cli = {
  options: { ...SUBMIT_OPTIONS, ...STATUS_OPTIONS },
  subcommands: ['submit', 'status'],
  register: (y: Argv<GlobalArgs>) =>
    y.command({
      command,
      describe,
      builder: (yy: Argv<GlobalArgs>) =>
        yy
          .command({
            command: 'submit <inputs..>',
            describe: 'Hash dumps here and queue one analysis job per evidence SHA-256 (only paths and hashes go to Redis)',
            builder: submitBuilder,
            handler: exitWith((a: SubmitArgs) => runSubmit(a)),
          })
          .command({ command: 'status', describe: 'Job counts, workers, running and failed jobs', builder: statusBuilder, handler: exitWith((a: StatusArgs) => runStatus(a)) })
          .demandCommand(1, 'name a queue command: submit or status'),
      handler: () => {},
    }),
};

export async function runSubmit(argv: SubmitArgs): Promise<number> {
  const inputs = argv.inputs;
  if (inputs.length === 0) throw new UsageError('name at least one dump or directory');
  for (const s of argv.symbols ?? []) checkInputPath('symbols', s);
  const { attempts, backoff, priority } = argv;
  const json = argv.json === true;
  const print = (i: SubmittedItem) => {
    if (!json) process.stdout.write(`${i.outcome.padEnd(14)}  ${i.sha256}  ${terminalText(i.path)}${i.jobOutDir && i.outcome === 'already-queued' ? `  (job ${i.state}, output ${terminalText(i.jobOutDir)})` : ''}\n`);
  };
  const { items, skippedFiles } = await submitEvidence(
    inputs,
    {
      redis: argv.redis,
      queue: argv.queue,
      outDir: argv.out,
      options: analyzeOptionsFromArgv(argv),
      attempts,
      backoffMs: Math.round(backoff * 1000),
      priority,
    },
    print,
  );
  if (json) process.stdout.write(jsonStringify({ items, skippedFiles }, 2) + '\n');
  else {
    const n = (o: string) => items.filter((i) => i.outcome === o).length;
    process.stdout.write(`${items.length} dumps: ${n('queued') + n('requeued')} queued, ${n('retried')} retried, ${n('already-queued')} already queued, ${n('already-done')} already done${n('duplicate') ? `, ${n('duplicate')} duplicate copies` : ''}\n`);
  }
  return ExitCode.Ok;
}

export async function runStatus(argv: StatusArgs): Promise<number> {
  const s = await queueStatus(argv.redis, argv.queue, argv.limit, { clean: argv.clean });
  if (argv.json) {
    process.stdout.write(jsonStringify(s, 2) + '\n');
    return ExitCode.Ok;
  }
  const c = s.counts;
  const out = [
    `queue ${s.queue}${s.paused ? ' (paused)' : ''}: ${c.waiting + (c.prioritized ?? 0)} waiting, ${c.active} active, ${c.delayed} delayed (retry back-off), ${c.completed} completed, ${c.failed} failed`,
    `workers: ${s.workers.length}${s.workers.length ? ' — ' + s.workers.map((w) => terminalText(w.name)).join(', ') : ''}`,
  ];
  if (s.active.length) {
    out.push('', 'running:');
    for (const a of s.active) out.push(`  ${a.sha256}  ${terminalText(a.worker ?? '?')}  since ${a.startedAt ?? '?'}  attempt ${a.attempt}  ${terminalText(a.path)}`);
  }
  if (s.failed.length) {
    out.push('', 'failed:');
    for (const f of s.failed) out.push(`  ${f.sha256}  ${terminalText(f.path)}  after ${f.attempts} attempt(s): ${terminalText(f.reason)}`);
  }
  if (s.cleaned) out.push('', `cleaned: ${s.cleaned.reduce((n, c) => n + c.removed, 0)} temp directories of dead workers on this host, in ${s.cleaned.length} output directories`);
  process.stdout.write(out.join('\n') + '\n');
  return ExitCode.Ok;
}
