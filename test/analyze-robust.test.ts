// analyzeKernel on hand-made machines whose kernel objects are damaged at random (seeded): it must
// always return an Analysis — never throw — and mark what it could not read.
import test from 'ava';
import { builtinByPdb } from '../src/ntos/layout-table.ts';
import { analyzeKernel } from '../src/vsm/analyze.ts';
import type { KernelInfo } from '../src/vsm/types.ts';
import { HEAD_VA, ProcFixture } from './helpers/proc-fixture.ts';

const layout = builtinByPdb('0CE4A95C0CD782A7596B034D8648E585', 1)!;
const info: KernelInfo = { base: null, build: 22000, dtb: '0x0', psActiveProcessHead: null, psLoadedModuleList: null, kdDebuggerDataBlock: null, pdb: null, symbolsSource: 'test', discovery: 'test' };

function machine() {
  const fx = new ProcFixture(layout);
  fx.add({ pid: 4, ppid: 0, name: 'System', protection: 0x72 });
  fx.add({ pid: 72, ppid: 4, name: 'Secure System', secure: 1n, protection: 0x72 });
  fx.add({ pid: 800, ppid: 652, name: 'LsaIso.exe', secure: 1n, session: 0, path: '\\Device\\HarddiskVolume3\\Windows\\System32\\LsaIso.exe' });
  fx.add({ pid: 812, ppid: 652, name: 'lsass.exe', protection: 0x41, session: 0 });
  fx.add({ pid: 7208, ppid: 6644, name: 'rundll32.exe', unlinked: true });
  fx.link();
  return fx;
}
const run = (fx: ProcFixture, head: bigint | null = HEAD_VA, internals = true) =>
  analyzeKernel(
    { format: 'crash-full', formatName: 'test', physical: fx.m.phys, partialByNature: false, partialReasons: [] },
    { vm: fx.vm, layout, base: null, psActiveProcessHead: head, info },
    { internals },
  );

test('a clean machine: list, scan, merge, secure, protection, unlinked', (t) => {
  // The fixture models the process objects only (no token, threads or handle table): internals off.
  const a = run(machine(), HEAD_VA, false);
  t.deepEqual(a.processes.map((p) => [p.pid, p.sources.join('+')]), [[4, 'list+scan'], [72, 'list+scan'], [800, 'list+scan'], [812, 'list+scan'], [7208, 'scan']]);
  t.true(a.processes.find((p) => p.pid === 7208)!.unlinked);
  t.is(a.processes.find((p) => p.pid === 812)!.protection?.text, 'PsProtectedSignerLsa-Light');
  t.deepEqual(a.processes.find((p) => p.pid === 800)!.trustlet, { id: 1, name: 'LsaIso.exe' });
  // LsaIso has no user pages here: its isolation cannot be judged.
  t.deepEqual(a.findings.map((f) => f.rule), ['ntos.process-unlinked', 'vsm.isolation-indeterminate']);
  t.is(a.vsm.verdict, 'indeterminate');
  t.false(a.partial.partial);
  t.is(a.modules, undefined, 'no driver list without internals');
  t.is(a.processes[0].threads, undefined);
});

test('internals on a machine without tokens or handle tables: null, named in the partial reasons, never a crash', (t) => {
  const a = run(machine());
  const lsaiso = a.processes.find((p) => p.pid === 800)!;
  t.is(lsaiso.token, null);
  t.is(lsaiso.extendedInfo?.isStronglyNamed, null, 'no token: strong name unknown');
  t.is(lsaiso.extendedInfo?.flags, null, 'one unknown bit makes the composed value unknown');
  t.is(lsaiso.extendedInfo?.isSecureProcess, true);
  t.true(a.partial.partial);
  t.true(a.partial.reasons.some((r) => /tokens of \d+ process/.test(r)));
  t.is(a.modules, null, 'no PsLoadedModuleList: modules unknown');
});

test('without a list head, nothing is called unlinked and the result is partial', (t) => {
  const a = run(machine(), null);
  t.is(a.processes.length, 5);
  t.true(a.processes.every((p) => p.sources.join() === 'scan' && !p.unlinked));
  t.true(a.partial.partial);
  t.true(a.findings.some((f) => f.rule === 'ntos.list-head-unknown'));
});

test('random damage to kernel pages never throws', (t) => {
  let seed = 0x2545f491;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0), seed);
  for (let round = 0; round < 60; round++) {
    const fx = machine();
    const pfns = [...fx.m.phys.pages.keys()];
    // Up to 64 random byte and qword smashes in random pages (page tables included).
    for (let k = 0, n = 1 + (rnd() % 64); k < n; k++) {
      const page = fx.m.phys.pages.get(pfns[rnd() % pfns.length])!;
      const off = rnd() % 4088;
      if (rnd() & 1) page[off] = rnd() & 0xff;
      else page.writeBigUInt64LE((BigInt(rnd()) << 32n) | BigInt(rnd()), off & ~7);
    }
    if (rnd() % 4 === 0) fx.m.phys.pages.delete(pfns[rnd() % pfns.length]);
    const a = t.notThrows(() => run(fx), `round ${round}`);
    void a;
  }
});
