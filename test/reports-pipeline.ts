// Shared by the reports-pipeline-* tests: generate a synthetic sample (samples/), run the real
// `analyze` command on it in-process, and check every report it writes: the JSON validates against
// the schema, every NDJSON field is ECS or vsm.*, the terminal output carries no ESC byte, and the
// renderers agree with the JSON they were given.
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';
import { generate, type Form } from '../samples/generate.ts';
import { main } from '../src/cli.ts';
import { renderHtml, renderTerminal, type Report } from '../src/reports/index.ts';
import { validateReport } from '../src/reports/validate.ts';

const ECS = JSON.parse(readFileSync(new URL('./data/ecs_flat.json', import.meta.url), 'utf8')) as {
  fields: Record<string, { type: string; allowed?: string[] }>;
};

export function scenarioNames(): string[] {
  const dir = fileURLToPath(new URL('../samples/scenarios/', import.meta.url));
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .sort();
}

export interface SampleRun {
  readonly dumpPath: string;
  readonly truth: { systemTime: string | null; vsm: { verdict: string } };
  readonly exitCode: number;
  /** What analyze printed on stdout (the terminal view). */
  readonly terminal: string;
  readonly jsonText: string;
  readonly ndjsonText: string;
  readonly htmlText: string;
  readonly htmlPath: string;
  readonly ndjsonPath: string;
  readonly report: Report;
}

/** Serialises in-process CLI runs: they share process.stdout. */
let queue: Promise<unknown> = Promise.resolve();

export async function runSample(dir: string, scenario: string, form: Form, sizeMiB = 64): Promise<SampleRun> {
  const run = async (): Promise<SampleRun> => {
    mkdirSync(dir, { recursive: true });
    const base = join(dir, `${scenario}.${form}`);
    const dumpPath = `${base}.dmp`;
    if (!existsSync(dumpPath) || !existsSync(`${dumpPath}.truth.json`))
      generate({ scenario, form, sizeBytes: sizeMiB * 2 ** 20, seed: 1, out: dumpPath });
    const out = { json: `${base}.json`, ndjson: `${base}.ndjson`, html: `${base}.html` };
    const chunks: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((s: string | Uint8Array) => (chunks.push(typeof s === 'string' ? s : Buffer.from(s).toString('utf8')), true)) as typeof process.stdout.write;
    let exitCode: number;
    try {
      exitCode = await main(['analyze', dumpPath, '--quiet', '--json', out.json, '--ndjson', out.ndjson, '--html', out.html, '--case', `CASE-${scenario}`, '--examiner', 'reports-pipeline test']);
    } finally {
      process.stdout.write = write;
    }
    const jsonText = existsSync(out.json) ? readFileSync(out.json, 'utf8') : '';
    return {
      dumpPath,
      truth: JSON.parse(readFileSync(`${dumpPath}.truth.json`, 'utf8')),
      exitCode,
      terminal: chunks.join(''),
      jsonText,
      ndjsonText: existsSync(out.ndjson) ? readFileSync(out.ndjson, 'utf8') : '',
      htmlText: existsSync(out.html) ? readFileSync(out.html, 'utf8') : '',
      htmlPath: out.html,
      ndjsonPath: out.ndjson,
      report: jsonText ? (JSON.parse(jsonText) as Report) : (undefined as unknown as Report),
    };
  };
  const p = queue.then(run, run);
  queue = p.catch(() => undefined);
  return p;
}

function flatten(v: unknown, prefix = '', out: [string, unknown][] = []): [string, unknown][] {
  if (Array.isArray(v)) {
    if (v.length && v.every((x) => x !== null && typeof x === 'object' && !Array.isArray(x))) for (const x of v) flatten(x, prefix, out);
    else out.push([prefix, v]);
  } else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  else out.push([prefix, v]);
  return out;
}

/** Every check the reports owe a real sample. */
export function checkReports(t: ExecutionContext, s: SampleRun): void {
  t.is(s.exitCode, 0, 'analyze finished');
  // JSON: the schema, and a trailing newline.
  t.true(s.jsonText.endsWith('}\n'));
  const v = validateReport(s.report);
  t.true(v.valid, v.errors.slice(0, 10).join('\n'));

  // NDJSON: every line JSON, every field ECS (of the right kind) or vsm.*, one event per process/finding + summary.
  const lines = s.ndjsonText.endsWith('\n') ? s.ndjsonText.slice(0, -1).split('\n') : ['<no trailing newline>'];
  t.is(lines.length, s.report.processes.length + s.report.findings.length + 1);
  const unknown = new Set<string>();
  for (const line of lines) {
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(line) as Record<string, unknown>;
    } catch {
      t.fail(`not JSON: ${line.slice(0, 80)}`);
      continue;
    }
    for (const [k, val] of flatten(e)) {
      if (k.startsWith('vsm.')) {
        if (!/^vsm(\.[a-z0-9_]+)+$/.test(k)) unknown.add(k);
        continue;
      }
      const f = ECS.fields[k];
      if (!f) unknown.add(k);
      else if (f.allowed) for (const x of Array.isArray(val) ? val : [val]) if (!f.allowed.includes(x as string)) unknown.add(`${k}=${String(x)}`);
    }
  }
  t.deepEqual([...unknown], [], 'fields outside ECS and vsm.*');
  if (!spawnSync('jq', ['--version']).error) t.is(spawnSync('sh', ['-c', 'jq -c . < "$1" > /dev/null', 'sh', s.ndjsonPath]).status, 0, 'jq -c . accepts every line');
  // @timestamp: the dump's system time where the format records one (crash dumps), else the run start.
  const first = JSON.parse(lines[0]) as { '@timestamp': string; vsm: { timestamp_source: string } };
  if (s.report.evidence.format.startsWith('crash-') && s.truth.systemTime) {
    t.is(Date.parse(s.report.evidence.systemTime ?? ''), Date.parse(s.truth.systemTime), 'evidence system time is the header’s');
    t.is(first['@timestamp'] as string | null, s.report.evidence.systemTime, '@timestamp is the dump system time');
  } else if (!s.report.evidence.systemTime) {
    t.is(first['@timestamp'], s.report.run.startedAt);
    t.is(first.vsm.timestamp_source, 'run-start');
  }

  // Terminal: the real command's stdout, no ESC (stdout is not a TTY here) and no other control byte.
  t.false(s.terminal.includes('\x1b'), 'no ESC byte on the terminal');
  t.false(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/.test(s.terminal));
  t.regex(s.terminal, new RegExp(`VSM verdict: ${s.report.vsm.verdict.toUpperCase()}`));
  if (s.report.partial.partial) t.regex(s.terminal, /PARTIAL RESULTS/);
  t.is(s.terminal, renderTerminal(s.report), 'the terminal view is a function of the JSON report');

  // HTML: the command wrote what the renderer makes of the JSON; one row per process; no raw ESC.
  t.is(s.htmlText, renderHtml(s.report));
  t.is((s.htmlText.match(/<tr [^>]*data-order=/g) ?? []).length, s.report.processes.length);
  t.false(s.htmlText.includes('\x1b'));
  t.is(s.htmlText.includes('id="partial"'), s.report.partial.partial);
}
