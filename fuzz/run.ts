// npm run fuzz -- [--iterations N] [--target NAME[,NAME]] [--seed N] [--jobs N] [--timeout-ms N]
//                 [--max-rss-mb N] [--heap-mb N] [--no-minimize] [--replay FILE.json] [--list]
// Mutation fuzzing of every parser entry point (targets.ts). Each input runs in a child process
// under a time bound and a memory bound; an input passes when it ends in a result or a typed
// error with its documented exit code. Failures are saved under fuzz/.tmp/crashes/ as
// {target, seed, ops} (replayable, small) plus the input bytes, minimized by dropping edits.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mutate, type Seed } from './mutators.ts';
import { applyOps, describeOps, type Op } from './ops.ts';
import { crashKey } from './outcome.ts';
import { FuzzChild, type Limits, type RunResult } from './pool.ts';
import { Rng, iterationSeed } from './rng.ts';
import { TARGETS, targetByName, type Target } from './targets.ts';

const TMP = new URL('./.tmp/', import.meta.url).pathname;
const WORK = join(TMP, 'work');
const CRASHES = join(TMP, 'crashes');

interface Args {
  iterations: number;
  targets: Target[];
  seed: number;
  jobs: number;
  limits: Limits;
  minimize: boolean;
  replay?: string;
  list: boolean;
}

function parseArgs(argv: string[]): Args {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    if (i >= 0) return argv[i + 1];
    const eq = argv.find((a) => a.startsWith(`--${name}=`));
    return eq?.slice(name.length + 3);
  };
  const num = (name: string, dflt: number) => {
    const v = get(name);
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} needs a number, got ${v}`);
    return n;
  };
  const names = get('target')?.split(',').filter(Boolean);
  const targets = names ? names.map((n) => targetByName(n) ?? fail(`unknown target ${n}; --list shows them`)) : [...TARGETS];
  return {
    iterations: num('iterations', 1000),
    targets,
    seed: num('seed', 1),
    jobs: Math.max(1, num('jobs', 2)),
    limits: { timeoutMs: num('timeout-ms', 5000), maxRssMb: num('max-rss-mb', 1024), heapMb: num('heap-mb', 512) },
    minimize: !argv.includes('--no-minimize'),
    replay: get('replay'),
    list: argv.includes('--list'),
  };
}

function fail(msg: string): never {
  process.stderr.write(`fuzz: ${msg}\n`);
  process.exit(64);
}

type Failure = { kind: 'crash' | 'hang' | 'oom' | 'died'; key: string; detail: string };

/** A run result as pass (undefined) or a failure with a de-duplication key. */
export function failureOf(r: RunResult): Failure | undefined {
  switch (r.kind) {
    case 'done':
      if (r.outcome.kind !== 'crash') return undefined;
      return { kind: 'crash', key: crashKey(r.outcome), detail: `${r.outcome.name}: ${r.outcome.message}\n${r.outcome.stack.split('\n').slice(1, 6).join('\n')}` };
    case 'hang':
      return { kind: 'hang', key: 'hang', detail: `over the CPU-time bound (${r.ms} ms wall)` };
    case 'oom':
      return { kind: 'oom', key: 'oom', detail: r.detail };
    case 'died':
      return { kind: 'died', key: `died:${r.detail.slice(0, 80)}`, detail: r.detail };
  }
}

interface TargetStats {
  target: string;
  seeds: number;
  iterations: number;
  results: number;
  partial: number;
  typed: number;
  crashes: number;
  hangs: number;
  ooms: number;
  died: number;
  uniqueFailures: number;
  peakRssMb: number;
  maxInputMs: number;
  meanInputMs: number;
  seconds: number;
  typedCodes: Record<string, number>;
  failures: Array<{ key: string; kind: string; count: number; file: string; ops: string; detail: string }>;
}

function writeInput(path: string, seed: Seed, ops: readonly Op[]): void {
  writeFileSync(path, applyOps(seed.data, ops));
}

async function fuzzTarget(t: Target, args: Args): Promise<TargetStats> {
  const t0 = performance.now();
  const seeds = t.seeds();
  if (seeds.length === 0) throw new Error(`target ${t.name} has no seeds (is ../shared there?)`);
  const children = Array.from({ length: args.jobs }, () => new FuzzChild(args.limits));
  const st: TargetStats = {
    target: t.name, seeds: seeds.length, iterations: 0, results: 0, partial: 0, typed: 0, crashes: 0, hangs: 0, ooms: 0, died: 0,
    uniqueFailures: 0, peakRssMb: 0, maxInputMs: 0, meanInputMs: 0, seconds: 0, typedCodes: {}, failures: [],
  };
  const unique = new Map<string, { seed: Seed; ops: Op[]; failure: Failure; count: number }>();
  let totalMs = 0;
  let next = 0;
  const progressEvery = Math.max(1, Math.floor(args.iterations / 10));

  const worker = async (slot: number) => {
    const child = children[slot]!;
    const path = join(WORK, `${t.name}-${slot}${t.ext}`);
    for (;;) {
      const i = next++;
      if (i >= args.iterations) return;
      // The first inputs are the seeds themselves, unmutated.
      const rng = new Rng(iterationSeed(args.seed, t.name, i));
      const seed = i < seeds.length ? seeds[i]! : rng.pick(seeds);
      const ops = i < seeds.length ? [] : mutate(rng, seed, t.mutators, t.maxOps);
      writeInput(path, seed, ops);
      const r = await child.run(t.entry, path);
      st.iterations++;
      if (r.kind === 'done') {
        st.peakRssMb = Math.max(st.peakRssMb, r.peakRssKb / 1024);
        st.maxInputMs = Math.max(st.maxInputMs, r.outcome.ms);
        totalMs += r.outcome.ms;
        if (r.outcome.kind === 'result') {
          st.results++;
          if (r.outcome.partial) st.partial++;
        } else if (r.outcome.kind === 'typed') {
          st.typed++;
          st.typedCodes[r.outcome.code] = (st.typedCodes[r.outcome.code] ?? 0) + 1;
        }
      } else if (r.kind === 'oom') st.peakRssMb = Math.max(st.peakRssMb, r.rssKb / 1024);
      const f = failureOf(r);
      if (f) {
        if (f.kind === 'crash') st.crashes++;
        else if (f.kind === 'hang') st.hangs++;
        else if (f.kind === 'oom') st.ooms++;
        else st.died++;
        const u = unique.get(f.key);
        if (u) u.count++;
        else {
          unique.set(f.key, { seed, ops, failure: f, count: 1 });
          process.stderr.write(`  ${t.name} #${i}: ${f.kind} ${f.key}\n`);
        }
      }
      if (st.iterations % progressEvery === 0) process.stderr.write(`  ${t.name}: ${st.iterations}/${args.iterations}\n`);
    }
  };
  await Promise.all(children.map((_, slot) => worker(slot)));

  // Minimize each distinct failure by dropping edits while it still fails the same way.
  for (const [key, u] of unique) {
    let ops = u.ops;
    if (args.minimize && ops.length > 1) ops = await minimizeOps(children[0]!, t, u.seed, ops, key, u.failure.kind === 'hang' ? 6 : 40);
    const id = createHash('sha256').update(`${t.name}\0${key}`).digest('hex').slice(0, 12);
    const file = join(CRASHES, `${t.name}-${u.failure.kind}-${id}.json`);
    writeFileSync(file, JSON.stringify({ target: t.name, seed: u.seed.name, ops, failure: u.failure }, null, 2) + '\n');
    writeInput(file.replace(/\.json$/, t.ext), u.seed, ops);
    st.failures.push({ key, kind: u.failure.kind, count: u.count, file, ops: describeOps(ops), detail: u.failure.detail });
  }
  for (const c of children) c.close();
  st.uniqueFailures = unique.size;
  st.meanInputMs = st.results + st.typed > 0 ? totalMs / (st.results + st.typed) : 0;
  st.seconds = (performance.now() - t0) / 1000;
  return st;
}

/** ddmin-lite: try removing each edit (then halves) and keep removals that preserve the failure key. */
async function minimizeOps(child: FuzzChild, t: Target, seed: Seed, ops: Op[], key: string, budget: number): Promise<Op[]> {
  const path = join(WORK, `${t.name}-min${t.ext}`);
  const stillFails = async (cand: Op[]) => {
    if (budget-- <= 0) return false;
    writeInput(path, seed, cand);
    return failureOf(await child.run(t.entry, path))?.key === key;
  };
  let cur = ops;
  for (let chunk = Math.ceil(cur.length / 2); chunk >= 1 && budget > 0; chunk = chunk === 1 ? 0 : Math.ceil(chunk / 2)) {
    for (let i = 0; i < cur.length && cur.length > 1 && budget > 0; ) {
      const cand = [...cur.slice(0, i), ...cur.slice(i + chunk)];
      if (cand.length > 0 && (await stillFails(cand))) cur = cand;
      else i += chunk;
    }
  }
  return cur;
}

async function replay(file: string, args: Args): Promise<number> {
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { target: string; seed: string; ops: Op[] };
  const t = targetByName(doc.target) ?? fail(`unknown target ${doc.target}`);
  const seed = t.seeds().find((s) => s.name === doc.seed) ?? fail(`target ${t.name} has no seed ${doc.seed}`);
  const path = join(WORK, `replay${t.ext}`);
  writeInput(path, seed, doc.ops);
  const child = new FuzzChild(args.limits);
  const r = await child.run(t.entry, path);
  child.close();
  process.stdout.write(JSON.stringify(r, null, 2) + '\n');
  return failureOf(r) ? 1 : 0;
}


async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  mkdirSync(WORK, { recursive: true });
  mkdirSync(CRASHES, { recursive: true });
  if (args.list) {
    for (const t of TARGETS) process.stdout.write(`${t.name.padEnd(12)} ${t.description}\n`);
    return 0;
  }
  if (args.replay) return replay(args.replay, args);
  process.stderr.write(
    `fuzz: ${args.targets.map((t) => t.name).join(', ')}; ${args.iterations} iterations each; seed ${args.seed}; ${args.jobs} jobs; ` +
      `bounds ${args.limits.timeoutMs} ms, ${args.limits.maxRssMb} MiB RSS, ${args.limits.heapMb} MiB heap\n`,
  );
  const all: TargetStats[] = [];
  for (const t of args.targets) all.push(await fuzzTarget(t, args));

  const rows = [
    ['target', 'seeds', 'iter', 'result', 'partial', 'typed', 'crash', 'hang', 'oom', 'died', 'peak RSS MiB', 'mean ms', 'max ms', 'time s'],
    ...all.map((s) => [
      s.target, s.seeds, s.iterations, s.results, s.partial, s.typed, s.crashes, s.hangs, s.ooms, s.died,
      s.peakRssMb.toFixed(0), s.meanInputMs.toFixed(1), s.maxInputMs.toFixed(0), s.seconds.toFixed(1),
    ].map(String)),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const r of rows) process.stdout.write(r.map((v, c) => (c === 0 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join('  ') + '\n');
  for (const s of all) {
    const codes = Object.entries(s.typedCodes).sort((a, b) => b[1] - a[1]);
    process.stdout.write(`\n${s.target}: typed errors ${codes.map(([c, n]) => `${c}×${n}`).join(', ') || 'none'}\n`);
    for (const f of s.failures) process.stdout.write(`  ${f.kind.toUpperCase()} ×${f.count} ${f.key}\n    ops: ${f.ops}\n    saved: ${f.file}\n    ${f.detail.split('\n').join('\n    ')}\n`);
  }
  writeFileSync(join(TMP, 'summary.json'), JSON.stringify({ seed: args.seed, iterations: args.iterations, limits: args.limits, targets: all }, null, 2) + '\n');
  const bad = all.reduce((n, s) => n + s.crashes + s.hangs + s.ooms + s.died, 0);
  process.stdout.write(`\n${bad === 0 ? 'no failures' : `${bad} failing inputs`} (summary: fuzz/.tmp/summary.json)\n`);
  return bad === 0 ? 0 : 1;
}

process.exitCode = await main();
