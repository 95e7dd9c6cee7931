// `vsm-forensics batch <files|dirs…> --out DIR [--jobs N] [--fail-on SEV]`: many dumps on one machine.
import { runBatch, type BatchSummary } from '../batch/batch.ts';
import type { Argv } from 'yargs';
import { JOB_ANALYZE_OPTIONS, analyzeOptionsFromArgv } from '../batch/cli-options.ts';
import { atOrAbove } from '../batch/summary.ts';
import { ExitCode, UsageError } from '../errors.ts';
import { log } from '../log.ts';
import { jsonStringify, terminalText } from '../reports/sanitize.ts';
import { SEVERITIES, type Severity } from '../vsm/types.ts';
import { checkInputPath, checkInteger, ensureOutputDir, exitWith, tableCheck, type ArgvOf, type GlobalArgs, type OptionTable } from './args.ts';
import { entry } from './catalogue.ts';

function findingsText(f: Readonly<Record<Severity, number>>): string {
  return (
    SEVERITIES.slice()
      .reverse()
      .filter((s) => f[s] > 0)
      .map((s) => `${f[s]} ${s}`)
      .join(', ') || '-'
  );
}

function printSummary(s: BatchSummary): void {
  const rows = s.items.map((i) => {
    const r = i.record;
    const verdict = i.outcome === 'unreadable' ? 'unreadable' : r ? (r.status === 'ok' ? (r.verdict ?? 'unknown') : 'failed') : '?';
    const detail = i.outcome === 'unreadable' ? (i.error ?? '') : r?.status === 'failed' ? (r.error?.message ?? '') : r ? findingsText(r.findings) : '';
    return [i.outcome, verdict, (i.sha256 ?? '-').slice(0, 16), terminalText(i.path), terminalText(detail)];
  });
  const head = ['RUN', 'VERDICT', 'SHA-256', 'EVIDENCE', 'FINDINGS / ERROR'];
  const w = head.map((h, c) => Math.max(h.length, ...rows.map((r) => (c < 3 ? r[c].length : 0))));
  const line = (r: string[]) => r.map((x, c) => (c < 3 ? x.padEnd(w[c]) : x)).join('  ').trimEnd();
  const out = [line(head), ...rows.map(line)];
  const gib = s.bytes / 2 ** 30;
  out.push(
    '',
    `${s.items.length} dumps: ${s.analyzed} analyzed, ${s.skipped} already done, ${s.duplicates} duplicate copies, ${s.failed} failed` +
      ` — ${gib.toFixed(2)} GiB in ${(s.wallMs / 1000).toFixed(1)} s (hashing ${(s.hashMs / 1000).toFixed(1)} s)`,
  );
  if (s.skippedFiles.length) out.push(`${s.skippedFiles.length} files skipped while walking directories (not memory images): see --log-level info`);
  out.push(`index: ${terminalText(`${s.outDir}/index.html`)}`, `events: ${terminalText(`${s.outDir}/events.ndjson`)}`);
  process.stdout.write(out.join('\n') + '\n');
}

export const BATCH_OPTIONS = {
  ...JOB_ANALYZE_OPTIONS,
  out: { alias: 'o', type: 'string', demandOption: true, requiresArg: true, describe: 'Output directory: DIR/<sha256>/, DIR/index.html, DIR/events.ndjson (created if missing)' },
  jobs: { alias: 'j', type: 'number', requiresArg: true, describe: 'Analyses at once (default: the number of cores)' },
  force: { type: 'boolean', default: false, describe: 'Analyze again even when a result exists' },
  'fail-on': { type: 'string', choices: SEVERITIES, requiresArg: true, describe: 'Exit 1 when any dump has a finding at or above this severity' },
  json: { type: 'boolean', default: false, describe: 'Print the batch summary as JSON on stdout' },
} as const satisfies OptionTable;

const builder = (y: Argv<GlobalArgs>) =>
  y
    .positional('inputs', { type: 'string', array: true, demandOption: true, describe: 'Dump files and directories (walked; text files skipped)' })
    .options(BATCH_OPTIONS)
    .check(tableCheck(BATCH_OPTIONS))
    .check((a) => (checkInteger('jobs', a.jobs, 1, 1024), true))
    .example('$0 batch /cases/2026-117/ --out results/', 'every dump under a directory; results/index.html')
    .example('$0 batch a.dmp b.dmp --out results/ --jobs 2 --fail-on high', 'two at once; exit 1 if any has a high finding');

export type BatchArgs = ArgvOf<typeof builder>;

const { command, describe } = entry('batch');
export const cli = {
  options: BATCH_OPTIONS,
  register: (y: Argv<GlobalArgs>) => y.command({ command, describe, builder, handler: exitWith((a: BatchArgs) => run(a)) }),
};

export async function run(argv: BatchArgs): Promise<number> {
  const inputs = argv.inputs;
  if (inputs.length === 0) throw new UsageError('name at least one dump or directory');
  ensureOutputDir('out', argv.out);
  for (const s of argv.symbols ?? []) checkInputPath('symbols', s);
  const { jobs, failOn } = argv;
  const quiet = argv.quiet === true;

  const summary = await runBatch({
    inputs,
    outDir: argv.out,
    jobs,
    force: argv.force === true,
    options: analyzeOptionsFromArgv(argv),
    progress: quiet ? { update() {}, end() {} } : undefined,
  });
  for (const f of summary.skippedFiles) log().info({ path: f.path, reason: f.reason }, 'skipped while walking directories');
  if (argv.json) process.stdout.write(jsonStringify({ ...summary, view: { counts: summary.view.counts, ndjsonLines: summary.view.ndjsonLines } }, 2) + '\n');
  else printSummary(summary);

  if (summary.failed > 0) return ExitCode.BadInput;
  if (failOn && summary.items.some((i) => atOrAbove(i.record?.maxSeverity ?? null, failOn))) return ExitCode.Finding;
  return ExitCode.Ok;
}
