// `vsm-forensics queue submit <files|dirs…> --out DIR` and `vsm-forensics queue status`.
import { analyzeOptionsFromArgv } from '../batch/cli-options.ts';
import { queueStatus } from '../batch/queue/status.ts';
import { submitEvidence, type SubmittedItem } from '../batch/queue/submit.ts';
import { ExitCode, UsageError } from '../errors.ts';
import { jsonStringify, terminalText } from '../reports/sanitize.ts';

export async function runSubmit(argv: Record<string, unknown>): Promise<number> {
  const inputs = (argv.inputs as string[] | undefined) ?? [];
  if (inputs.length === 0) throw new UsageError('name at least one dump or directory');
  const attempts = argv.attempts as number;
  if (!Number.isInteger(attempts) || attempts < 1 || attempts > 100) throw new UsageError('--attempts must be an integer from 1 to 100');
  const backoff = argv.backoff as number;
  if (!Number.isFinite(backoff) || backoff < 0) throw new UsageError('--backoff must be a number of seconds ≥ 0');
  const priority = argv.priority as number | undefined;
  if (priority !== undefined && (!Number.isInteger(priority) || priority < 1 || priority > 2_097_152)) throw new UsageError('--priority must be an integer from 1 (highest) to 2097152');
  const json = argv.json === true;
  const print = (i: SubmittedItem) => {
    if (!json) process.stdout.write(`${i.outcome.padEnd(14)}  ${i.sha256}  ${terminalText(i.path)}${i.jobOutDir && i.outcome === 'already-queued' ? `  (job ${i.state}, output ${terminalText(i.jobOutDir)})` : ''}\n`);
  };
  const { items, skippedFiles } = await submitEvidence(
    inputs,
    {
      redis: argv.redis as string,
      queue: argv.queue as string,
      outDir: argv.out as string,
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

export async function runStatus(argv: Record<string, unknown>): Promise<number> {
  const s = await queueStatus(argv.redis as string, argv.queue as string, argv.limit as number, { clean: argv.clean === true });
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
