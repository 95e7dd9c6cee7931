// The scenario corpus: every scenario file loads, generates, and its ground truth says what the
// scenario promises (verdict, hidden/exited processes, list damage, layouts per real ISF).
import test from 'ava';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generate, type Truth } from '../samples/generate.ts';
import { listScenarios, loadScenario } from '../samples/scenario.ts';
import { KNOWN_KERNELS } from '../samples/kernels.ts';

const TMP = fileURLToPath(new URL('./.tmp/samples-scenarios/', import.meta.url));
rmSync(TMP, { recursive: true, force: true });

const REQUIRED = [
  'vsm-credential-guard',
  'vsm-trustlet-zero',
  'vsm-trustlet-constant',
  'vsm-trustlet-readable',
  'vsm-trustlet-mixed',
  'vsm-off',
  'process-terminated',
  'process-unlinked',
  'list-cycle',
  'list-bad-flink',
  'truncated',
  'hostile-names',
  'build-14393',
  'build-17763',
  'build-18362',
  'build-19041-804',
  'build-19041-3570',
  'build-20348',
  'build-22000',
];

const VERDICT: Record<string, Truth['vsm']['verdict']> = {
  'vsm-trustlet-readable': 'exposed',
  'vsm-trustlet-mixed': 'exposed',
  'vsm-off': 'not-running',
};

test('the corpus has every required scenario, and one per real ISF', (t) => {
  const have = listScenarios();
  for (const r of REQUIRED) t.true(have.includes(r), r);
  const kernels = new Set(have.map((s) => loadScenario(s).kernel.toUpperCase()));
  for (const k of KNOWN_KERNELS) t.true(kernels.has(k.guidAge), k.version);
});

for (const name of listScenarios()) {
  test(`scenario ${name}: truth keeps its promises`, (t) => {
    const s = loadScenario(name);
    const r = generate({ scenario: name, form: 'full', sizeBytes: 16 * 2 ** 20, seed: 11, out: `${TMP}${name}.dmp` });
    const tr = r.truth;
    t.is(tr.scenario, name);
    t.is(tr.processes.length, s.processes.length);
    t.is(tr.pdb.guidAge, s.kernel.toUpperCase());
    t.is(tr.processes[0].pid, 4);
    t.is(tr.listOrder[0], 4);
    t.is(tr.vsm.verdict, VERDICT[name] ?? 'isolated', tr.vsm.reason);
    const rules = tr.expectedFindings.map((f) => f.rule);
    for (const sp of s.processes) {
      const p = tr.processes.find((x) => x.pid === sp.pid)!;
      t.truthy(p, `pid ${sp.pid}`);
      t.is(p.ppid, sp.ppid);
      t.is(p.unlinked, !!sp.unlinked);
      t.is(p.linked, !sp.unlinked);
      t.is(p.terminated, sp.exit !== undefined);
      t.is(p.exitTime !== null, sp.exit !== undefined);
      t.is(p.secure, !!sp.secure);
      t.is(p.protection, Number(sp.protection ?? 0));
      t.is(p.name, Buffer.from(sp.name, 'latin1').subarray(0, 15).toString('latin1'));
      if (sp.unlinked) t.true(tr.expectedFindings.some((f) => f.rule === 'ntos.process-unlinked' && f.pid === sp.pid));
      const c = p.pages;
      t.is(c.pagesMapped, c.pagesNotResident + c.pagesAbsent + c.pagesUnreadable + c.pagesReadable);
      if (p.terminated) t.is(c.pagesMapped, 0, 'an exited process has no address space left');
      // The EPROCESS lies in stored memory, never in a hole.
      const pfn = Math.floor(Number(p.eprocess.pa) / 4096);
      t.true(tr.memory.storedRuns.some((x) => pfn >= x.basePage && pfn < x.basePage + x.pageCount));
    }
    // Pool scan sees every object; the list walk sees linked processes up to any damage.
    t.deepEqual([...tr.poolObjects].sort((a, b) => a - b), tr.processes.map((p) => p.pid).sort((a, b) => a - b));
    const linked = tr.processes.filter((p) => p.linked).map((p) => p.pid);
    if (s.listCorruption) {
      const rule = s.listCorruption.kind === 'cycle' ? 'ntos.list-cycle' : 'ntos.list-bad-link';
      t.true(rules.includes(rule));
      t.is(tr.listOrder[tr.listOrder.length - 1], s.listCorruption.pid);
      t.true(tr.listOrder.length < linked.length);
      t.true(tr.processes.some((p) => p.linked && !p.reachableForward));
    } else {
      t.deepEqual(tr.listOrder, linked);
    }
    const secure = tr.processes.filter((p) => p.secure);
    if (name === 'vsm-off') t.is(secure.length, 0);
    else {
      t.true(secure.some((p) => p.name === 'Secure System'));
      const lsaiso = secure.find((p) => p.name === 'LsaIso.exe')!;
      t.is(lsaiso.trustlet?.id, 1);
      t.is(lsaiso.trustlet?.idSource, tr.build === 14393 ? 'eprocess' : 'name');
      t.is(rules.includes('vsm.trustlet-pages-readable'), lsaiso.pages.pagesReadable > 0);
    }
    if (name === 'truncated') t.truthy(tr.memory.truncated);
    else t.is(tr.memory.truncated, null);
    const known = KNOWN_KERNELS.find((k) => k.guidAge === tr.pdb.guidAge)!;
    t.is(tr.build, known.build);
    if (name.startsWith('build-')) t.true(name.startsWith(`build-${known.build}`));
    rmSync(r.dumpPath, { force: true });
  });
}
