import test from 'ava';
import { ModuleIndex, walkDrivers } from '../src/ntos/drivers.ts';
import { builtinByPdb } from '../src/ntos/layout-table.ts';
import { MM_EXECUTE_READWRITE, MM_READONLY, MM_READWRITE, MM_EXECUTE_WRITECOPY, mmProtectionName } from '../src/ntos/page-protection.ts';
import { PRIVILEGE_LUIDS } from '../src/ntos/privileges.ts';
import { readProcessToken } from '../src/ntos/token.ts';
import { walkVadInfo } from '../src/ntos/vad-info.ts';
import { REFERENCE_PDBS, WalkFixture } from './helpers/walk-fixture.ts';

const bit = (name: string) => 1n << BigInt(PRIVILEGE_LUIDS[name]);
const DEBUG = bit('SeDebugPrivilege');
const TCB = bit('SeTcbPrivilege');
const CHANGE_NOTIFY = bit('SeChangeNotifyPrivilege');
const PACKAGE = 'S-1-15-2-466767348-3739614953-2700836392-1801644223-4227750657-1087833535-2488631167';

for (const [build, guid] of REFERENCE_PDBS) {
  const layout = builtinByPdb(guid, 1)!;

  test(`${build}: token user, groups, integrity, privileges, package`, (t) => {
    const fx = new WalkFixture(layout);
    const p = fx.addProcess({ pid: 6000, ppid: 4, name: 'App.exe' });
    fx.token(p, {
      groups: [
        ['S-1-5-21-1004336348-1177238915-682003330-1001', 0],
        ['S-1-1-0', 7],
        ['S-1-5-32-544', 0x10],
        ['S-1-16-4096', 0x60],
      ],
      integrityIndex: 3,
      present: DEBUG | TCB | CHANGE_NOTIFY,
      enabled: CHANGE_NOTIFY | DEBUG,
      byDefault: CHANGE_NOTIFY,
      package: PACKAGE,
    });
    const r = readProcessToken(fx.vm, layout, p.va);
    t.false(r.partial, JSON.stringify(r.issues));
    const tok = r.token!;
    t.deepEqual(tok.user, { sid: 'S-1-5-21-1004336348-1177238915-682003330-1001', name: null });
    t.deepEqual(tok.integrity, { sid: 'S-1-16-4096', level: 'Low' });
    t.deepEqual(tok.groups, [
      { sid: 'S-1-1-0', attributes: 7 },
      { sid: 'S-1-5-32-544', attributes: 0x10 },
      { sid: 'S-1-16-4096', attributes: 0x60 },
    ]);
    t.deepEqual(
      tok.privileges.map((x) => [x.name, x.present, x.enabled, x.enabledByDefault]),
      [
        ['SeTcbPrivilege', true, false, false],
        ['SeDebugPrivilege', true, true, false],
        ['SeChangeNotifyPrivilege', true, true, true],
      ],
    );
    t.deepEqual(tok.package, { sid: PACKAGE });
  });

  test(`${build}: VADs with protection, private/mapped, file and commit`, (t) => {
    const fx = new WalkFixture(layout);
    const p = fx.addProcess({ pid: 6100, ppid: 4, name: 'LsaIso.exe' });
    fx.vads(p, [
      { start: 0x7ff6a0000000n, end: 0x7ff6a0012fffn, protection: MM_EXECUTE_WRITECOPY, private: false, file: '\\Windows\\System32\\lsaiso.exe' },
      { start: 0x1d0000n, end: 0x1d0fffn, protection: MM_EXECUTE_READWRITE, private: true, commit: 1 },
      { start: 0x20000n, end: 0x3ffffn, protection: MM_READWRITE, private: true, commit: 32 },
      { start: 0x7ffe0000n, end: 0x7ffe0fffn, protection: MM_READONLY, private: true, commit: 1 },
    ]);
    const w = walkVadInfo(fx.vm, layout, p.va);
    t.false(w.partial, JSON.stringify(w.issues));
    t.deepEqual(
      w.items.map((v) => [v.start, v.end, v.protection, v.private, v.file, v.commit]),
      [
        ['0x20000', '0x3ffff', 'PAGE_READWRITE', true, null, 32],
        ['0x1d0000', '0x1d0fff', 'PAGE_EXECUTE_READWRITE', true, null, 1],
        ['0x7ffe0000', '0x7ffe0fff', 'PAGE_READONLY', true, null, 1],
        ['0x7ff6a0000000', '0x7ff6a0012fff', 'PAGE_EXECUTE_WRITECOPY', false, '\\Windows\\System32\\lsaiso.exe', 0],
      ],
    );
    t.deepEqual(w.items.map((v) => v.executable), [false, true, false, true]);
  });

  test(`${build}: loaded modules and address attribution`, (t) => {
    const fx = new WalkFixture(layout);
    const head = fx.modules([
      { base: 0xfffff80000000000n, size: 0x1046000, name: 'ntoskrnl.exe', path: '\\SystemRoot\\system32\\ntoskrnl.exe' },
      { base: 0xfffff80055550000n, size: 0x20000, name: 'evil.sys', path: '\\??\\C:\\evil.sys' },
    ]);
    const w = walkDrivers(fx.vm, layout, head);
    t.false(w.partial, JSON.stringify(w.issues));
    t.deepEqual(w.items.map((m) => [m.base, m.size, m.name, m.path]), [
      ['0xfffff80000000000', 0x1046000, 'ntoskrnl.exe', '\\SystemRoot\\system32\\ntoskrnl.exe'],
      ['0xfffff80055550000', 0x20000, 'evil.sys', '\\??\\C:\\evil.sys'],
    ]);
    const idx = new ModuleIndex(w.items);
    t.is(idx.attribute(0xfffff80055551234n), 'evil.sys');
    t.is(idx.attribute('0xfffff80000123456'), 'ntoskrnl.exe');
    t.is(idx.attribute(0xfffff80055570000n), null, 'one past the end is outside');
    t.is(idx.attribute(0x1d0000n), null);
    t.is(idx.attribute(null), null);
  });
}

const layout = builtinByPdb('606FF669409B00F7FC8C61A9C1670129', 1)!;

test('a token with a huge UserAndGroupCount is read up to the cap and marked', (t) => {
  const fx = new WalkFixture(layout);
  const p = fx.addProcess({ pid: 6200, ppid: 4, name: 'x.exe' });
  const tok = fx.token(p, { groups: [['S-1-5-18', 0], ['S-1-16-16384', 0x60]], integrityIndex: 1, present: 0n, enabled: 0n, byDefault: 0n });
  fx.w(tok, 'TOKEN.UserAndGroupCount', 0xffffffff);
  const r = readProcessToken(fx.vm, layout, p.va, { maxGroups: 4 });
  t.true(r.capHit);
  t.true(r.partial);
  t.deepEqual(r.token!.user, { sid: 'S-1-5-18', name: 'Local System' });
  t.deepEqual(r.token!.integrity, { sid: 'S-1-16-16384', level: 'System' });
});

test('bad SIDs, unknown privilege bits, a non-canonical or absent token: null parts with issues, no throw', (t) => {
  const fx = new WalkFixture(layout);
  const p = fx.addProcess({ pid: 6300, ppid: 4, name: 'x.exe' });
  const tok = fx.token(p, { groups: [['S-1-5-18', 0], ['S-1-16-8192', 0x60]], integrityIndex: 1, present: 1n << 60n, enabled: 0n, byDefault: 0n });
  // Revision 9 and 200 sub-authorities: not SIDs.
  const g = fx.vm.readU64(tok + BigInt(layout.fields['TOKEN.UserAndGroups']!.offset))!;
  const sid1 = fx.vm.readU64(g + 16n)!;
  fx.m.writeVirt(fx.m.kernelDtb, sid1, Buffer.from([1, 200]));
  const sid0 = fx.vm.readU64(g)!;
  fx.m.writeVirt(fx.m.kernelDtb, sid0, Buffer.from([9, 1]));
  const r = readProcessToken(fx.vm, layout, p.va);
  t.true(r.partial);
  t.is(r.token!.user, null);
  t.is(r.token!.integrity, null);
  t.deepEqual(r.token!.privileges, []);
  t.true(r.issues.some((i) => i.kind === 'implausible' && /bit 60/.test(i.message)));
  fx.w(p.va, 'EPROCESS.Token', 0x4141414141414141n);
  const nc = readProcessToken(fx.vm, layout, p.va);
  t.is(nc.token, null);
  t.is(nc.issues[0].kind, 'non-canonical');
  fx.w(p.va, 'EPROCESS.Token', tok);
  fx.dropPageOf(tok);
  const gone = readProcessToken(fx.vm, layout, p.va);
  t.is(gone.token, null);
  t.is(gone.issues[0].kind, 'unreadable');
});

test('a VAD tree with a cycle, a non-canonical child and an absent node is partial; the cap is reported', (t) => {
  const fx = new WalkFixture(layout);
  const p = fx.addProcess({ pid: 6400, ppid: 4, name: 'x.exe' });
  const nodes = fx.vads(
    p,
    Array.from({ length: 15 }, (_, i) => ({ start: BigInt(0x10000 * (i + 1)), end: BigInt(0x10000 * (i + 1) + 0xfff), protection: MM_READWRITE, private: true })),
  );
  const left = BigInt(layout.fields['RTL_BALANCED_NODE.Left']!.offset);
  const right = BigInt(layout.fields['RTL_BALANCED_NODE.Right']!.offset);
  // Balanced over 15: root is nodes[7]; nodes[3] and nodes[11] its children.
  fx.writeU64(nodes[11] + right, nodes[7]); // back to the root
  fx.writeU64(nodes[3] + left, 0x4141414141414140n);
  const w = walkVadInfo(fx.vm, layout, p.va);
  t.true(w.partial);
  t.true(w.items.length < 15 && w.items.length > 5);
  const capped = walkVadInfo(fx.vm, layout, p.va, { maxVads: 3 });
  t.true(capped.capHit);
  t.is(capped.items.length, 3);
  fx.dropPageOf(nodes[7]);
  const rootGone = walkVadInfo(fx.vm, layout, p.va);
  t.deepEqual(rootGone.items, []);
  t.true(rootGone.partial);
});

test('every MM protection index has a name, modifiers joined in Volatility order', (t) => {
  t.is(mmProtectionName(0), 'PAGE_NOACCESS');
  t.is(mmProtectionName(6), 'PAGE_EXECUTE_READWRITE');
  t.is(mmProtectionName(8), 'PAGE_NOACCESS');
  t.is(mmProtectionName(9), 'PAGE_READONLY|PAGE_NOCACHE');
  t.is(mmProtectionName(0x14), 'PAGE_READWRITE|PAGE_GUARD');
  t.is(mmProtectionName(0x1e), 'PAGE_EXECUTE_READWRITE|PAGE_WRITECOMBINE');
  t.is(mmProtectionName(32), null);
});

test('a loaded-module list that loops or leaves the kernel stops with an issue', (t) => {
  const fx = new WalkFixture(layout);
  const head = fx.modules([
    { base: 0xfffff80000000000n, size: 0x1000, name: 'a.sys', path: 'a' },
    { base: 0xfffff80000100000n, size: 0x1000, name: 'b.sys', path: 'b' },
  ]);
  const first = fx.vm.readU64(head)!;
  fx.setLinks(fx.vm.readU64(first)!, first, first);
  const w = walkDrivers(fx.vm, layout, head);
  t.true(w.partial);
  t.deepEqual(w.items.map((m) => m.name), ['a.sys', 'b.sys']);
  t.is(w.issues.at(-1)!.kind, 'cycle');
});

test('a layout without the RTL_AVL_TREE VAD fields (7601: MM_AVL_TABLE) is refused, not walked with guessed offsets', (t) => {
  const fx = new WalkFixture(layout);
  const p = fx.addProcess({ pid: 6500, ppid: 4, name: 'x.exe' });
  const fields = { ...layout.fields };
  delete fields['MMVAD_SHORT.VadNode'];
  const w = walkVadInfo(fx.vm, { ...layout, fields }, p.va);
  t.deepEqual(w.items, []);
  t.is(w.issues[0].kind, 'layout-missing');
  t.regex(w.issues[0].message, /MMVAD_SHORT\.VadNode/);
});
