// Registers "tampered scenario × every form, clean twin" tests for a share of the real layouts, so
// the corpus can be split over test files that ava runs in parallel. One dump on disk at a time.
import test from 'ava';
import { mkdirSync, rmSync } from 'node:fs';
import { FORMS, generate, type Form } from '../../samples/generate.ts';
import { KNOWN_KERNELS } from '../../samples/kernels.ts';
import { openDump } from '../../src/dump/open.ts';
import { analyzeDump } from '../../src/vsm/analyze.ts';
import type { Analysis } from '../../src/vsm/types.ts';
import type { Truth } from '../../samples/truth.ts';
import { checkInternals, TAMPER_RULES } from './internals-check.ts';

/** Small enough to be cheap, large enough for the scenario's user spaces and 300+ handles. */
export const INTERNALS_SIZE = 32 << 20;
export const TAMPERED = 'vsm-trustlet-tampered';
export const CLEAN = 'vsm-trustlet-clean';

/** The seven real layouts of ../shared/data/isf, one per build revision. */
export const LAYOUTS = KNOWN_KERNELS.map((k) => k.guidAge);

export async function analyzeGenerated(dir: string, scenario: string, isf: string, form: Form): Promise<{ a: Analysis; truth: Truth }> {
  const out = `${dir}${scenario}.${isf}.${form}.dmp`;
  const g = generate({ scenario, isf, form, sizeBytes: INTERNALS_SIZE, out, seed: 7 });
  const dump = openDump(out);
  try {
    return { a: await analyzeDump(dump, { symbols: { ntSymbolPath: '' } }), truth: g.truth };
  } finally {
    dump.close();
    rmSync(out, { force: true });
    rmSync(`${out}.truth.json`, { force: true });
  }
}

/** The form keeps no user page of `pid` (kernel dumps; the processes an active dump leaves out). */
function userPagesAbsent(truth: Truth, form: Form): (pid: number) => boolean {
  return (pid) => form === 'kernel' || truth.memory.excludedUserPids.includes(pid);
}

export function registerInternalsTests(part: number, parts: number, dirName: string): void {
  const dir = new URL(`../.tmp/${dirName}/`, import.meta.url).pathname;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const mine = LAYOUTS.filter((_, i) => i % parts === part);
  for (const isf of mine) {
    test.serial(`${TAMPERED} on ${isf}: every form matches the ground truth, with exactly the expected findings`, async (t) => {
      for (const form of FORMS) {
        const { a, truth } = await analyzeGenerated(dir, TAMPERED, isf, form);
        checkInternals(t, a, truth, `${TAMPERED}/${truth.build}/${form}`, { userPagesAbsent: userPagesAbsent(truth, form) });
      }
    });
    test.serial(`${CLEAN} on ${isf}: the clean twin raises none of the tampering findings`, async (t) => {
      const { a, truth } = await analyzeGenerated(dir, CLEAN, isf, 'full');
      checkInternals(t, a, truth, `${CLEAN}/${truth.build}/full`, { userPagesAbsent: () => false });
      t.deepEqual(
        a.findings.filter((f) => (TAMPER_RULES as readonly string[]).includes(f.rule)).map((f) => `${f.rule}:${f.evidence.pid}`),
        [],
      );
    });
  }
}
