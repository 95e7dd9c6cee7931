// Evidence integrity: every command that reads evidence (info, info --json, analyze with every
// output, symbols which, batch, queue submit + worker on a real redis-server) leaves the dump byte-identical: same SHA-256, size, mtime and
// ctime, and atime too where the mount lets a reader leave it alone. The evidence is made
// read-only first (chmod 0444, and immutable with chattr +i when we are root and may), so a
// command that opened it for writing would fail; and where strace exists every open(2) of the
// evidence is checked for read-only flags, worker processes included.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from '../samples/generate.ts';
import { sha256File } from '../src/batch/hash.ts';
import { startRedis } from './helpers/redis.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin', 'vsm-forensics.js');
const TMP = new URL('./.tmp/evidence-integrity/', import.meta.url).pathname;
const EVIDENCE = join(TMP, 'evidence');
const OUT = join(TMP, 'out');
const TRIAGE = new URL('../../shared/data/real/triage_x64.dmp', import.meta.url).pathname;

const isRoot = process.getuid?.() === 0;
const hasStrace = spawnSync('strace', ['-V']).status === 0;
let immutable = false;

interface Snapshot {
  sha256: string;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  atimeMs: number;
  ino: number;
}

function snapshot(path: string): Snapshot {
  const st = statSync(path);
  const sha256 = createHash('sha256').update(readFileSync(path)).digest('hex');
  // Read the times after hashing: our own read must not be what changes them.
  const after = statSync(path);
  return { sha256, size: st.size, mtimeMs: after.mtimeMs, ctimeMs: after.ctimeMs, atimeMs: after.atimeMs, ino: st.ino };
}

/** Does the mount holding `path` update atime on every read (strictatime)? Then atime is not ours to keep. */
function strictAtime(path: string): boolean {
  try {
    const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' '));
    const best = mounts.filter((m) => m[1] && path.startsWith(m[1])).sort((a, b) => b[1]!.length - a[1]!.length)[0];
    return !!best && /(^|,)strictatime(,|$)/.test(best[3] ?? '');
  } catch {
    return false;
  }
}

function chattr(flag: '+i' | '-i', path: string): boolean {
  return spawnSync('chattr', [flag, path]).status === 0;
}

/** Runs the CLI (under strace when available); returns its exit code and the evidence opens seen. */
function cli(args: string[], watch: readonly string[]): { code: number | null; stderr: string; opens: string[] } {
  const trace = join(TMP, `strace-${process.pid}.txt`);
  const cmd = hasStrace ? 'strace' : process.execPath;
  const argv = hasStrace ? ['-f', '-qq', '-e', 'trace=open,openat,openat2,creat,truncate', '-o', trace, process.execPath, BIN, ...args] : [BIN, ...args];
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', VSM_SYMBOL_CACHE: join(TMP, 'symbol-cache') };
  delete env._NT_SYMBOL_PATH;
  const r = spawnSync(cmd, argv, { cwd: ROOT, env, encoding: 'utf8', timeout: 240_000, maxBuffer: 64 * 1024 * 1024 });
  let opens: string[] = [];
  if (hasStrace && existsSync(trace)) {
    opens = readFileSync(trace, 'utf8')
      .split('\n')
      .filter((l) => watch.some((w) => l.includes(`"${w}"`)));
    rmSync(trace);
  }
  return { code: r.status, stderr: r.stderr ?? '', opens };
}

const WRITE_FLAGS = /O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_APPEND|^\d+\s+(creat|truncate)\(/;

let full = '';
let raw = '';

test.before(() => {
  // Undo a previous run's immutable flag before cleaning up.
  for (const f of ['cg.dmp', 'cg.raw']) if (existsSync(join(EVIDENCE, f))) chattr('-i', join(EVIDENCE, f));
  rmSync(TMP, { recursive: true, force: true });
  mkdirSync(EVIDENCE, { recursive: true });
  mkdirSync(OUT, { recursive: true });
  full = generate({ scenario: 'vsm-credential-guard', form: 'full', sizeBytes: 16 * 2 ** 20, seed: 11, out: join(EVIDENCE, 'cg.dmp') }).dumpPath;
  raw = generate({ scenario: 'vsm-credential-guard', form: 'raw', sizeBytes: 16 * 2 ** 20, seed: 11, out: join(EVIDENCE, 'cg.raw') }).dumpPath;
  // The generator's ground truth is not evidence: keep it out of the batch input.
  for (const f of [full, raw]) rmSync(`${f}.truth.json`);
  const now = Date.now() / 1000;
  for (const f of [full, raw]) {
    // atime after mtime: a relatime mount then has no reason to touch atime on a read.
    utimesSync(f, now, now - 3600);
    chmodSync(f, 0o444);
    if (isRoot) immutable = chattr('+i', f) || immutable;
  }
});

test.after.always(() => {
  for (const f of [full, raw]) if (f && existsSync(f)) chattr('-i', f);
});

function commandsFor(dump: string, tag: string): Array<{ name: string; args: string[]; ok: number[] }> {
  const o = join(OUT, tag);
  return [
    { name: 'info', args: ['info', dump], ok: [0] },
    { name: 'info --json', args: ['info', dump, '--json'], ok: [0] },
    { name: 'symbols which --json', args: ['symbols', 'which', dump, '--json'], ok: [0, 4] },
    { name: 'analyze (json, ndjson, html, terminal)', args: ['analyze', dump, '--json', `${o}.json`, '--ndjson', `${o}.ndjson`, '--html', `${o}.html`], ok: [0, 1] },
  ];
}

function checkUnchanged(t: import('ava').ExecutionContext, path: string, before: Snapshot, what: string): void {
  const after = snapshot(path);
  t.is(after.sha256, before.sha256, `${what}: SHA-256 changed`);
  t.is(after.size, before.size, `${what}: size changed`);
  t.is(after.mtimeMs, before.mtimeMs, `${what}: mtime changed`);
  t.is(after.ctimeMs, before.ctimeMs, `${what}: ctime changed (metadata was touched)`);
  t.is(after.ino, before.ino, `${what}: the file was replaced`);
  if (!strictAtime(path)) t.is(after.atimeMs, before.atimeMs, `${what}: atime changed`);
}

for (const [tag, pick] of [
  ['full crash dump', () => full],
  ['raw image', () => raw],
] as const) {
  test.serial(`every command leaves a read-only ${tag} byte-identical and never opens it for writing`, (t) => {
    const dump = pick();
    t.is(statSync(dump).mode & 0o777, 0o444);
    const before = snapshot(dump);
    for (const c of commandsFor(dump, tag.replace(/\W+/g, '-'))) {
      const r = cli(c.args, [dump]);
      t.true(c.ok.includes(r.code ?? -1), `${c.name} exited ${r.code}: ${r.stderr.slice(-500)}`);
      checkUnchanged(t, dump, before, c.name);
      if (hasStrace) {
        t.true(r.opens.length > 0, `${c.name}: strace saw the evidence opened`);
        t.deepEqual(r.opens.filter((l) => WRITE_FLAGS.test(l)), [], `${c.name} opened the evidence for writing`);
      }
    }
    // The report records the SHA-256 it computed, and when.
    const report = JSON.parse(readFileSync(join(OUT, `${tag.replace(/\W+/g, '-')}.json`), 'utf8')) as { evidence: { sha256: string; sha256ComputedAt: string; size: number } };
    t.is(report.evidence.sha256, before.sha256);
    t.is(report.evidence.size, before.size);
    t.regex(report.evidence.sha256ComputedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    t.log(`${tag}: ${commandsFor(dump, 'x').length} commands; strace ${hasStrace ? 'on' : 'not available'}; immutable ${immutable}`);
  });
}

test.serial('batch over a directory of read-only evidence leaves every file byte-identical', (t) => {
  const before = [full, raw].map(snapshot);
  const r = cli(['batch', EVIDENCE, '-o', join(OUT, 'batch'), '--jobs', '1', '--json'], [full, raw]);
  t.true(r.code === 0 || r.code === 1, `batch exited ${r.code}: ${r.stderr.slice(-500)}`);
  [full, raw].forEach((f, i) => checkUnchanged(t, f, before[i]!, `batch (${f})`));
  if (hasStrace) t.deepEqual(r.opens.filter((l) => WRITE_FLAGS.test(l)), [], 'batch opened evidence for writing');
});

test.serial('queue submit and a worker over read-only evidence leave every file byte-identical', async (t) => {
  const before = [full, raw].map(snapshot);
  const redis = await startRedis(TMP);
  const out = join(OUT, 'queue');
  mkdirSync(out, { recursive: true });
  const trace = join(TMP, `strace-worker-${process.pid}.txt`);
  try {
    const sub = cli(['queue', 'submit', EVIDENCE, '--out', out, '--redis', redis.url, '--queue', 'integrity'], [full, raw]);
    t.is(sub.code, 0, sub.stderr.slice(-500));
    if (hasStrace) t.deepEqual(sub.opens.filter((l) => WRITE_FLAGS.test(l)), [], 'queue submit opened evidence for writing');
    const args = [BIN, 'worker', '--redis', redis.url, '--queue', 'integrity', '--concurrency', '1', '--quiet'];
    // Its own process group: strace, told to stop, detaches and leaves the worker it started running
    // (seen: a worker alive 25 minutes after the suite, retrying its stopped Redis), so the stop
    // below signals the whole group and waits until none of it is left.
    const worker = hasStrace
      ? spawn('strace', ['-f', '-qq', '-e', 'trace=open,openat,openat2,creat,truncate', '-o', trace, process.execPath, ...args], { cwd: ROOT, stdio: 'ignore', detached: true })
      : spawn(process.execPath, args, { cwd: ROOT, stdio: 'ignore', detached: true });
    const group = -worker.pid!;
    const groupAlive = () => {
      try {
        process.kill(group, 0);
        return true;
      } catch {
        return false;
      }
    };
    const signalGroup = (sig: NodeJS.Signals) => {
      try {
        process.kill(group, sig);
      } catch {
        // already gone
      }
    };
    try {
      const shas = await Promise.all([full, raw].map((f) => sha256File(f)));
      const end = Date.now() + 240_000;
      while (Date.now() < end && !shas.every((s) => existsSync(join(out, s, 'result.json')))) await new Promise((r) => setTimeout(r, 200));
      t.true(shas.every((s) => existsSync(join(out, s, 'result.json'))), 'the worker analyzed both dumps');
    } finally {
      // Stop the worker (and strace); its results are already committed. SIGKILL only if SIGTERM
      // has not ended the group within the grace period.
      signalGroup('SIGTERM');
      const end = Date.now() + 60_000;
      while (groupAlive() && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
      signalGroup('SIGKILL');
    }
    [full, raw].forEach((f, i) => checkUnchanged(t, f, before[i]!, `queue worker (${f})`));
    if (hasStrace && existsSync(trace)) {
      const opens = readFileSync(trace, 'utf8').split('\n').filter((l) => [full, raw].some((w) => l.includes(`"${w}"`)));
      t.true(opens.length > 0, 'strace saw the worker side open the evidence');
      t.deepEqual(opens.filter((l) => WRITE_FLAGS.test(l)), [], 'the worker or its analyzers opened evidence for writing');
      rmSync(trace);
    }
  } finally {
    await redis.stop();
  }
});

test.serial('the real triage dump, read in place, is unchanged by info, symbols which and analyze', (t) => {
  if (!existsSync(TRIAGE)) return t.pass('../shared/data/real/triage_x64.dmp not present');
  const before = snapshot(TRIAGE);
  t.is(before.sha256, '6875e8ff013eddb9d562165067be24e2a231a8851690bb101f6597ca9534cd28');
  for (const [args, ok] of [
    [['info', TRIAGE, '--json'], [0]],
    [['symbols', 'which', TRIAGE, '--json'], [0, 3, 4]],
    [['analyze', TRIAGE, '--json', join(OUT, 'triage.json')], [3]],
  ] as const) {
    const r = cli([...args], [TRIAGE]);
    t.true((ok as readonly number[]).includes(r.code ?? -1), `${args.slice(0, 2).join(' ')} exited ${r.code}: ${r.stderr.slice(-300)}`);
    checkUnchanged(t, TRIAGE, before, args[0]);
    if (hasStrace) t.deepEqual(r.opens.filter((l) => WRITE_FLAGS.test(l)), [], `${args[0]} opened the evidence for writing`);
  }
});
