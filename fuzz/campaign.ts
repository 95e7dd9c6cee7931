// One fuzz campaign over a target: seeded inputs spread over child processes, outcomes counted,
// distinct failures minimized and saved as replayable {target, seed, ops} cases.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mutate, type Seed } from './mutators.ts';
import { applyOps, describeOps, type Op } from './ops.ts';
import { crashKey } from './outcome.ts';
import { FuzzChild, type Limits, type RunResult } from './pool.ts';
import { Rng, iterationSeed } from './rng.ts';
import type { Target } from './targets.ts';

export interface CampaignOptions {
  iterations: number;
  seed: number;
  jobs: number;
  limits: Limits;
  minimize: boolean;
  /** Where inputs are materialized (one file per child). */
  workDir: string;
  /** Where failing cases are saved. */
  crashDir: string;
  log?: (line: string) => void;
  /** Children to reuse (kept open); by default the campaign starts `jobs` and closes them. */
  children?: FuzzChild[];
}

export type Failure = { kind: 'crash' | 'hang' | 'oom' | 'died'; key: string; detail: string };

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

export interface TargetStats {
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

export function writeInput(path: string, seed: Seed, ops: readonly Op[]): void {
  writeFileSync(path, applyOps(seed.data, ops));
}

export async function fuzzTarget(t: Target, args: CampaignOptions): Promise<TargetStats> {
  const t0 = performance.now();
  const seeds = t.seeds();
  if (seeds.length === 0) throw new Error(`target ${t.name} has no seeds (is ../shared there?)`);
  const children = args.children ?? Array.from({ length: args.jobs }, () => new FuzzChild(args.limits));
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
    const path = join(args.workDir, `${t.name}-${slot}${t.ext}`);
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
          args.log?.(`  ${t.name} #${i}: ${f.kind} ${f.key}`);
        }
      }
      if (st.iterations % progressEvery === 0) args.log?.(`  ${t.name}: ${st.iterations}/${args.iterations}`);
    }
  };
  await Promise.all(children.map((_, slot) => worker(slot)));

  // Minimize each distinct failure by dropping edits while it still fails the same way.
  for (const [key, u] of unique) {
    let ops = u.ops;
    if (args.minimize && ops.length > 1) ops = await minimizeOps(children[0]!, t, u.seed, ops, key, u.failure.kind === 'hang' ? 6 : 40, args.workDir);
    const id = createHash('sha256').update(`${t.name}\0${key}`).digest('hex').slice(0, 12);
    const base = join(args.crashDir, `${t.name}-${u.failure.kind}-${id}`);
    const file = `${base}.case.json`;
    writeFileSync(file, JSON.stringify({ target: t.name, seed: u.seed.name, ops, failure: u.failure }, null, 2) + '\n');
    writeInput(`${base}.input${t.ext}`, u.seed, ops);
    st.failures.push({ key, kind: u.failure.kind, count: u.count, file, ops: describeOps(ops), detail: u.failure.detail });
  }
  if (!args.children) for (const c of children) c.close();
  st.uniqueFailures = unique.size;
  st.meanInputMs = st.results + st.typed > 0 ? totalMs / (st.results + st.typed) : 0;
  st.seconds = (performance.now() - t0) / 1000;
  return st;
}

/** ddmin-lite: try removing each edit (then halves) and keep removals that preserve the failure key. */
export async function minimizeOps(child: FuzzChild, t: Target, seed: Seed, ops: Op[], key: string, budget: number, workDir: string): Promise<Op[]> {
  const path = join(workDir, `${t.name}-min${t.ext}`);
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

