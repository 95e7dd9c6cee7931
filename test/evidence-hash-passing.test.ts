// batch and the queue worker hash each evidence file once (for its result key) and pass that hash
// to the analysis, which records it (and when it was computed) instead of reading the file again.
import test from 'ava';
import { cli } from './helpers/cli.ts';
import { mkdirSync, rmSync } from 'node:fs';
import { generate } from '../samples/generate.ts';
import { analyzeArgs } from '../src/batch/analyzer.ts';
import { parseJobData } from '../src/batch/queue/job-data.ts';
import { hashStillValid } from '../src/batch/run-job.ts';
import type { EvidenceJob } from '../src/batch/types.ts';

const DIR = new URL('./.tmp/evidence-hash-passing/', import.meta.url).pathname;
rmSync(DIR, { recursive: true, force: true });
mkdirSync(DIR, { recursive: true });


test('analyze records a hash it is given instead of computing one; a malformed one is a usage error', async (t) => {
  const dump = `${DIR}cg.dmp`;
  generate({ scenario: 'vsm-credential-guard', form: 'full', sizeBytes: 24 << 20, out: dump, seed: 4 });
  // Not the file's hash: had analyze hashed the file, the report would say otherwise.
  const given = '0'.repeat(63) + '1';
  const at = '2026-01-02T03:04:05.678Z';
  const r = await cli('analyze', dump, '--json', '-', '--evidence-sha256', given, '--evidence-sha256-at', at);
  t.is(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  t.is(report.evidence.sha256, given);
  t.is(report.evidence.sha256ComputedAt, at);
  for (const bad of [['--evidence-sha256', 'abc', '--evidence-sha256-at', at], ['--evidence-sha256', given], ['--evidence-sha256', given, '--evidence-sha256-at', 'yesterday']]) {
    const b = await cli('analyze', dump, '--json', '-', ...bad);
    t.is(b.code, 64, bad.join(' '));
    t.regex(b.stderr, /evidence-sha256/);
    t.is(b.stdout, '');
  }
});

test('the runner passes the hash on only while the file is as it was hashed', (t) => {
  const job: EvidenceJob = { path: '/e/a.dmp', sha256: 'a'.repeat(64), sha256At: '2026-01-02T03:04:05.000Z', size: 4096, outDir: '/out', options: {}, queuedAt: '2026-01-02T03:04:06.000Z' };
  const hashedAt = new Date(job.sha256At!);
  t.deepEqual(hashStillValid(job, 4096, new Date(hashedAt.getTime() - 60_000)), { sha256: job.sha256, at: job.sha256At! });
  t.is(hashStillValid(job, 4097, new Date(hashedAt.getTime() - 60_000)), undefined, 'size changed');
  t.is(hashStillValid(job, 4096, new Date(hashedAt.getTime() + 1)), undefined, 'modified after it was hashed');
  t.is(hashStillValid({ ...job, sha256At: undefined }, 4096, new Date(0)), undefined, 'a job from an older submitter: analyze hashes');
  const args = analyzeArgs('/e/a.dmp', {}, { sha256: job.sha256, at: job.sha256At! });
  t.true(args.includes(`--evidence-sha256=${job.sha256}`));
  t.true(args.includes(`--evidence-sha256-at=${job.sha256At}`));
  t.false(analyzeArgs('/e/a.dmp', {}).some((a) => a.startsWith('--evidence-sha256')));
});

test('queue job data: sha256At is kept when it is an ISO-8601 UTC time, refused otherwise', (t) => {
  const ok = { path: '/evidence/a.dmp', sha256: 'a'.repeat(64), size: 1, outDir: '/out', options: {}, sha256At: '2026-01-02T03:04:05.000Z' };
  t.is(parseJobData(ok, undefined).sha256At, ok.sha256At);
  t.is(parseJobData({ ...ok, sha256At: undefined }, undefined).sha256At, undefined);
  for (const bad of ['2026-01-02', '--evidence-sha256=x', 5, '2026-13-45T99:99:99Z']) t.throws(() => parseJobData({ ...ok, sha256At: bad }, undefined), { message: /sha256At/ }, String(bad));
});
