// Batch plumbing under failure modes the real analyzer cannot be asked for (a hang, a crash, a race
// between two runners), with a test double in place of `analyze`. The end-to-end tests with the
// real analyzer are in batch-e2e.test.ts and queue-e2e.test.ts.
import test from 'ava';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import type { AnalyzerCommand } from '../src/batch/analyzer.ts';
import { runBatch } from '../src/batch/batch.ts';
import { discoverEvidence, looksLikeText } from '../src/batch/discover.ts';
import { sha256File } from '../src/batch/hash.ts';
import { readResult, removeStaleTmp } from '../src/batch/layout.ts';
import { parseJobData } from '../src/batch/queue/job-data.ts';
import { analyzeEvidence } from '../src/batch/run-job.ts';
import type { EvidenceJob } from '../src/batch/types.ts';
import { runDir } from './helpers/run-dir.ts';

const TMP = runDir('batch-infra');
const FAKE: AnalyzerCommand = { command: process.execPath, args: ['--import', 'tsx', fileURLToPath(new URL('./helpers/fake-analyze.ts', import.meta.url))] };
const quiet = { update() {}, end() {} };


function dumpFile(dir: string, name: string, head = '', size = 64 * 1024): string {
  mkdirSync(dir, { recursive: true });
  const buf = randomBytes(size);
  buf.write(head, 0, 'latin1');
  const p = join(dir, name);
  writeFileSync(p, buf);
  return p;
}

test('content sniffing: text beside dumps is skipped, binary kept whatever its name', (t) => {
  t.true(looksLikeText(Buffer.from('{"scenario": "vsm"}\n')));
  t.false(looksLikeText(Buffer.from('PAGEDU64\x0f\x00\x00\x00', 'latin1')));
  t.false(looksLikeText(randomBytes(4096)));
  const dir = join(TMP, 'sniff');
  dumpFile(dir, 'a.json'); // binary, odd name: kept
  writeFileSync(join(dir, 'a.truth.json'), JSON.stringify({ processes: [] }));
  writeFileSync(join(dir, 'empty.dmp'), '');
  const d = discoverEvidence([dir]);
  t.deepEqual(d.files.map((f) => f.path.split('/').pop()), ['a.json']);
  t.deepEqual(d.skipped.map((s) => s.reason).sort(), ['empty', 'text, not a memory image']);
});

test('batch: results per SHA-256, failures recorded, duplicates shared, hostile names escaped, rerun skips all', async (t) => {
  const corpus = join(TMP, 'corpus');
  const out = join(TMP, 'out');
  const files = [0, 1, 2, 3].map((i) => dumpFile(corpus, `host${i}.dmp`));
  const bad = dumpFile(corpus, 'corrupt.dmp', 'BAD!');
  const hostile = dumpFile(corpus, '<img src=x onerror=alert(1)>.raw');
  copyFileSync(files[0], join(corpus, 'copy-of-host0.dmp'));
  writeFileSync(join(corpus, 'notes.txt'), 'collected by EDR live response\n');

  const first = await runBatch({ inputs: [corpus], outDir: out, jobs: 2, analyzer: FAKE, progress: quiet });
  t.is(first.items.length, 7);
  t.is(first.analyzed, 6);
  t.is(first.duplicates, 1);
  t.is(first.failed, 1);
  t.is(first.skippedFiles.length, 1);
  const shas = readdirSync(out).filter((n) => /^[0-9a-f]{64}$/.test(n));
  t.is(shas.length, 6);
  for (const f of [...files, bad, hostile]) {
    const sha = await sha256File(f);
    const rec = readResult(out, sha);
    t.truthy(rec, f);
    // The first path in sorted order names the evidence; its copy shares the result.
    t.is(rec!.evidence.path, f === files[0] ? join(corpus, 'copy-of-host0.dmp') : f);
    if (f === bad) {
      t.is(rec!.status, 'failed');
      t.is(rec!.exitCode, 2);
      t.is(rec!.error?.code, 'bad-input');
      t.regex(rec!.error!.message, /not a memory dump/);
      t.false(rec!.retryable);
    } else {
      t.is(rec!.status, 'ok');
      t.truthy(rec!.verdict);
      for (const name of ['report.json', 'events.ndjson', 'report.html', 'report.txt', 'analyze.log', 'result.json']) t.true(existsSync(join(out, sha, name)), name);
    }
  }
  t.deepEqual(readdirSync(join(out, '.tmp')), [], 'no temp directory left behind');

  const html = readFileSync(join(out, 'index.html'), 'utf8');
  t.false(html.includes('<img src=x'), 'hostile file name is escaped');
  t.true(html.includes('&lt;img src=x onerror=alert(1)&gt;.raw'));
  t.is((html.match(/<tr data-verdict=/g) ?? []).length, 6);
  const events = readFileSync(join(out, 'events.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  t.is(events.length, 6, 'five dumps with one event each, one failure event');
  const failure = events.find((e) => e.event.outcome === 'failure');
  t.is(failure.error.code, 'bad-input');
  t.is(failure.file.hash.sha256, await sha256File(bad));

  const before = readdirSync(out).filter((n) => /^[0-9a-f]{64}$/.test(n)).map((s) => readFileSync(join(out, s, 'result.json'), 'utf8'));
  const second = await runBatch({ inputs: [corpus], outDir: out, jobs: 2, analyzer: FAKE, progress: quiet });
  t.is(second.analyzed, 0);
  t.is(second.skipped, 6);
  t.is(second.failed, 1, 'a settled failure still counts as failed');
  const after = readdirSync(out).filter((n) => /^[0-9a-f]{64}$/.test(n)).map((s) => readFileSync(join(out, s, 'result.json'), 'utf8'));
  t.deepEqual(after, before, 'no result rewritten');
  t.log(`rerun took ${second.wallMs} ms (hashing ${second.hashMs} ms); analyzed 0 is the assertion, not the time`);
});

test('a hang times out and a crash is recorded; both retryable, so a rerun tries again', async (t) => {
  const corpus = join(TMP, 'faults');
  const out = join(TMP, 'faults-out');
  const hang = dumpFile(corpus, 'hang.dmp', 'HANG');
  const crash = dumpFile(corpus, 'crash.dmp', 'CRASH');
  // Separate runs: on a loaded machine the double's own start can outlast a short timeout.
  const s1 = await runBatch({ inputs: [hang], outDir: out, jobs: 1, analyzer: FAKE, progress: quiet, options: { timeoutSec: 3 } });
  const s2 = await runBatch({ inputs: [crash], outDir: out, jobs: 1, analyzer: FAKE, progress: quiet });
  t.is(s1.failed + s2.failed, 2);
  const h = readResult(out, await sha256File(hang))!;
  t.is(h.error?.code, 'batch.timeout');
  t.true(h.retryable);
  const c = readResult(out, await sha256File(crash))!;
  t.is(c.error?.code, 'batch.killed');
  t.is(c.signal, 'SIGKILL');
  t.true(c.retryable);
  const again = await runBatch({ inputs: [crash], outDir: out, jobs: 1, analyzer: FAKE, progress: quiet });
  t.is(again.analyzed, 1, 'retryable failure analyzed again');
});

test('two runners racing on one evidence file: one result, written once', async (t) => {
  const dir = join(TMP, 'race');
  const out = join(TMP, 'race-out');
  mkdirSync(out, { recursive: true });
  const p = dumpFile(dir, 'same.dmp');
  const sha = await sha256File(p);
  const job: EvidenceJob = { path: p, sha256: sha, size: 64 * 1024, outDir: out, options: {}, queuedAt: new Date().toISOString() };
  const [a, b] = await Promise.all([analyzeEvidence(job, { analyzer: FAKE, mode: 'queue', worker: 'a' }), analyzeEvidence(job, { analyzer: FAKE, mode: 'queue', worker: 'b' })]);
  t.is(a.kind, 'analyzed');
  t.is(b.kind, 'analyzed');
  const committed = [a, b].filter((o) => o.kind === 'analyzed' && o.committed);
  t.is(committed.length, 1);
  const winner = committed[0].record.runner.worker;
  t.is(a.record.runner.worker, winner, 'the loser reports the winner’s record');
  t.is(b.record.runner.worker, winner);
  t.is(readResult(out, sha)!.runner.worker, winner);
  t.deepEqual(readdirSync(join(out, '.tmp')), []);
  const skip = await analyzeEvidence(job, { analyzer: FAKE, mode: 'queue' });
  t.is(skip.kind, 'skipped');
});

test('temp directories of dead processes on this host are removed, live ones kept', (t) => {
  const out = join(TMP, 'stale');
  const host = hostname().replace(/[^A-Za-z0-9_.]/g, '_').slice(0, 64);
  const dead = join(out, '.tmp', `0123456789abcdef-${host}-999999999-AbC123`);
  const live = join(out, '.tmp', `0123456789abcdef-${host}-${process.pid}-XyZ789`);
  const other = join(out, '.tmp', `0123456789abcdef-otherhost-999999999-AbC123`);
  for (const d of [dead, live, other]) mkdirSync(d, { recursive: true });
  t.is(removeStaleTmp(out), 1);
  t.false(existsSync(dead));
  t.true(existsSync(live));
  t.true(existsSync(other));
});

test('queue job data from Redis is checked before it names a file', (t) => {
  const ok = { path: '/evidence/a.dmp', sha256: 'a'.repeat(64), size: 1, outDir: '/out', options: { case: '-x', scan: false } };
  t.is(parseJobData(ok, 'a'.repeat(64)).options.case, '-x');
  t.throws(() => parseJobData({ ...ok, sha256: '../../etc' }, undefined), { message: /sha256/ });
  t.throws(() => parseJobData(ok, 'b'.repeat(64)), { message: /job id/ });
  t.throws(() => parseJobData({ ...ok, outDir: 'relative' }, undefined), { message: /absolute/ });
  t.throws(() => parseJobData({ ...ok, options: { shell: 'rm -rf /' } }, undefined), { message: /unknown option/ });
  t.throws(() => parseJobData({ ...ok, options: { symbols: ['rel/x.pdb'] } }, undefined), { message: /absolute/ });
});
