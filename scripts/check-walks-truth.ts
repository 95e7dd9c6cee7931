// Runs the src/ntos process walks over synthetic dumps and compares them with the generator's
// ground truth, on every reference layout. For each scenario × ISF: generate a full dump (small),
// open it through the dump layer, walk threads (+APCs), handles, token, VADs, loaded modules and the
// extended flags of every readable process, and compare each field the truth records (issue 12
// conventions: threads, handles, token, vads, extendedInfo, debugPort, exitStatus, basePriority).
// Also reports walks that came back partial on a clean scenario (a walk too strict, or a generator
// writing something Windows would not).
//
//   npx tsx scripts/check-walks-truth.ts [--scenario NAME[,NAME]] [--isf PATH[,PATH]] [--size MiB] [--json]
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listScenarios } from '../samples/scenario.ts';
import { checkWalksAgainstTruth, ISF_DIR, type Row } from '../test/helpers/walks-truth.ts';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const scenarios = (arg('--scenario')?.split(',') ?? listScenarios()).filter(Boolean);
const isfs = arg('--isf')?.split(',') ?? readdirSync(ISF_DIR).filter((f) => f.endsWith('.json.xz')).map((f) => join(ISF_DIR, f));
const size = Number(arg('--size') ?? 32);
const dir = mkdtempSync(join(tmpdir(), 'walks-truth-'));
const rows: Row[] = [];
try {
  for (const s of scenarios) for (const isf of isfs) rows.push(checkWalksAgainstTruth(s, isf, size, dir));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
if (process.argv.includes('--json')) console.log(JSON.stringify(rows, null, 2));
else {
  for (const r of rows) {
    const cmp = Object.entries(r.compared).map(([k, n]) => `${k}×${n}`).join(' ') || 'no issue-12 truth fields';
    console.log(`${r.scenario} ${r.isf}: ${r.processes} processes; compared ${cmp}; ${r.mismatches.length} mismatches; ${r.partial.length} partial walks`);
    for (const m of r.mismatches.slice(0, 10)) console.log(`  mismatch ${m}`);
    for (const m of r.partial.slice(0, 5)) console.log(`  partial ${m}`);
  }
  const bad = rows.reduce((n, r) => n + r.mismatches.length, 0);
  console.log(`${rows.length} scenario×layout runs, ${bad} mismatches`);
  process.exitCode = bad > 0 ? 1 : 0;
}
