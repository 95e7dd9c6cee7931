// The `analyze` command end to end: outputs, exit codes, refusals. Runs the real CLI.
import test from 'ava';
import { BIN, cli } from './helpers/cli.ts';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { generate } from '../samples/generate.ts';
import { validateReport } from '../src/reports/validate.ts';
import { joinDashValues } from '../src/cli.ts';

const DIR = new URL('./.tmp/analyze-cli/', import.meta.url).pathname;
const TRIAGE = new URL('../../shared/data/real/triage_x64.dmp', import.meta.url).pathname;
rmSync(DIR, { recursive: true, force: true });
mkdirSync(DIR, { recursive: true });
const DUMP = `${DIR}cg.dmp`;
const truth = generate({ scenario: 'vsm-credential-guard', form: 'bitmap', sizeBytes: 24 << 20, out: DUMP, seed: 3 }).truth;

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

test('--json - writes a report that validates against the schema and matches the truth', async (t) => {
  const before = sha(DUMP);
  const r = await cli('analyze', DUMP, '--json', '-', '--case', 'IR-1', '--examiner', 'A. Analyst');
  t.is(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  const v = validateReport(report);
  t.true(v.valid, JSON.stringify(v.errors?.slice(0, 3)));
  t.is(report.processes.length, truth.processes.length);
  t.is(report.vsm.verdict, truth.vsm.verdict);
  t.is(report.evidence.sha256, before);
  const lsa = report.processes.find((p: { pid: number }) => p.pid === 800);
  t.like(lsa, { secure: true, trustlet: { id: 1, name: 'LsaIso.exe' }, sources: ['list', 'scan'] });
  t.deepEqual(Object.keys(lsa.isolation).filter((k) => k.startsWith('pages')).sort(), ['pagesAbsent', 'pagesMapped', 'pagesNotResident', 'pagesReadable', 'pagesUnreadable']);
  t.is(sha(DUMP), before, 'the evidence is unchanged');
});

test('terminal view by default; --ndjson and --html write files; --fail-on sets exit 1', async (t) => {
  const nd = `${DIR}out.ndjson`;
  const html = `${DIR}out.html`;
  const r = await cli('analyze', DUMP, '--no-hash', '--ndjson', nd, '--html', html, '--fail-on', 'high');
  t.is(r.code, 1, 'the unlinked process is a high finding');
  t.regex(r.stdout, /VSM verdict: ISOLATED/);
  t.regex(r.stdout, /LsaIso\.exe/);
  t.false(r.stdout.includes('\x1b'));
  const lines = readFileSync(nd, 'utf8').trim().split('\n');
  t.true(lines.length >= truth.processes.length + 1);
  for (const l of lines) t.notThrows(() => JSON.parse(l));
  t.true(existsSync(html));
  t.regex(readFileSync(html, 'utf8'), /isolated/i);
  const c = await cli('analyze', DUMP, '--no-hash', '--fail-on', 'critical');
  t.is(c.code, 0);
});

test('--no-scan lists only linked processes and claims no hidden one', async (t) => {
  const r = await cli('analyze', DUMP, '--no-hash', '--no-scan', '--json', '-');
  t.is(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  t.is(report.processes.length, truth.processes.filter((p) => p.linked).length);
  t.true(report.processes.every((p: { sources: string[]; unlinked: boolean }) => p.sources.join() === 'list' && !p.unlinked));
  t.is(report.stats.pagesScanned, 0);
});

test('a triage dump is refused with exit 3: it holds no physical memory', async (t) => {
  const r = await cli('analyze', TRIAGE, '--no-hash');
  t.is(r.code, 3);
  t.regex(r.stderr, /holds no physical memory/);
  t.is(r.stderr.trim().split('\n').length, 1);
});

test('garbage is bad input (exit 2); both reports on stdout is a usage error', async (t) => {
  const g = await cli('analyze', BIN, '--no-hash');
  t.is(g.code, 2, g.stderr);
  const u = await cli('analyze', DUMP, '--no-hash', '--json', '-', '--ndjson', '-');
  t.is(u.code, 64);
});

test('`--json -` keeps its dash value through yargs', (t) => {
  t.deepEqual(joinDashValues(['analyze', 'x', '--json', '-', '--ndjson', 'f', '--html', '-']), ['analyze', 'x', '--json=-', '--ndjson', 'f', '--html=-']);
});
