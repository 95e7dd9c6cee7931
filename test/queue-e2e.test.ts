// The queue across processes: a real redis-server, `queue submit` through the CLI, 3 worker
// processes, one SIGKILLed in the middle of a job. Every result must exist exactly once and equal
// what the analyzer alone writes for the same dump.
import test from 'ava';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { generate, type Form } from '../samples/generate.ts';
import { listScenarios } from '../samples/scenario.ts';
import { sha256File } from '../src/batch/hash.ts';
import { readResult } from '../src/batch/layout.ts';
import { runPool } from '../src/batch/pool.ts';
import { startRedis, type RedisHandle } from './helpers/redis.ts';
import { runDir } from './helpers/run-dir.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TMP = runDir('queue-e2e');
const BIN = join(ROOT, 'bin/vsm-forensics.js');


let redis: RedisHandle;
test.before(async () => {
  redis = await startRedis(TMP);
});
test.after.always(async () => {
  await redis?.stop();
});

/** Run-specific report fields: who ran it, when, how long, and where the report files went. */
function stable(report: Record<string, unknown>): Record<string, unknown> {
  const { run: _run, ...rest } = report;
  const ev = { ...(rest.evidence as Record<string, unknown>) };
  delete ev.sha256ComputedAt;
  return { ...rest, evidence: ev };
}

interface WorkerProc {
  readonly name: string;
  readonly child: ChildProcess;
  lines: string[];
}

function startWorkerProc(argv: string[], name: string, env: NodeJS.ProcessEnv): WorkerProc {
  const child = spawn(process.execPath, argv, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  const w: WorkerProc = { name, child, lines: [] };
  let buf = '';
  child.stderr!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      w.lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  return w;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Running (a zombie nobody reaps counts as gone: it no longer computes or writes). */
function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

interface Scenario {
  readonly dumps: string[];
  readonly workerArgv: (name: string, queue: string) => string[];
  readonly env: NodeJS.ProcessEnv;
  /** The analyzer alone on one dump, writing report.json into dir. */
  readonly standalone: (dump: string, dir: string) => Promise<void>;
}

async function killScenario(t: import('ava').ExecutionContext, sc: Scenario, queueName: string): Promise<void> {
  const out = join(TMP, `${queueName}-out`);
  const submit = spawnSync(process.execPath, [BIN, 'queue', 'submit', ...sc.dumps, '--out', out, '--redis', redis.url, '--queue', queueName, '--attempts', '3', '--backoff', '1'], { cwd: ROOT, encoding: 'utf8' });
  t.is(submit.status, 0, submit.stderr);
  t.is((submit.stdout.match(/^queued /gm) ?? []).length, sc.dumps.length, submit.stdout);
  // Submitting again adds nothing: the job id is the evidence hash.
  const again = spawnSync(process.execPath, [BIN, 'queue', 'submit', ...sc.dumps, '--out', out, '--redis', redis.url, '--queue', queueName], { cwd: ROOT, encoding: 'utf8' });
  t.is(again.status, 0, again.stderr);
  t.is((again.stdout.match(/^already-queued /gm) ?? []).length, sc.dumps.length, again.stdout);

  const workers = ['w1', 'w2', 'w3'].map((n) => startWorkerProc(sc.workerArgv(n, queueName), n, sc.env));
  try {
    // Kill w1 while its analyzer runs.
    const victim = workers[0];
    let killedSha = '';
    let orphanPid = 0;
    await until(
      'w1 to start an analysis',
      () => {
        const m = victim.lines.map((l) => /analyzer ([0-9a-f]{64}) pid (\d+)/.exec(l)).find(Boolean);
        if (m) [killedSha, orphanPid] = [m[1], Number(m[2])];
        return m !== undefined;
      },
      60_000,
    );
    await sleep(1000);
    victim.child.kill('SIGKILL');
    // Within a guard tick once its Node has started (slow on a loaded machine).
    await until('the killed worker’s analyzer to exit', () => !pidAlive(orphanPid), 120_000).catch((e) => {
      let stat = '';
      try {
        stat = readFileSync(`/proc/${orphanPid}/stat`, 'latin1');
      } catch {}
      throw new Error(`${e.message}: ${stat}\n${victim.lines.join('\n')}`);
    });

    const shas = await Promise.all(sc.dumps.map((d) => sha256File(d)));
    await until('12 results', () => shas.every((s) => existsSync(join(out, s, 'result.json'))), 120_000);

    // Exactly once: one directory per hash, one commit per hash, across all workers.
    t.deepEqual(readdirSync(out).filter((n) => /^[0-9a-f]{64}$/.test(n)).sort(), [...shas].sort());
    const survivors = workers.slice(1);
    await until('the workers to log their last commit', () => workers.flatMap((w) => w.lines).filter((l) => l.includes('(committed)')).length >= shas.length, 60_000);
    const commits = workers.flatMap((w) => w.lines.filter((l) => l.includes('(committed)')).map((l) => /(?:done|failed) ([0-9a-f]{64})/.exec(l)![1]));
    t.is(commits.length, shas.length, commits.join('\n'));
    t.is(new Set(commits).size, shas.length);
    t.false(victim.lines.some((l) => l.includes(killedSha) && l.includes('(committed)')), 'the killed run never committed');
    const killedRec = readResult(out, killedSha)!;
    t.not(killedRec.runner.worker, 'w1', 'another worker ran the stalled job');
    t.true(survivors.some((w) => w.lines.some((l) => l.includes(`start ${killedSha}`))));

    // Queue bookkeeping agrees.
    const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
    const q = new Queue(queueName, { connection: conn });
    await until('12 completed jobs', async () => (await q.getJobCounts('completed')).completed === shas.length, 60_000);
    // Nothing in Redis but job metadata: every key together is tiny beside the evidence.
    let keys = 0;
    let bytes = 0;
    for await (const batch of conn.scanStream({ count: 200 })) {
      for (const k of batch as string[]) {
        keys++;
        bytes += Number((await conn.call('MEMORY', 'USAGE', k)) ?? 0);
      }
    }
    const evidenceBytes = sc.dumps.length * 16 * 2 ** 20;
    t.true(bytes < 1 << 20, `${keys} Redis keys hold ${bytes} bytes`);
    t.log(`Redis after ${shas.length} jobs: ${keys} keys, ${bytes} bytes (evidence: ${evidenceBytes} bytes)`);
    await q.close();
    conn.disconnect();
    const status = spawnSync(process.execPath, [BIN, 'queue', 'status', '--json', '--redis', redis.url, '--queue', queueName], { cwd: ROOT, encoding: 'utf8' });
    t.is(status.status, 0, status.stderr);
    const st = JSON.parse(status.stdout);
    t.is(st.counts.completed, shas.length);
    t.is(st.counts.failed, 0);
    t.deepEqual(st.workers.map((w: { name: string }) => w.name).sort(), ['w2', 'w3'], 'the killed worker is gone from the queue');

    // Each result equals the analyzer alone on the same dump (two at a time: two cores).
    const aloneDir = (i: number) => join(TMP, `${queueName}-alone-${i}`);
    await runPool(sc.dumps, 2, async (dump, i) => {
      mkdirSync(aloneDir(i), { recursive: true });
      await sc.standalone(dump, aloneDir(i));
    });
    for (const [i, dump] of sc.dumps.entries()) {
      const rec = readResult(out, shas[i])!;
      t.is(rec.status, 'ok', `${dump}: ${rec.error?.message}`);
      const dir = aloneDir(i);
      const mine = JSON.parse(readFileSync(join(out, shas[i], 'report.json'), 'utf8'));
      const alone = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
      t.deepEqual(stable(mine), stable(alone), dump);
    }
    t.deepEqual(readdirSync(join(out, '.tmp')), [], 'no temp directory left, not even the killed worker’s');
    const index = readFileSync(join(out, 'index.html'), 'utf8');
    for (const s of shas) t.true(index.includes(s));
  } finally {
    if (process.env.QUEUE_TEST_LOG) writeFileSync(process.env.QUEUE_TEST_LOG, workers.map((w) => w.lines.join('\n')).join('\n----\n'));
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
    await Promise.all(workers.map((w) => (w.child.exitCode !== null || w.child.signalCode !== null ? null : new Promise((r) => w.child.once('exit', r)))));
  }
}

test.serial('12 dumps submitted, 3 worker processes, one SIGKILLed mid-job: 12 results, each once, each equal to analyze alone', async (t) => {
  const dir = join(TMP, 'dumps');
  const forms: Form[] = ['full', 'bitmap', 'raw'];
  // Twelve scenarios of the samples corpus (all seven real kernel layouts among them), three forms.
  const scenarios = listScenarios().slice(0, 12);
  t.is(scenarios.length, 12);
  const dumps = scenarios.map((scenario, i) => {
    const out = join(dir, `${String(i).padStart(2, '0')}-${scenario}-${forms[i % 3]}.dmp`);
    generate({ scenario, form: forms[i % 3], sizeBytes: 16 * 2 ** 20, seed: 200 + i, out });
    return out;
  });
  await killScenario(
    t,
    {
      dumps,
      workerArgv: (name, queue) => [BIN, 'worker', '--redis', redis.url, '--queue', queue, '--name', name, '--concurrency', '1', '--lock-duration', '2000'],
      env: {},
      standalone: (dump, d) =>
        new Promise((resolve, reject) => {
          const c = spawn(process.execPath, [BIN, 'analyze', dump, '--json', join(d, 'report.json'), '--ndjson', join(d, 'events.ndjson'), '--html', join(d, 'report.html')], { stdio: 'ignore' });
          c.on('exit', (code) => (code === 0 || code === 1 ? resolve() : reject(new Error(`analyze ${dump} exited ${code}`))));
        }),
    },
    'fleet',
  );
});
