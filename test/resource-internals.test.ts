// Memory bound of the process-internals walks: gen12's resource scenario (svchost.exe with 200,003
// handles in a level-2 table and 20,000 threads) analyzed in a child process whose peak RSS is
// measured; the assertion is on memory only, never on time.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generate } from '../samples/generate.ts';

const CHILD = fileURLToPath(new URL('./helpers/analyze-child.ts', import.meta.url));
const DIR = fileURLToPath(new URL('./.tmp/resource-internals/', import.meta.url));
/** The project's bound on peak RSS (TEAM rules: < 300 MB), with the test runtime's TypeScript loader included. */
const MAX_RSS_MB = 300;
/** The scenario's documented size (samples/README.md). */
const SIZE = 256 << 20;

test('200,000 handles and 20,000 threads in one process: every one reported, peak RSS under the bound', (t) => {
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  const out = `${DIR}resource.dmp`;
  try {
    generate({ scenario: 'large/resource-handles-threads', form: 'full', sizeBytes: SIZE, out, seed: 7 });
    const r = spawnSync(process.execPath, ['--import', 'tsx', CHILD, out], { encoding: 'utf8', maxBuffer: 1 << 24 });
    t.is(r.status, 0, r.stderr);
    const m = JSON.parse(r.stdout) as { startKb: number; peakKb: number; pid: number; handles: number; threads: number; partial: boolean; capsHit: unknown[]; findings: string[] };
    t.log(`peak RSS ${Math.round(m.peakKb / 1024)} MiB (runtime alone ${Math.round(m.startKb / 1024)} MiB) for ${m.handles} handles and ${m.threads} threads in PID ${m.pid}`);
    t.is(m.pid, 1452);
    t.is(m.handles, 200_003, 'every handle, none lost to a cap');
    t.is(m.threads, 20_000, 'every thread');
    t.deepEqual(m.capsHit, []);
    t.true(m.findings.includes('vsm.trustlet-handle-access'), 'the tampering traces are still found');
    t.true(m.peakKb / 1024 < MAX_RSS_MB, `peak RSS ${Math.round(m.peakKb / 1024)} MiB < ${MAX_RSS_MB} MiB`);
  } finally {
    rmSync(DIR, { recursive: true, force: true });
  }
});
