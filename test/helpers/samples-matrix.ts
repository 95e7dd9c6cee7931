// Registers "scenario × every form against its ground truth" tests for one share of the samples
// corpus, so the corpus can be split over test files that ava runs in parallel processes.
import test from 'ava';
import { mkdirSync, rmSync } from 'node:fs';
import { FORMS, generate } from '../../samples/generate.ts';
import { listScenarios } from '../../samples/scenario.ts';
import { openDump } from '../../src/dump/open.ts';
import { analyzeDump } from '../../src/vsm/analyze.ts';
import { checkAgainstTruth } from './truth-check.ts';
import { checkDetailsAgainstTruth } from './details-check.ts';

/** 24 MiB: the smallest size every scenario fits in (2 MiB pages, kernel image, user spaces). */
const SIZE = 24 << 20;

export function registerScenarioTests(part: number, parts: number, dirName: string): void {
  const dir = new URL(`../.tmp/${dirName}/`, import.meta.url).pathname;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const mine = listScenarios().filter((_, i) => i % parts === part);
  for (const scenario of mine) {
    // Serial: one dump on disk at a time keeps test/.tmp small and the run predictable.
    test.serial(`${scenario}: every form matches the ground truth`, async (t) => {
      for (const form of FORMS) {
        const out = `${dir}${scenario}.${form}.dmp`;
        const g = generate({ scenario, form, sizeBytes: SIZE, out, seed: 7 });
        const dump = openDump(out);
        try {
          const a = await analyzeDump(dump, { symbols: { ntSymbolPath: '' } });
          checkAgainstTruth(t, a, g.truth, `${scenario}/${form}`, dump);
          checkDetailsAgainstTruth(t, a, g.truth, `${scenario}/${form}`);
        } finally {
          dump.close();
          rmSync(out, { force: true });
          rmSync(`${out}.truth.json`, { force: true });
        }
      }
    });
  }
}
