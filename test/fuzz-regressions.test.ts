// Inputs the fuzzer found failing (test/fuzz-regressions/*.json: target, seed, edit list, and the
// typed outcome the fixed code gives), replayed in a watched child process so that a regressed
// hang or memory blow-up fails the test instead of stalling the suite. Also: the harness's own
// watchdog classifies a hang, a memory overrun, a crash and a typed error correctly, and a short
// seeded fuzz run of every target ends without a failure.
import test from 'ava';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { failureOf, fuzzTarget, writeInput } from '../fuzz/campaign.ts';
import type { Seed } from '../fuzz/mutators.ts';
import type { Op } from '../fuzz/ops.ts';
import { FuzzChild, type Limits } from '../fuzz/pool.ts';
import { TARGETS, targetByName } from '../fuzz/targets.ts';

const DIR = new URL('./fuzz-regressions/', import.meta.url).pathname;
const TMP = new URL('./.tmp/fuzz-regressions/', import.meta.url).pathname;
mkdirSync(TMP, { recursive: true });

interface Case {
  target: string;
  seed: string;
  ops: Op[];
  found: string;
  /** A tighter CPU-time bound for inputs that once took too long (their regression is slowness): the floor of a bound scaled by the clean seed's time in the same run. */
  maxCpuMs?: number;
  expect: { kind: 'result' } | { kind: 'typed'; exitCode: number; code: string };
}

const LIMITS: Limits = { timeoutMs: 10_000, maxRssMb: 1024, heapMb: 512 };
const seedCache = new Map<string, Seed[]>();
function seedsOf(target: string): Seed[] {
  let s = seedCache.get(target);
  if (!s) seedCache.set(target, (s = targetByName(target)!.seeds()));
  return s;
}

const cases = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => [f.replace(/\.json$/, ''), JSON.parse(readFileSync(join(DIR, f), 'utf8')) as Case] as const);

let child: FuzzChild | undefined;
let second: FuzzChild | undefined;
test.after.always(() => {
  child?.close();
  second?.close();
});

test('regression cases are small and name a target and seed that exist', (t) => {
  t.true(cases.length > 0);
  for (const [name, c] of cases) {
    t.truthy(targetByName(c.target), `${name}: target ${c.target}`);
    t.true(JSON.stringify(c.ops).length < 16_384, `${name}: edit list is small`);
    t.true(c.found.length > 0, `${name}: says what was found`);
  }
});

for (const [name, c] of cases) {
  test.serial(`regression ${name} ends as ${c.expect.kind === 'typed' ? `${c.expect.code} (exit ${c.expect.exitCode})` : 'a result'}`, async (t) => {
    const target = targetByName(c.target)!;
    const seed = seedsOf(c.target).find((s) => s.name === c.seed);
    if (!seed) return t.fail(`seed ${c.seed} of ${c.target} is not available`);
    const path = join(TMP, `${name}${target.ext}`);
    writeInput(path, seed, c.ops);
    let r;
    if (c.maxCpuMs) {
      // A slowness regression: the bound is derived from this machine, in this run — the clean seed's
      // time here, ten times over (and never below the case's recorded bound) — so a slow or loaded
      // machine cannot turn it into a false hang, while the old behaviour (minutes) still fails.
      child ??= new FuzzChild(LIMITS);
      const clean = join(TMP, `${name}-clean${target.ext}`);
      writeInput(clean, seed, []);
      const ref = await child.run(target.entry, clean);
      if (ref.kind !== 'done') return t.fail(`the clean seed ${c.seed} did not finish: ${ref.kind}`);
      const budget = Math.max(c.maxCpuMs, 10 * Math.ceil(ref.outcome.ms));
      t.log(`clean seed ${Math.round(ref.outcome.ms)} ms here; CPU bound ${budget} ms`);
      const tight = new FuzzChild({ ...LIMITS, timeoutMs: budget });
      try {
        r = await tight.run(target.entry, path);
      } finally {
        tight.close();
      }
    } else {
      child ??= new FuzzChild(LIMITS);
      r = await child.run(target.entry, path);
    }
    const failure = failureOf(r);
    t.is(failure, undefined, failure ? `${failure.kind}: ${failure.detail}` : '');
    if (r.kind !== 'done') return;
    t.is(r.outcome.kind, c.expect.kind);
    if (c.expect.kind === 'typed' && r.outcome.kind === 'typed') {
      t.is(r.outcome.exitCode, c.expect.exitCode);
      t.is(r.outcome.code, c.expect.code);
    }
  });
}

test.serial('the watchdog turns a hang, a memory overrun, a crash and a typed error into the right verdicts', async (t) => {
  // Two watchdogs so that no verdict depends on this machine's speed: the hang child has a CPU bound
  // and a memory bound it cannot reach (the hang allocates nothing); the overrun child has a memory
  // bound and a CPU bound it cannot reach first however slow the machine is (an hour of CPU; filling
  // 600 MiB with 64 MiB buffers takes well under a second of CPU even on a loaded machine, and the
  // memory bound ends the run as soon as it is crossed). No wall-clock assertion: the verdicts are the test.
  const dog = new FuzzChild({ timeoutMs: 1500, maxRssMb: 4096, heapMb: 256 }, false);
  const memDog = new FuzzChild({ timeoutMs: 3_600_000, maxRssMb: 600, heapMb: 256 }, false);
  try {
    const run = async (first: string, on = dog) => {
      const p = join(TMP, `selftest-${first}.bin`);
      writeFileSync(p, first);
      return on.run('selftest', p);
    };
    const hang = await run('H');
    t.is(hang.kind, 'hang');
    const oom = await run('M', memDog);
    t.true(oom.kind === 'oom', `memory overrun gave ${oom.kind}`);
    const crash = await run('C');
    t.is(failureOf(crash)?.kind, 'crash');
    const typed = await run('T');
    t.true(typed.kind === 'done' && typed.outcome.kind === 'typed' && typed.outcome.exitCode === 2);
    t.is(failureOf(typed), undefined);
    const ok = await run('P');
    t.true(ok.kind === 'done' && ok.outcome.kind === 'result' && ok.outcome.partial);
    t.true(dog.restarts >= 1, 'the child was replaced after the hang');
    t.true(memDog.restarts >= 1, 'the child was replaced after the overrun');
  } finally {
    dog.close();
    memDog.close();
  }
});

test.serial('a short seeded fuzz run of every target ends without a crash, hang or overrun', async (t) => {
  const iterations = Number(process.env.FUZZ_TEST_ITERATIONS ?? 24);
  mkdirSync(join(TMP, 'crashes'), { recursive: true });
  child ??= new FuzzChild(LIMITS);
  second ??= new FuzzChild(LIMITS);
  for (const target of TARGETS) {
    const st = await fuzzTarget(target, {
      iterations,
      seed: 20260101,
      jobs: 2,
      limits: LIMITS,
      minimize: false,
      workDir: TMP,
      crashDir: join(TMP, 'crashes'),
      children: [child, second],
    });
    t.is(st.iterations, iterations, target.name);
    t.deepEqual(
      st.failures.map((f) => `${f.kind} ${f.key}: ${f.ops}`),
      [],
      `${target.name}: ${st.failures.map((f) => f.detail).join('\n')}`,
    );
    t.log(`${target.name}: ${st.results} results (${st.partial} partial), ${st.typed} typed, peak RSS ${st.peakRssMb.toFixed(0)} MiB, ${st.seconds.toFixed(1)} s`);
  }
});
