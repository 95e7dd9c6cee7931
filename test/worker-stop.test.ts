// The queue worker stops on SIGTERM within its grace period whatever state Redis is in (a real
// redis-server, stopped mid-run), a second signal stops it at once, and the temp leftovers of a
// killed worker are removed by the next worker start and by `queue status --clean`.
// No speed assertion: the deadlines below are far above what a stop takes and far below "never"
// (before this, a worker whose Redis was gone did not stop at all); the measured times are logged.
import test from 'ava';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { sha256File } from '../src/batch/hash.ts';
import { startRedis, type RedisHandle } from './helpers/redis.ts';
import { runDir } from './helpers/run-dir.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin/vsm-forensics.js');
const FAKE_WORKER = fileURLToPath(new URL('./helpers/fake-worker.ts', import.meta.url));
const TMP = runDir('worker-stop');
/** Far above a stop (about a second here) and far below "never". */
const STOP_DEADLINE_MS = 60_000;

interface Proc {
  child: ChildProcess;
  lines: string[];
  exited: Promise<{ code: number | null; signal: string | null; at: number }>;
}

function launch(argv: string[]): Proc {
  const child = spawn(process.execPath, argv, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  const p: Proc = {
    child,
    lines: [],
    exited: new Promise((r) => child.once('exit', (code, signal) => r({ code, signal, at: Date.now() }))),
  };
  let buf = '';
  child.stderr!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      p.lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  return p;
}

async function until(what: string, cond: () => boolean, ms = 120_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Exit of `p` or undefined when it is still running after `ms`. */
async function exitWithin(p: Proc, ms: number) {
  return Promise.race([p.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), ms).unref())]);
}

function cli(...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 120_000 });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A pid of this host that is certainly gone: a child that has exited and been reaped. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

const host = hostname().replace(/[^A-Za-z0-9_.]/g, '_').slice(0, 64) || 'host';

/** What a worker killed mid-job leaves: its temp directory under DIR/.tmp and a half-written index file. */
function leaveLeftovers(out: string): string[] {
  const pid = deadPid();
  const dir = join(out, '.tmp', `0123456789abcdef-${host}-${pid}-AbCdEf`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'report.json'), '{"half":');
  const file = join(out, `index.html.${host}-${pid}-k3j4h5.tmp`);
  writeFileSync(file, '<html');
  // Another host's leftovers are not ours to judge: they stay.
  const foreign = join(out, '.tmp', `0123456789abcdef-other_host-${pid}-ZyXwVu`);
  mkdirSync(foreign, { recursive: true });
  return [dir, file, foreign];
}

async function submitted(redis: RedisHandle, queue: string, content: Buffer, out: string): Promise<string> {
  const dir = join(TMP, `${queue}-evidence`);
  mkdirSync(dir, { recursive: true });
  const dump = join(dir, 'one.dmp');
  writeFileSync(dump, content);
  const r = cli('queue', 'submit', dump, '--out', out, '--redis', redis.url, '--queue', queue);
  if (r.status !== 0) throw new Error(`submit: ${r.stderr}`);
  return sha256File(dump);
}

test.serial('the worker CLI stops on SIGTERM with its Redis stopped (no job running)', async (t) => {
  const redis = await startRedis(TMP);
  const w = launch([BIN, 'worker', '--redis', redis.url, '--queue', 'idle', '--grace', '30', '--concurrency', '1']);
  try {
    await until('the worker to be ready', () => w.lines.some((l) => l.includes('ready:')));
    await redis.stop();
    const t0 = Date.now();
    w.child.kill('SIGTERM');
    const e = await exitWithin(w, STOP_DEADLINE_MS);
    t.truthy(e, `still running ${STOP_DEADLINE_MS} ms after SIGTERM: ${w.lines.slice(-5).join(' | ')}`);
    t.is(e?.code, 0);
    t.log(`SIGTERM → exit with Redis stopped, no job: ${e!.at - t0} ms (grace 30 s)`);
  } finally {
    w.child.kill('SIGKILL');
  }
});

/** A fake worker holding a hung analysis of a freshly queued job, its Redis already stopped. */
async function hungJobRedisStopped(queue: string, graceMs: number): Promise<{ w: Proc; sha: string; out: string; analyzerPid: number }> {
  const redis = await startRedis(TMP);
  const out = join(TMP, `${queue}-out`);
  mkdirSync(out, { recursive: true });
  const sha = await submitted(redis, queue, Buffer.concat([Buffer.from('HANG'), randomBytes(4096)]), out);
  const w = launch(['--import', 'tsx', FAKE_WORKER, redis.url, queue, String(graceMs)]);
  const started = () => w.lines.find((l) => l.includes(`analyzer ${sha} pid `));
  // Signals are handled once the worker says it is ready (before that, SIGTERM simply ends it).
  await until('the worker to be ready and the analysis to start', () => w.lines.some((l) => l.includes('ready:')) && started() !== undefined);
  await redis.stop();
  return { w, sha, out, analyzerPid: Number(/pid (\d+)/.exec(started()!)![1]) };
}

test.serial('a running analysis gets the grace period, then is stopped, with Redis stopped', async (t) => {
  const { w, sha, out, analyzerPid } = await hungJobRedisStopped('grace', 3000);
  try {
    const t0 = Date.now();
    w.child.kill('SIGTERM');
    const e = await exitWithin(w, STOP_DEADLINE_MS);
    t.truthy(e, `still running ${STOP_DEADLINE_MS} ms after SIGTERM: ${w.lines.slice(-5).join(' | ')}`);
    t.true(e!.at - t0 >= 3000, `the analysis had its grace period (${e!.at - t0} ms)`);
    t.false(alive(analyzerPid), 'the analysis was stopped when the grace period ended');
    t.false(existsSync(join(out, sha, 'result.json')), 'nothing was committed for the stopped analysis');
    t.log(`SIGTERM → exit with Redis stopped and a hung analysis, grace 3 s: ${e!.at - t0} ms`);
  } finally {
    w.child.kill('SIGKILL');
  }
});

test.serial('a second SIGTERM stops the worker at once, with Redis stopped and an analysis running', async (t) => {
  const GRACE_MS = 600_000;
  const { w, analyzerPid } = await hungJobRedisStopped('twice', GRACE_MS);
  try {
    const t0 = Date.now();
    w.child.kill('SIGTERM');
    await until('the first signal to be taken', () => w.lines.some((l) => l.includes('SIGTERM: finishing')));
    t.is(await exitWithin(w, 1000), undefined, 'one signal waits for the running analysis');
    w.child.kill('SIGTERM');
    const e = await exitWithin(w, STOP_DEADLINE_MS);
    t.truthy(e, `still running ${STOP_DEADLINE_MS} ms after the second SIGTERM: ${w.lines.slice(-5).join(' | ')}`);
    t.false(alive(analyzerPid));
    t.log(`two SIGTERMs → exit with Redis stopped and a hung analysis (grace ${GRACE_MS / 1000} s): ${e!.at - t0} ms after the first`);
  } finally {
    w.child.kill('SIGKILL');
  }
});

test.serial('a killed worker’s temp leftovers are removed by the next worker start and by queue status --clean', async (t) => {
  const redis = await startRedis(TMP);
  try {
    const out = join(TMP, 'clean-out');
    mkdirSync(out, { recursive: true });
    await submitted(redis, 'clean', Buffer.concat([Buffer.from('BAD!'), randomBytes(4096)]), out);
    const [dir, file, foreign] = leaveLeftovers(out);
    const st = cli('queue', 'status', '--clean', '--json', '--redis', redis.url, '--queue', 'clean');
    t.is(st.status, 0, st.stderr);
    const cleaned = JSON.parse(st.stdout).cleaned as { dir: string; removed: number }[];
    t.deepEqual(cleaned, [{ dir: out, removed: 2 }]);
    t.false(existsSync(dir));
    t.false(existsSync(file));
    t.true(existsSync(foreign), 'another host’s temp directory is left alone');

    const [dir2, file2] = leaveLeftovers(out);
    const w = launch([BIN, 'worker', '--redis', redis.url, '--queue', 'clean', '--concurrency', '1', '--grace', '30']);
    try {
      await until('the worker to be ready', () => w.lines.some((l) => l.includes('ready:')));
      await until('the leftovers to be removed', () => !existsSync(dir2) && !existsSync(file2), 60_000);
      t.pass();
    } finally {
      w.child.kill('SIGTERM');
      await exitWithin(w, STOP_DEADLINE_MS);
      w.child.kill('SIGKILL');
    }
  } finally {
    await redis.stop();
  }
});
