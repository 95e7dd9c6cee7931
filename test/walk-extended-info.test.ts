import test from 'ava';
import { EXTENDED_FLAG_BITS, readBasePriority, readDebugPort, readExitStatus, readExtendedInfo } from '../src/ntos/extended-info.ts';
import { builtinByPdb } from '../src/ntos/layout-table.ts';
import type { KernelLayout } from '../src/ntos/layout.ts';
import { REFERENCE_PDBS, WalkFixture } from './helpers/walk-fixture.ts';

const PACKAGE = 'S-1-15-2-466767348-3739614953-2700836392-1801644223-4227750657-1087833535-2488631167';

function tokenFor(fx: WalkFixture, p: Parameters<WalkFixture['token']>[0], pkg?: string) {
  fx.token(p, { groups: [['S-1-5-18', 0], ['S-1-16-16384', 0x60]], integrityIndex: 1, present: 0n, enabled: 0n, byDefault: 0n, package: pkg });
}

for (const [build, guid] of REFERENCE_PDBS) {
  const layout = builtinByPdb(guid, 1)!;

  test(`${build}: all nine flags clear on a plain process; composed value 0 with every source named`, (t) => {
    const fx = new WalkFixture(layout);
    const p = fx.addProcess({ pid: 7000, ppid: 4, name: 'plain.exe' });
    tokenFor(fx, p);
    const x = readExtendedInfo(fx.vm, layout, p.va);
    t.is(x.flags, 0, JSON.stringify(x.reasons));
    t.is(x.unknownMask, 0);
    t.is(x.sources.isProcessDeleting, 'EPROCESS.Flags.ProcessDelete');
    t.is(x.sources.isCrossSessionCreate, 'EPROCESS.Flags2.CrossSessionCreate');
    t.is(x.sources.isBackground, 'EPROCESS.Flags.Background');
    t.is(x.sources.isSubsystemProcess, 'EPROCESS.Flags3.SubsystemProcess');
    t.is(x.sources.isProtectedProcess, 'EPROCESS.Protection.Type');
    t.is(x.sources.isStronglyNamed, 'TOKEN.Package');
  });

  test(`${build}: each flag set alone gives exactly its bit`, (t) => {
    const setters: [keyof typeof EXTENDED_FLAG_BITS, (fx: WalkFixture, va: bigint) => void][] = [
      ['isProtectedProcess', (fx, va) => fx.w(va, 'EPROCESS.Protection', 0x41)],
      ['isWow64Process', (fx, va) => fx.w(va, 'EPROCESS.WoW64Process', 0xffffa00012340000n)],
      ['isProcessDeleting', (fx, va) => fx.w(va, 'EPROCESS.ProcessDelete', 1)],
      ['isCrossSessionCreate', (fx, va) => fx.w(va, 'EPROCESS.CrossSessionCreate', 1)],
      ['isFrozen', (fx, va) => fx.w(va, 'KPROCESS.DeepFreeze', 1)],
      ['isBackground', (fx, va) => fx.w(va, 'EPROCESS.Background', 1)],
      ['isSecureProcess', (fx, va) => (layout.fields['KPROCESS.SecureState'] ? fx.w(va, 'KPROCESS.SecureState', 1) : fx.w(va, 'KPROCESS.SecurePid', 0x11))],
      ['isSubsystemProcess', (fx, va) => fx.w(va, 'EPROCESS.SubsystemProcess', 1)],
    ];
    for (const [name, set] of setters) {
      const fx = new WalkFixture(layout);
      const p = fx.addProcess({ pid: 7100, ppid: 4, name: 'one.exe' });
      tokenFor(fx, p);
      set(fx, p.va);
      const x = readExtendedInfo(fx.vm, layout, p.va);
      t.is(x.flags, 1 << EXTENDED_FLAG_BITS[name], name);
      t.true(x[name], name);
    }
    const fx = new WalkFixture(layout);
    const p = fx.addProcess({ pid: 7200, ppid: 4, name: 'App.exe' });
    tokenFor(fx, p, PACKAGE);
    fx.w(p.va, 'KPROCESS.FreezeCount', 1);
    const x = readExtendedInfo(fx.vm, layout, p.va);
    t.is(x.flags, (1 << EXTENDED_FLAG_BITS.isStronglyNamed) | (1 << EXTENDED_FLAG_BITS.isFrozen));
  });

  test(`${build}: exit status, base priority, debug port`, (t) => {
    const fx = new WalkFixture(layout);
    const p = fx.addProcess({ pid: 7300, ppid: 4, name: 'dbg.exe' });
    fx.w(p.va, 'EPROCESS.ExitStatus', 0x103);
    fx.w(p.va, 'KPROCESS.BasePriority', 8);
    t.is(readExitStatus(fx.vm, layout, p.va).value, 0x103);
    t.is(readBasePriority(fx.vm, layout, p.va).value, 8);
    t.deepEqual(readDebugPort(fx.vm, layout, p.va), { value: null, unreadable: false, source: 'EPROCESS.DebugPort' });
    fx.w(p.va, 'EPROCESS.DebugPort', 0xffffc00012345670n);
    t.is(readDebugPort(fx.vm, layout, p.va).value, '0xffffc00012345670');
  });
}

const layout = builtinByPdb('606FF669409B00F7FC8C61A9C1670129', 1)!;

test('an unreadable token makes IsStronglyNamed null with the reason; flags is null, knownFlags keeps the rest', (t) => {
  const fx = new WalkFixture(layout);
  const p = fx.addProcess({ pid: 7400, ppid: 4, name: 'x.exe' });
  fx.w(p.va, 'EPROCESS.Background', 1);
  fx.w(p.va, 'EPROCESS.Token', 0x4141414141414141n);
  const x = readExtendedInfo(fx.vm, layout, p.va);
  t.is(x.isStronglyNamed, null);
  t.regex(x.reasons.isStronglyNamed!, /token/);
  t.is(x.flags, null);
  t.is(x.unknownMask, 1 << EXTENDED_FLAG_BITS.isStronglyNamed);
  t.is(x.knownFlags, 1 << EXTENDED_FLAG_BITS.isBackground);
});

test('a build without a field gives null with "the build has no …", never another build\'s offset', (t) => {
  const fx = new WalkFixture(layout);
  const p = fx.addProcess({ pid: 7500, ppid: 4, name: 'x.exe' });
  tokenFor(fx, p);
  const fields = { ...layout.fields };
  delete fields['EPROCESS.SubsystemProcess'];
  delete fields['KPROCESS.DeepFreeze'];
  delete fields['KPROCESS.FreezeCount'];
  const old: KernelLayout = { ...layout, fields };
  const x = readExtendedInfo(fx.vm, old, p.va);
  t.is(x.isSubsystemProcess, null);
  t.is(x.reasons.isSubsystemProcess, 'the build has no EPROCESS.SubsystemProcess');
  t.is(x.isFrozen, null);
  t.is(x.flags, null);
  t.is(x.unknownMask, (1 << EXTENDED_FLAG_BITS.isSubsystemProcess) | (1 << EXTENDED_FLAG_BITS.isFrozen));
});

test('the secure marker the analysis judged is taken as given', (t) => {
  const fx = new WalkFixture(layout);
  const p = fx.addProcess({ pid: 7600, ppid: 4, name: 'x.exe' });
  tokenFor(fx, p);
  const x = readExtendedInfo(fx.vm, layout, p.va, { secure: { value: null, source: 'KPROCESS.SecureState', reason: 'unreadable' } });
  t.is(x.isSecureProcess, null);
  t.is(x.reasons.isSecureProcess, 'unreadable');
});

test('an absent EPROCESS page: every EPROCESS flag null, no throw', (t) => {
  const fx = new WalkFixture(layout);
  const p = fx.addProcess({ pid: 7700, ppid: 4, name: 'x.exe' });
  fx.dropPageOf(p.va + BigInt(layout.fields['EPROCESS.Flags']!.offset));
  const x = readExtendedInfo(fx.vm, layout, p.va);
  t.is(x.isProcessDeleting, null);
  t.regex(x.reasons.isProcessDeleting!, /not in the dump/);
  t.is(x.flags, null);
});
