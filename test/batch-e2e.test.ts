// `vsm-forensics batch` end to end, with the real analyzer on synthetic dumps (samples/): results
// per evidence SHA-256, a corrupt file recorded and not fatal, exit codes, a rerun that analyzes
// nothing, and index.html in Chromium with no network request, listing every dump.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { generate, type Form } from '../samples/generate.ts';
import { sha256File } from '../src/batch/hash.ts';
import { readResult } from '../src/batch/layout.ts';
import { runDir } from './helpers/run-dir.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin/vsm-forensics.js');
const TMP = runDir('batch-e2e');
const CORPUS = join(TMP, 'corpus');
const OUT = join(TMP, 'out');
const CHROMIUM = '/usr/bin/chromium';
const HOSTILE = '<img src=x onerror=alert(1)>.dmp';

mkdirSync(CORPUS, { recursive: true });

interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}
function cli(...args: string[]): CliRun {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: performance.now() - t0 };
}

const good: string[] = [];
let corrupt = '';

// A cross-section of the samples corpus: every verdict, partial results, a 14393-shaped kernel,
// hostile process names (behind a hostile file name), in the three forms.
const SCENARIOS = ['vsm-credential-guard', 'vsm-trustlet-readable', 'vsm-off', 'hostile-names', 'truncated', 'list-cycle', 'build-14393'];

test.before(() => {
  const forms: Form[] = ['full', 'bitmap', 'raw'];
  SCENARIOS.forEach((scenario, i) => {
    const form = forms[i % 3];
    const out = join(CORPUS, scenario === 'hostile-names' ? HOSTILE : `${scenario}-${form}.dmp`);
    generate({ scenario, form, sizeBytes: 16 * 2 ** 20, seed: 100 + i, out });
    good.push(out);
  });
  // An acquisition cut off inside the crash-dump header: the analyzer refuses it (bad input), the
  // batch goes on.
  corrupt = join(CORPUS, 'damaged.dmp');
  writeFileSync(corrupt, readFileSync(good[0]).subarray(0, 4096));
  copyFileSync(good[0], join(CORPUS, 'a-copy-of-the-first.dmp'));
});

test.serial('batch over a corpus: one result per SHA-256, failures recorded, exit codes; a rerun analyzes nothing', async (t) => {
  const first = cli('batch', CORPUS, '--out', OUT, '--jobs', '2');
  t.is(first.status, 2, `a damaged dump makes the batch exit 2\n${first.stdout}\n${first.stderr}`);
  t.regex(first.stdout, /9 dumps: 8 analyzed, 0 already done, 1 duplicate copies, 1 failed/);
  t.false(first.stdout.includes('\x1b'), 'no escape sequences on a pipe');

  for (const p of good) {
    const sha = await sha256File(p);
    const rec = readResult(OUT, sha);
    t.truthy(rec, p);
    t.is(rec!.status, 'ok', `${p}: ${rec!.error?.message}`);
    t.is(rec!.exitCode, 0);
    t.truthy(rec!.verdict);
    const report = JSON.parse(readFileSync(join(OUT, sha, 'report.json'), 'utf8'));
    t.is(report.evidence.sha256, sha);
    // The hash batch computed for the result key is the one the analysis records: passed on, not recomputed.
    t.true(rec!.command.includes(`--evidence-sha256=${sha}`));
    t.true(report.evidence.sha256ComputedAt <= rec!.timings.startedAt);
    t.is(report.vsm.verdict, rec!.verdict);
    t.is(rec!.processes, report.processes.length);
    for (const f of ['events.ndjson', 'report.html', 'report.txt']) t.true(existsSync(join(OUT, sha, f)), f);
  }
  const bad = readResult(OUT, await sha256File(corrupt))!;
  t.is(bad.status, 'failed');
  t.is(bad.exitCode, 2);
  t.is(bad.error?.code, 'bad-input');
  t.true(bad.error!.message.length > 0);
  t.false(bad.retryable);
  t.is(readdirSync(OUT).filter((n) => /^[0-9a-f]{64}$/.test(n)).length, 8);
  t.deepEqual(readdirSync(join(OUT, '.tmp')), []);

  // Combined NDJSON: every dump's events plus one failure event; every line parses.
  const lines = readFileSync(join(OUT, 'events.ndjson'), 'utf8').trim().split('\n');
  const events = lines.map((l) => JSON.parse(l));
  let perDump = 0;
  for (const p of good) perDump += readFileSync(join(OUT, await sha256File(p), 'events.ndjson'), 'utf8').trim().split('\n').length;
  t.is(events.length, perDump + 1);
  const failures = events.filter((e) => e.event?.outcome === 'failure');
  t.is(failures.length, 1);
  // The failure event speaks ECS like the rest: every field is ECS 9.4.0 (right type) or vsm.*.
  const ecs = JSON.parse(readFileSync(new URL('./data/ecs_flat.json', import.meta.url), 'utf8')) as { fields: Record<string, { type: string; allowed?: string[] }> };
  const leaves = (v: unknown, prefix = ''): [string, unknown][] =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.entries(v).flatMap(([k, x]) => leaves(x, prefix ? `${prefix}.${k}` : k)) : [[prefix, v]];
  const fits: Record<string, (x: unknown) => boolean> = {
    keyword: (x) => typeof x === 'string',
    match_only_text: (x) => typeof x === 'string',
    long: (x) => Number.isSafeInteger(x),
    date: (x) => typeof x === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(x),
    boolean: (x) => typeof x === 'boolean',
  };
  for (const [key, value] of leaves(failures[0])) {
    if (key.startsWith('vsm.')) continue;
    const f = ecs.fields[key];
    t.truthy(f, `${key} is an ECS field`);
    for (const x of Array.isArray(value) ? value : [value]) {
      t.true(fits[f?.type ?? '']?.(x) ?? false, `${key}=${JSON.stringify(x)} fits ECS type ${f?.type}`);
      if (f?.allowed) t.true(f.allowed.includes(x as string), `${key}=${String(x)} is an allowed value`);
    }
  }

  // Rerun: nothing analyzed, no result rewritten, in under a second plus hashing.
  const stamps = readdirSync(OUT)
    .filter((n) => /^[0-9a-f]{64}$/.test(n))
    .map((n) => readFileSync(join(OUT, n, 'result.json'), 'utf8'));
  const second = cli('batch', CORPUS, '--out', OUT, '--jobs', '2', '--json');
  t.is(second.status, 2);
  const s = JSON.parse(second.stdout);
  t.is(s.analyzed, 0);
  t.is(s.skipped, 8);
  t.is(s.duplicates, 1);
  t.deepEqual(
    readdirSync(OUT)
      .filter((n) => /^[0-9a-f]{64}$/.test(n))
      .map((n) => readFileSync(join(OUT, n, 'result.json'), 'utf8')),
    stamps,
  );
  // "Plus hashing": the time to hash the corpus once, file after file.
  const h0 = performance.now();
  for (const f of readdirSync(CORPUS)) await sha256File(join(CORPUS, f));
  const hashOnce = performance.now() - h0;
  // No timing assertion (it would flip on a slow machine): analyzed 0 / skipped 8 above is what makes a rerun cheap.
  t.log(`rerun: ${s.wallMs} ms inside batch; hashing the ${(s.bytes / 2 ** 20).toFixed(0)} MiB corpus alone ${Math.round(hashOnce)} ms; ${Math.round(second.ms)} ms with the CLI's own start`);

  // Without the damaged dump the exit code follows --fail-on over the findings.
  const recs = await Promise.all(good.map(async (p) => readResult(OUT, await sha256File(p))!));
  const order = ['info', 'low', 'medium', 'high', 'critical'];
  const worst = Math.max(-1, ...recs.map((r) => (r.maxSeverity ? order.indexOf(r.maxSeverity) : -1)));
  if (worst >= 0) {
    t.is(cli('batch', ...good, '--out', OUT, '--fail-on', order[worst]).status, 1, `a finding at ${order[worst]}`);
  }
  if (worst < order.length - 1) t.is(cli('batch', ...good, '--out', OUT, '--fail-on', order[worst + 1]).status, 0);
});

test.serial('index.html opens in Chromium with no network request and lists every dump', async (t) => {
  const index = join(OUT, 'index.html');
  t.true(existsSync(index));
  const url = pathToFileURL(index).href;
  const profile = mkdtempSync(join(TMP, 'profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1400, height: 900 },
  });
  try {
    const page = await context.newPage();
    const requests: string[] = [];
    const dialogs: string[] = [];
    const errors: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForTimeout(300);
    t.deepEqual(requests, [url], 'the page alone, nothing else');
    t.deepEqual(dialogs, []);
    t.deepEqual(errors, []);

    const rows = page.locator('tbody tr');
    t.is(await rows.count(), 8);
    const text = await page.locator('tbody').innerText();
    for (const p of [...good, corrupt]) {
      const sha = await sha256File(p);
      t.true(text.includes(sha), sha);
      const rec = readResult(OUT, sha)!;
      t.true(text.includes(rec.status === 'ok' ? rec.verdict! : 'failed'));
    }
    t.true(text.includes(HOSTILE), 'the hostile file name shows as text');
    t.is(await page.locator('tbody img').count(), 0, 'and builds no element');
    // Every report link resolves to a file of the result directory.
    const hrefs = await page.locator('tbody a').evaluateAll((as) => as.map((a) => (a as unknown as { href: string }).href));
    t.true(hrefs.length >= 8 * 3);
    // Worst first: the failure, then the exposed trustlet.
    t.deepEqual(await rows.evaluateAll((rs) => rs.slice(0, 2).map((r) => r.getAttribute('data-verdict'))), ['failed', 'exposed']);
    for (const h of hrefs) t.true(existsSync(fileURLToPath(h)), h);
    await page.screenshot({ path: join(TMP, 'index.png'), fullPage: true });
    // The filter narrows the table to one dump.
    await page.fill('#q', 'damaged');
    t.is(await page.locator('tbody tr:not([hidden])').count(), 1);
    t.deepEqual(requests, [url]);
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
});
