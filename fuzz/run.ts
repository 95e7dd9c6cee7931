// npm run fuzz -- [--iterations N] [--target NAME[,NAME]] [--seed N] [--jobs N] [--timeout-ms N]
//                 [--max-rss-mb N] [--heap-mb N] [--no-minimize] [--list]
//                 [--replay FILE.json [--save-regression NAME]]
// Mutation fuzzing of every parser entry point (targets.ts). Each input runs in a child process
// under a time bound and a memory bound; an input passes when it ends in a result or a typed
// error with its documented exit code. Failures are saved under fuzz/.tmp/crashes/ as
// {target, seed, ops} (replayable, small) plus the input bytes, minimized by dropping edits.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { failureOf, fuzzTarget, writeInput, type TargetStats } from './campaign.ts';
import type { Op } from './ops.ts';
import { FuzzChild, type Limits } from './pool.ts';
import { TARGETS, targetByName, type Target } from './targets.ts';

const TMP = new URL('./.tmp/', import.meta.url).pathname;
const WORK = join(TMP, 'work');
const CRASHES = join(TMP, 'crashes');
const REGRESSIONS = new URL('../test/fuzz-regressions/', import.meta.url).pathname;

interface Args {
  iterations: number;
  targets: Target[];
  seed: number;
  jobs: number;
  limits: Limits;
  minimize: boolean;
  replay?: string;
  /** With --replay: write the input as test/fuzz-regressions/NAME.json expecting its (passing) outcome. */
  saveRegression?: string;
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
    saveRegression: get('save-regression'),
    list: argv.includes('--list'),
  };
}

function fail(msg: string): never {
  process.stderr.write(`fuzz: ${msg}\n`);
  process.exit(64);
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
  const failed = failureOf(r);
  if (args.saveRegression && !failed && r.kind === 'done') {
    // The fixed behaviour becomes the regression's expectation.
    const o = r.outcome;
    const expect = o.kind === 'typed' ? { kind: 'typed', exitCode: o.exitCode, code: o.code } : { kind: 'result' };
    const out = join(REGRESSIONS, `${args.saveRegression}.json`);
    const note = (doc as { note?: string }).note ?? (doc as { failure?: { detail?: string } }).failure?.detail?.split('\n')[0] ?? '';
    writeFileSync(out, JSON.stringify({ target: t.name, seed: seed.name, ops: doc.ops, found: note, expect }, null, 2) + '\n');
    process.stderr.write(`saved ${out}\n`);
  }
  return failed ? 1 : 0;
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
  for (const t of args.targets) all.push(await fuzzTarget(t, { ...args, workDir: WORK, crashDir: CRASHES, log: (l) => process.stderr.write(l + '\n') }));

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
