// The process walks of src/ntos against the generator's ground truth on every reference layout:
// threads (with start modules), APCs, handles, token, VADs, debug port, exit status, base priority
// and the nine extended flags of every readable process of the tampered scenario and its clean twin.
import test from 'ava';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkWalksAgainstTruth, ISF_DIR } from './helpers/walks-truth.ts';

const ISFS = readdirSync(ISF_DIR).filter((f) => f.endsWith('.json.xz'));
const FIELDS = ['threads', 'handles', 'token', 'vads', 'extendedInfo', 'debugPort', 'exitStatus', 'basePriority'];
const dir = mkdtempSync(join(tmpdir(), 'walks-truth-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

test('there are seven reference layouts', (t) => {
  t.is(ISFS.length, 7);
});

for (const isf of ISFS) {
  for (const scenario of ['vsm-trustlet-tampered', 'vsm-trustlet-clean']) {
    test(`${scenario} on ${isf.slice(0, 8)}: every walk equals the ground truth, none partial`, (t) => {
      const r = checkWalksAgainstTruth(scenario, join(ISF_DIR, isf), 16, join(dir, `${isf.slice(0, 8)}`));
      t.true(r.processes > 20, `${r.processes} processes`);
      for (const f of FIELDS) t.is(r.compared[f], r.processes, `${f} compared for every process`);
      t.deepEqual(r.mismatches, []);
      t.deepEqual(r.partial, []);
    });
  }
}
