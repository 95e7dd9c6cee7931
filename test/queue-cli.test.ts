// Queue edges against a real redis-server: an unreachable Redis, a damaged dump (fails once,
// recorded, never retried, resubmission finds it settled), and hostile job data put straight
// into Redis (refused before it names a file).
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { generate } from '../samples/generate.ts';
import { sha256File } from '../src/batch/hash.ts';
import { readResult } from '../src/batch/layout.ts';
import { startWorker, type RunningWorker } from '../src/batch/queue/worker.ts';
import { freePort, startRedis, type RedisHandle } from './helpers/redis.ts';
import { runDir } from './helpers/run-dir.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin/vsm-forensics.js');
const TMP = runDir('queue-cli');

let redis: RedisHandle;
let worker: RunningWorker;
const lines: string[] = [];
test.before(async () => {
  redis = await startRedis(TMP);
  worker = await startWorker({ redis: redis.url, queue: 'edges', concurrency: 1, lockMs: 5000, name: 'edge-worker', log: (l) => lines.push(l) });
});
test.after.always(async () => {
  await worker?.close(true);
  await redis?.stop();
});

function cli(...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8' });
}

async function waitFinished(jobId: string): Promise<void> {
  const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
  const q = new Queue('edges', { connection: conn });
  const end = Date.now() + 60_000;
  try {
    while (Date.now() < end) {
      const j = await q.getJob(jobId);
      const st = j ? await j.getState() : 'missing';
      if (st === 'completed' || st === 'failed') return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`job ${jobId} did not finish`);
  } finally {
    await q.close();
    conn.disconnect();
  }
}

test.serial('an unreachable Redis is one line and exit 69', async (t) => {
  const port = await freePort();
  const r = cli('queue', 'status', '--redis', `redis://:secret@127.0.0.1:${port}`);
  t.is(r.status, 69);
  t.regex(r.stderr, /^vsm-forensics: cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/?: .*ECONNREFUSED/);
  t.false(r.stderr.includes('secret'), 'the password is not printed');
  t.is(r.stderr.trim().split('\n').length, 1);
  t.is(cli('queue', 'status', '--redis', 'http://example.invalid').status, 64);
});

test.serial('a damaged dump fails once, is recorded, and a resubmission finds it settled', async (t) => {
  const dir = join(TMP, 'damaged');
  const out = join(TMP, 'damaged-out');
  const good = join(dir, 'good.dmp');
  generate({ scenario: 'vsm-credential-guard', form: 'full', sizeBytes: 16 * 2 ** 20, seed: 7, out: good });
  const bad = join(dir, 'cut.dmp');
  writeFileSync(bad, readFileSync(good).subarray(0, 4096));
  rmSync(good);
  rmSync(`${good}.truth.json`);
  const sha = await sha256File(bad);

  const sub = cli('queue', 'submit', bad, '--out', out, '--redis', redis.url, '--queue', 'edges', '--attempts', '3', '--backoff', '1');
  t.is(sub.status, 0, sub.stderr);
  t.regex(sub.stdout, new RegExp(`^queued +${sha}`, 'm'));
  await waitFinished(sha);

  const rec = readResult(out, sha)!;
  t.is(rec.status, 'failed');
  t.is(rec.exitCode, 2);
  t.is(rec.runner.attempt, 1, 'bad input is not retried');
  t.false(rec.retryable);
  const status = JSON.parse(cli('queue', 'status', '--json', '--redis', redis.url, '--queue', 'edges').stdout);
  t.is(status.counts.failed, 1);
  t.is(status.failed[0].sha256, sha);
  t.regex(status.failed[0].reason, /^bad-input: /);
  t.is(status.failed[0].attempts, 1);

  const again = cli('queue', 'submit', bad, '--out', out, '--redis', redis.url, '--queue', 'edges');
  t.regex(again.stdout, new RegExp(`^already-done +${sha}`, 'm'));
  // The fleet view lists it, with a failure event for the SIEM.
  // Wait for the fleet view (written after the job settles) rather than a fixed sleep a slow machine can outrun.
  const viewBy = Date.now() + 60_000;
  while (Date.now() < viewBy && !(existsSync(join(out, 'events.ndjson')) && readFileSync(join(out, 'index.html'), 'utf8').includes(sha))) await new Promise((r) => setTimeout(r, 100));
  t.true(readFileSync(join(out, 'index.html'), 'utf8').includes(sha));
  const ev = JSON.parse(readFileSync(join(out, 'events.ndjson'), 'utf8').trim());
  t.is(ev.event.outcome, 'failure');
  t.is(ev.file.hash.sha256, sha);
});

test.serial('hostile job data in Redis is refused before it names a file', async (t) => {
  const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
  const q = new Queue('edges', { connection: conn });
  try {
    const victim = join(TMP, 'victim');
    mkdirSync(victim, { recursive: true });
    await q.add('analyze', { path: '/etc/passwd', sha256: '../victim', size: 1, outDir: TMP, options: {} }, { jobId: 'evil-1', attempts: 3 });
    await q.add('analyze', { path: '/etc/passwd', sha256: 'a'.repeat(64), size: 1, outDir: TMP, options: { symbols: ['--help'] } }, { jobId: 'a'.repeat(64), attempts: 3 });
    await waitFinished('evil-1');
    await waitFinished('a'.repeat(64));
    const j1 = await q.getJob('evil-1');
    const j2 = await q.getJob('a'.repeat(64));
    t.regex(j1!.failedReason, /sha256/);
    t.is(j1!.attemptsMade, 1, 'refused outright, not retried');
    t.regex(j2!.failedReason, /absolute path/);
    t.deepEqual(readdirSync(victim), []);
    t.false(existsSync(join(TMP, '.tmp')));
  } finally {
    await q.close();
    conn.disconnect();
  }
});

test.serial('a crash mid-analysis is retried with back-off and the retry’s result is the one written', async (t) => {
  // Fault injection needs a misbehaving analyzer: the test double, crashing on its first run only.
  const markers = join(TMP, 'crash-markers');
  mkdirSync(markers, { recursive: true });
  process.env.FAKE_CRASH_ONCE = markers;
  const flakyLines: string[] = [];
  const flaky = await startWorker({
    redis: redis.url,
    queue: 'flaky',
    concurrency: 1,
    lockMs: 5000,
    name: 'flaky-worker',
    log: (l) => flakyLines.push(l),
    analyzer: { command: process.execPath, args: ['--import', 'tsx', fileURLToPath(new URL('./helpers/fake-analyze.ts', import.meta.url))] },
  });
  try {
    const dump = join(TMP, 'flaky', 'one.dmp');
    mkdirSync(join(TMP, 'flaky'), { recursive: true });
    writeFileSync(dump, randomBytes(64 * 1024));
    const sha = await sha256File(dump);
    const out = join(TMP, 'flaky-out');
    const sub = cli('queue', 'submit', dump, '--out', out, '--redis', redis.url, '--queue', 'flaky', '--attempts', '3', '--backoff', '0.5');
    t.is(sub.status, 0, sub.stderr);
    const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
    const q = new Queue('flaky', { connection: conn });
    try {
      const end = Date.now() + 60_000;
      let state = '';
      while (Date.now() < end && state !== 'completed' && state !== 'failed') {
        state = (await (await q.getJob(sha))?.getState()) ?? '';
        await new Promise((r) => setTimeout(r, 100));
      }
      t.is(state, 'completed', flakyLines.join('\n'));
      const job = await q.getJob(sha);
      t.is(job!.attemptsMade, 2);
    } finally {
      await q.close();
      conn.disconnect();
    }
    const rec = readResult(out, sha)!;
    t.is(rec.status, 'ok');
    t.is(rec.runner.attempt, 2, 'the first, crashed attempt committed nothing');
    t.true(flakyLines.some((l) => /attempt 1 failed: batch\.killed/.test(l)), flakyLines.join('\n'));
    t.deepEqual(readdirSync(join(out, '.tmp')), []);
  } finally {
    delete process.env.FAKE_CRASH_ONCE;
    await flaky.close(true);
  }
});
