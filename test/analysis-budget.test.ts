// The whole-analysis isolation work budget: secure processes beyond it are not judged, and the
// result says so in capsHit and the partial reasons (like every other cap); the known trustlets
// and Secure System are judged first, so forged secure processes spend only what is left.
import test from 'ava';
import { join } from 'node:path';
import { generate } from '../samples/generate.ts';
import { loadScenario } from '../samples/scenario.ts';
import { openDump } from '../src/dump/open.ts';
import { analyzeDump } from '../src/vsm/analyze.ts';
import { ISOLATION_WORK_BUDGET } from '../src/vsm/steps/isolate.ts';
import { runDir } from './helpers/run-dir.ts';

const TMP = runDir('analysis-budget');

test('the isolation work budget is shared by all secure processes and reported in capsHit when reached', async (t) => {
  // Credential Guard plus six forged secure processes (unknown names, ordinary user pages).
  const base = loadScenario('vsm-credential-guard');
  const forged = [0, 1, 2, 3, 4, 5].map((i) => ({ pid: 9000 + 4 * i, ppid: 652, name: `forged${i}.exe`, start: 20 + i, session: 0, secure: true, threads: 1 }));
  const scenario = { ...base, name: 'forged-secure', processes: [...base.processes, ...forged] } as typeof base;
  const s = generate({ scenario, form: 'full', sizeBytes: 32 * 2 ** 20, seed: 3, out: join(TMP, 'forged.dmp') });
  const dump = openDump(s.dumpPath);
  try {
    const opts = { symbols: { ntSymbolPath: '', cacheDir: join(TMP, 'cache') } };
    const whole = await analyzeDump(dump, opts);
    const secure = whole.processes.filter((p) => p.secure === true);
    t.true(secure.length >= 8, 'Secure System, LsaIso and the forged ones are secure');
    t.true(secure.every((p) => p.isolation !== undefined), 'with the default budget every secure process is judged');
    t.false(whole.capsHit.some((c) => c.cap === 'analysis.isolation-work'));

    const tight = await analyzeDump(dump, { ...opts, isolationWorkBudget: 1 });
    const judged = tight.processes.filter((p) => p.secure === true && p.isolation !== undefined);
    // The first process with user pages spends the whole budget (Secure System may cost nothing); the rest are not judged.
    t.true(judged.length >= 1 && judged.length < secure.length, `${judged.length} of ${secure.length} judged`);
    for (const p of judged) t.true(p.name.text === 'Secure System' || /^(LsaIso|BioIso|FsIso|vmsp)\.exe$/i.test(p.name.text), `known ones first: ${p.name.text}`);
    t.deepEqual(tight.capsHit.find((c) => c.cap === 'analysis.isolation-work'), { cap: 'analysis.isolation-work', limit: 1 });
    t.true(tight.partial.partial);
    t.true(tight.partial.reasons.some((r) => /isolation budget \(1 page-table entries and pages\) ran out: \d+ secure process(es)? not judged/.test(r)));
    t.true(ISOLATION_WORK_BUDGET > 0);
  } finally {
    dump.close();
  }
});
