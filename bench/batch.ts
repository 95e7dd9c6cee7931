// Fleet throughput: `batch` with 1 and 2 workers, and the Redis queue (BullMQ) against `batch` on
// the same dumps. Prints figures; not a test.
//   node --import tsx bench/batch.ts [--dumps 8] [--size 64MiB] [--skip-queue]
// The corpus is generated once under bench/.tmp/batch/ (synthetic dumps from samples/, full,
// bitmap and raw forms in turn) and reused while its parameters match.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate, parseSize, type Form } from '../samples/generate.ts';
import { runBatch } from '../src/batch/batch.ts';
import { sha256File } from '../src/batch/hash.ts';
import { listResults } from '../src/batch/layout.ts';
import { submitEvidence } from '../src/batch/queue/submit.ts';
import { startRedis } from '../test/helpers/redis.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TMP = join(ROOT, 'bench/.tmp/batch');
const BIN = join(ROOT, 'bin/vsm-forensics.js');

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
}
const N = Number(arg('dumps', '8'));
const SIZE = parseSize(arg('size', '64MiB'));
const SKIP_QUEUE = process.argv.includes('--skip-queue');
const quiet = { update() {}, end() {} };

function corpus(): string[] {
  const dir = join(TMP, 'corpus');
  const stamp = join(dir, 'params.json');
  const params = JSON.stringify({ N, SIZE, v: 1 });
  const forms: Form[] = ['full', 'bitmap', 'raw'];
  const paths = Array.from({ length: N }, (_, i) => join(dir, `host${String(i).padStart(3, '0')}-${forms[i % 3]}.dmp`));
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === params && paths.every((p) => existsSync(p))) return paths;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const t0 = performance.now();
  paths.forEach((out, i) => generate({ scenario: 'vsm-credential-guard', form: forms[i % 3], sizeBytes: SIZE, seed: 1000 + i, out }));
  writeFileSync(stamp, params);
  console.log(`generated ${N} dumps of ${SIZE / 2 ** 20} MiB in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return paths;
}

const fmt = (x: number, d = 2) => x.toFixed(d);

async function main(): Promise<void> {
  const dumps = corpus();
  const bytes = dumps.reduce((a, p) => a + statSync(p).size, 0);
  const gib = bytes / 2 ** 30;
  console.log(`machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  console.log(`corpus: ${N} dumps, ${fmt(gib, 3)} GiB`);

  // Cost of one Node start of our CLI: the fixed per-job price of a process per analysis.
  const h0 = performance.now();
  spawnSync(process.execPath, [BIN, '--help'], { stdio: 'ignore' });
  const startMs = performance.now() - h0;

  // analyze alone, one after another: the reference the batch must not fall behind.
  const alone = join(TMP, 'alone');
  rmSync(alone, { recursive: true, force: true });
  mkdirSync(alone, { recursive: true });
  const a0 = performance.now();
  let aloneFailed = 0;
  for (const [i, d] of dumps.entries()) {
    const r = spawnSync(process.execPath, [BIN, 'analyze', d, '--json', join(alone, `${i}.json`), '--ndjson', join(alone, `${i}.ndjson`), '--html', join(alone, `${i}.html`)], { stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status !== 0 && r.status !== 1) aloneFailed++;
  }
  const aloneMs = performance.now() - a0;

  const rows: [string, number, number][] = [];
  const batchMs: Record<number, number> = {};
  let hashMs = 0;
  for (const jobs of [1, 2]) {
    const out = join(TMP, `out-batch-${jobs}`);
    rmSync(out, { recursive: true, force: true });
    const s = await runBatch({ inputs: dumps, outDir: out, jobs, progress: quiet });
    if (s.failed) console.log(`  (batch --jobs ${jobs}: ${s.failed} failed: ${s.items.find((i) => i.record?.status === 'failed')?.record?.error?.message})`);
    batchMs[jobs] = s.wallMs;
    hashMs = s.hashMs;
    rows.push([`batch --jobs ${jobs}`, s.wallMs, s.failed]);
    if (jobs === 2) {
      const again = await runBatch({ inputs: dumps, outDir: out, jobs, progress: quiet });
      rows.push([`batch --jobs 2, rerun (all skipped)`, again.wallMs, again.failed]);
    }
  }

  let queueMs = NaN;
  let submitMs = NaN;
  if (!SKIP_QUEUE) {
    const redis = await startRedis(join(TMP, 'redis'));
    const out = join(TMP, 'out-queue');
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    const worker = spawn(process.execPath, [BIN, 'worker', '--redis', redis.url, '--queue', 'bench', '--concurrency', '2'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    worker.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    try {
      while (!log.includes('ready:')) await new Promise((r) => setTimeout(r, 50));
      const shas = await Promise.all(dumps.map((d) => sha256File(d)));
      const q0 = performance.now();
      await submitEvidence(dumps, { redis: redis.url, queue: 'bench', outDir: out, options: {}, attempts: 1, backoffMs: 1000 });
      submitMs = performance.now() - q0;
      while (!shas.every((s) => existsSync(join(out, s, 'result.json')))) await new Promise((r) => setTimeout(r, 20));
      queueMs = performance.now() - q0;
      rows.push(['queue: submit + 1 worker process, concurrency 2', queueMs, 0]);
    } finally {
      worker.kill('SIGTERM');
      await new Promise((r) => worker.once('exit', r));
      await redis.stop();
    }
  }

  console.log('');
  console.log(`${'run'.padEnd(50)} ${'wall s'.padStart(8)} ${'dumps/s'.padStart(8)} ${'GiB/s'.padStart(8)}`);
  const line = (name: string, ms: number) => console.log(`${name.padEnd(50)} ${fmt(ms / 1000).padStart(8)} ${fmt(N / (ms / 1000)).padStart(8)} ${fmt(gib / (ms / 1000), 3).padStart(8)}`);
  line(`analyze alone, ${N} runs in sequence${aloneFailed ? ` (${aloneFailed} failed)` : ''}`, aloneMs);
  for (const [name, ms] of rows) line(name, ms);
  const meanAnalyze = (dir: string) => {
    const recs = listResults(dir);
    return recs.length ? recs.reduce((a, r) => a + r.timings.analyzeMs, 0) / recs.length : NaN;
  };
  console.log('');
  console.log(`mean analyzer wall per dump (child start + analysis): batch --jobs 1 ${fmt(meanAnalyze(join(TMP, 'out-batch-1')) / 1000)} s, --jobs 2 ${fmt(meanAnalyze(join(TMP, 'out-batch-2')) / 1000)} s${SKIP_QUEUE ? '' : `, queue ${fmt(meanAnalyze(join(TMP, 'out-queue')) / 1000)} s`}`);
  console.log(`load average after: ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  console.log(`node start of the CLI (--help): ${fmt(startMs / 1000)} s — the fixed price of one process per dump`);
  console.log(`hashing (batch, summed over files): ${fmt(hashMs / 1000)} s`);
  console.log(`batch speed-up 1 → 2 workers: ${fmt(batchMs[1] / batchMs[2])}×`);
  if (!SKIP_QUEUE) {
    console.log(`queue submit (hash + enqueue ${N} jobs): ${fmt(submitMs / 1000)} s`);
    console.log(`queue overhead per job vs batch --jobs 2: ${fmt((queueMs - batchMs[2]) / N)} ms`);
  }
}

await main();
