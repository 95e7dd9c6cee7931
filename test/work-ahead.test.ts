// Work done ahead (src/vsm/work-ahead.ts, src/vsm/steps/ahead.ts): the per-process reads queued
// from the process list before the scan, run while the evidence pass waits for its hash worker.
// Whether all, some or none of the jobs ran before the steps, the analysis is the same; and the
// evidence pass runs the jobs it is given only where it would wait, never changing what it reads.
import test from 'ava';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { generate } from '../samples/generate.ts';
import { openEvidencePass } from '../src/dump/evidence-pass.ts';
import { openDump } from '../src/dump/open.ts';
import type { Dump, IdleWork } from '../src/dump/types.ts';
import { analyzeDump } from '../src/vsm/analyze.ts';
import { WorkAhead } from '../src/vsm/work-ahead.ts';
import { physicalWith } from './helpers/fake-machine.ts';

const DIR = new URL('./.tmp/work-ahead/', import.meta.url).pathname;
rmSync(DIR, { recursive: true, force: true });
mkdirSync(DIR, { recursive: true });
const SIZE = 16 << 20;
const json = (x: unknown) => JSON.stringify(x, (_k, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v));

test('a value computed ahead is taken once, for its owner only; a job taken before it ran is skipped; a job that throws leaves nothing', (t) => {
  const ahead = new WorkAhead();
  const owner = {};
  let reads = 0;
  ahead.later('a', owner, () => (reads++, 'ahead'));
  ahead.later('a', owner, () => 'queued twice');
  ahead.later('b', owner, () => 'b ahead');
  ahead.later('c', undefined, () => {
    throw new Error('damaged');
  });
  t.true(ahead.runOne());
  t.is(reads, 1);
  t.is(ahead.take('a', owner, () => 'now'), 'ahead');
  t.is(ahead.take('a', owner, () => 'now'), 'now', 'taken once');
  t.is(ahead.take('b', owner, () => 'b now'), 'b now', 'not run yet: read by the step');
  t.true(ahead.runOne(), 'c runs (b was taken: skipped)');
  t.false(ahead.runOne());
  t.throws(() => ahead.take('c', undefined, () => { throw new Error('damaged, met by the step'); }), { message: 'damaged, met by the step' });
  ahead.later('d', owner, () => 'for another owner');
  t.true(ahead.runOne());
  t.is(ahead.take('d', {}, () => 'mine'), 'mine', 'another owner reads for itself');
  t.is(ahead.ran, 3);
  t.is(ahead.used, 1);
});

/** The dump with a physical memory whose scan runs up to `jobs` of the idle work before its first chunk. */
function runningAhead(dump: Dump, jobs: number): { dump: Dump; ran: () => number } {
  const inner = dump.physical!;
  let ran = 0;
  const physical = physicalWith(inner, {
    forEachChunk(visit, chunkBytes, idle?: IdleWork) {
      while (ran < jobs && idle?.()) ran++;
      inner.forEachChunk(visit, chunkBytes);
    },
  });
  return { dump: { ...dump, physical }, ran: () => ran };
}

const SCENARIOS = ['vsm-credential-guard', 'process-unlinked', 'vsm-trustlet-readable', 'hostile-names', 'list-cycle', 'truncated', 'build-14393'];
for (const scenario of SCENARIOS) {
  test.serial(`${scenario}: the analysis is the same with every job, some jobs or no job run ahead`, async (t) => {
    const path = `${DIR}${scenario}.dmp`;
    generate({ scenario, form: 'full', sizeBytes: SIZE, out: path, seed: 3 });
    const analyze = async (jobs: number) => {
      const d = openDump(path);
      try {
        const w = runningAhead(d, jobs);
        return { a: json(await analyzeDump(w.dump, { symbols: { ntSymbolPath: '' } })), ran: w.ran() };
      } finally {
        d.close();
      }
    };
    const none = await analyze(0);
    const all = await analyze(Number.MAX_SAFE_INTEGER);
    t.is(none.ran, 0);
    t.true(all.ran > 10, `every listed process queues reads (${all.ran} jobs)`);
    t.is(all.a, none.a);
    for (const some of [1, Math.floor(all.ran / 2), all.ran - 1]) t.is((await analyze(some)).a, none.a, `${some} of ${all.ran} jobs ahead`);
    // --no-internals queues fewer reads and still agrees with itself.
    const d = openDump(path);
    const w = runningAhead(d, Number.MAX_SAFE_INTEGER);
    const ni = json(await analyzeDump(w.dump, { internals: false, symbols: { ntSymbolPath: '' } }));
    d.close();
    const p = openDump(path);
    t.is(ni, json(await analyzeDump(p, { internals: false, symbols: { ntSymbolPath: '' } })));
    p.close();
    rmSync(path, { force: true });
    rmSync(`${path}.truth.json`, { force: true });
  });
}

test.serial('the evidence pass runs idle work only in its waits for the hash worker, and reads and hashes the same', async (t) => {
  const path = `${DIR}pass.full.dmp`;
  generate({ scenario: 'vsm-credential-guard', form: 'full', sizeBytes: 24 << 20, out: path, seed: 5 });
  const expected = createHash('sha256').update(readFileSync(path)).digest('hex');
  const chunks = (d: Dump, idle?: IdleWork) => {
    const out: string[] = [];
    d.physical!.forEachChunk((base, data) => out.push(`${base}:${createHash('sha256').update(data).digest('hex')}`), 64 * 1024, idle);
    return out;
  };
  const plain = openDump(path);
  const want = chunks(plain);
  plain.close();
  // 24 MiB in 64 KiB reads: the hash runs on its worker, and the reader may wait for a free buffer.
  const d = openDump(path);
  const pass = openEvidencePass(d, { chunkBytes: 64 * 1024 });
  let queued = 100_000;
  let ran = 0;
  const idle: IdleWork = () => (queued > 0 ? (queued--, ran++, true) : false);
  t.deepEqual(chunks(pass.dump, idle), want);
  const h = pass.finish();
  t.is(h.sha256, expected);
  t.true(h.onePass);
  t.is(h.idleJobs, ran, 'every job run is counted; none run outside the waits');
  t.true(h.waitSeconds >= 0 && h.idleSeconds >= 0);
  d.close();

  // The analysis through the pass, with its work queued ahead, equals the plain analysis.
  const a0 = openDump(path);
  const alone = json(await analyzeDump(a0, { symbols: { ntSymbolPath: '' } }));
  a0.close();
  const d2 = openDump(path);
  const p2 = openEvidencePass(d2, { chunkBytes: 64 * 1024 });
  const through = json(await analyzeDump(p2.dump, { symbols: { ntSymbolPath: '' } }));
  t.is(p2.finish().sha256, expected);
  t.is(through, alone);
  d2.close();
  rmSync(path, { force: true });
  rmSync(`${path}.truth.json`, { force: true });
});
