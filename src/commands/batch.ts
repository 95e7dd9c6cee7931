// `vsm-forensics batch <files|dirs…> --out DIR [--jobs N] [--fail-on SEV]`: many dumps on one machine.
import { runBatch, type BatchSummary } from '../batch/batch.ts';
import { analyzeOptionsFromArgv } from '../batch/cli-options.ts';
import { atOrAbove } from '../batch/summary.ts';
import { ExitCode, UsageError } from '../errors.ts';
import { log } from '../log.ts';
import { jsonStringify, terminalText } from '../reports/sanitize.ts';
import { SEVERITIES, type Severity } from '../vsm/types.ts';

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

export async function run(argv: Record<string, unknown>): Promise<number> {
  const inputs = (argv.inputs as string[] | undefined) ?? [];
  if (inputs.length === 0) throw new UsageError('name at least one dump or directory');
  const jobs = argv.jobs as number | undefined;
  if (jobs !== undefined && (!Number.isInteger(jobs) || jobs < 1 || jobs > 1024)) throw new UsageError('--jobs must be an integer from 1 to 1024');
  const failOn = argv.failOn as Severity | undefined;
  const quiet = argv.quiet === true;

  const summary = await runBatch({
    inputs,
    outDir: argv.out as string,
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
