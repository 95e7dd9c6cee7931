import test from 'ava';
import { PROCESS_ALL_ACCESS, PROCESS_QUERY_LIMITED_INFORMATION, PROCESS_VM_READ, THREAD_SET_CONTEXT, THREAD_SUSPEND_RESUME } from '../src/ntos/access-rights.ts';
import { entryDecoder, walkHandles } from '../src/ntos/handles.ts';
import type { KernelLayout } from '../src/ntos/layout.ts';
import { builtinByPdb } from '../src/ntos/layout-table.ts';
import { loadObjectTypes } from '../src/ntos/object-header.ts';
import { KBASE, REFERENCE_PDBS, WalkFixture } from './helpers/walk-fixture.ts';

const hx = (v: bigint) => '0x' + v.toString(16);

function scene(layout: NonNullable<ReturnType<typeof builtinByPdb>>, level: number) {
  const fx = new WalkFixture(layout);
  const lsass = fx.addProcess({ pid: 700, ppid: 600, name: 'lsass.exe' });
  const iso = fx.addProcess({ pid: 720, ppid: 600, name: 'LsaIso.exe' });
  const tool = fx.addProcess({ pid: 4242, ppid: 900, name: 'mimikatz.exe' });
  const th = fx.thread(iso, { tid: 724 });
  fx.linkThreads(iso, [th]);
  const file = fx.object('File', layout.sizes._FILE_OBJECT!);
  fx.writeUnicodeAt(file + fx.off('FILE_OBJECT.FileName'), '\\Windows\\System32\\lsasrv.dll');
  const ev = fx.object('Event', 0x18, 'Global\\Tamper');
  const anon = fx.object('Event', 0x18);
  // Handles spread so that level 1 and 2 tables need several entry pages.
  const far = level === 0 ? 0x3f0 : 0x1000 * 4 + 0x10;
  const handles = new Map([
    [0x4, { body: lsass.va, access: PROCESS_VM_READ | PROCESS_QUERY_LIMITED_INFORMATION }],
    [0x8, { body: iso.va, access: PROCESS_ALL_ACCESS }],
    [0xc, { body: th, access: THREAD_SET_CONTEXT | THREAD_SUSPEND_RESUME }],
    [0x10, { body: file, access: 0x120089 }],
    [0x14, { body: ev, access: 0x1f0003 }],
    [far, { body: anon, access: 0x100002 }],
  ]);
  const built = fx.handleTable(tool, level, handles);
  return { fx, tool, lsass, iso, th, file, ev, anon, far, built };
}

for (const [build, guid] of REFERENCE_PDBS) {
  const layout = builtinByPdb(guid, 1)!;
  for (const level of [0, 1, 2]) {
    test(`${build}: level-${level} handle table: values, types, access, rights, targets, names`, (t) => {
      const s = scene(layout, level);
      const types = loadObjectTypes(s.fx.vm, layout, KBASE);
      t.is(types.reason, null);
      const w = walkHandles(s.fx.vm, layout, s.tool.va, types.types);
      t.false(w.partial, JSON.stringify(w.issues));
      t.deepEqual(
        w.items.map((h) => [h.handle, h.type, h.grantedAccess, h.object, h.target, h.name]),
        [
          [0x4, 'Process', PROCESS_VM_READ | PROCESS_QUERY_LIMITED_INFORMATION, hx(s.lsass.va), { pid: 700, tid: null, name: 'lsass.exe' }, null],
          [0x8, 'Process', PROCESS_ALL_ACCESS, hx(s.iso.va), { pid: 720, tid: null, name: 'LsaIso.exe' }, null],
          [0xc, 'Thread', THREAD_SET_CONTEXT | THREAD_SUSPEND_RESUME, hx(s.th), { pid: 720, tid: 724, name: 'LsaIso.exe' }, null],
          [0x10, 'File', 0x120089, hx(s.file), null, '\\Windows\\System32\\lsasrv.dll'],
          [0x14, 'Event', 0x1f0003, hx(s.ev), null, 'Global\\Tamper'],
          [s.far, 'Event', 0x100002, hx(s.anon), null, null],
        ],
      );
      t.deepEqual(w.items[0].rights, ['PROCESS_VM_READ', 'PROCESS_QUERY_LIMITED_INFORMATION']);
      t.deepEqual(w.items[2].rights, ['THREAD_SUSPEND_RESUME', 'THREAD_SET_CONTEXT']);
      t.deepEqual(w.items[3].rights, [], 'rights are decoded for Process and Thread only');
    });
  }
}

const layout = builtinByPdb('606FF669409B00F7FC8C61A9C1670129', 1)!;

test('without ObTypeIndexTable the types are null and said to be unreadable, handles still listed', (t) => {
  const s = scene(layout, 1);
  const bare = { ...layout, symbols: {} };
  const types = loadObjectTypes(s.fx.vm, bare, KBASE);
  t.is(types.types, null);
  t.regex(types.reason!, /ObTypeIndexTable/);
  const w = walkHandles(s.fx.vm, layout, s.tool.va, null);
  t.is(w.items.length, 6);
  t.true(w.items.every((h) => h.type === null && h.target === null && h.unreadable.includes('type')));
});

test('an exited process (ObjectTable NULL) has no handles and nothing missing', (t) => {
  const fx = new WalkFixture(layout);
  const p = fx.addProcess({ pid: 4, ppid: 0, name: 'gone.exe' });
  const w = walkHandles(fx.vm, layout, p.va, null);
  t.deepEqual(w.items, []);
  t.false(w.partial);
});

test('a level-2 table whose every slot points at the same level-1 page is read once (cycle), not 512 times', (t) => {
  const s = scene(layout, 2);
  const mid = s.fx.vm.readU64(s.built.top)!;
  for (let i = 1; i < 512; i++) s.fx.writeU64(s.built.top + BigInt(i * 8), mid);
  const types = loadObjectTypes(s.fx.vm, layout, KBASE).types;
  const w = walkHandles(s.fx.vm, layout, s.tool.va, types, {});
  t.is(w.items.length, 6);
  t.true(w.partial);
  t.true(w.issues.some((i) => i.kind === 'cycle'));
});

test('a forged table of 131,072 used entries stops at the handle cap and says so; the page cap bounds reads', (t) => {
  const fx = new WalkFixture(layout);
  const p = fx.addProcess({ pid: 5000, ppid: 4, name: 'forged.exe' });
  const ev = fx.object('Event', 0x18);
  const page = Buffer.concat(Array.from({ length: 256 }, () => fx.entryBytes(ev, 0x1f0003)));
  const top = fx.kalloc(4096);
  for (let i = 0; i < 512; i++) {
    const lo = fx.kalloc(4096);
    fx.m.writeVirt(fx.m.kernelDtb, lo, page);
    fx.writeU64(top + BigInt(i * 8), lo);
  }
  const table = fx.kalloc(0x80);
  fx.w(table, 'HANDLE_TABLE.TableCode', top | 1n);
  fx.w(table, 'HANDLE_TABLE.NextHandleNeedingPool', 0xffffffffn & ~3n);
  fx.w(p.va, 'EPROCESS.ObjectTable', table);
  const w = walkHandles(fx.vm, layout, p.va, null, { maxHandles: 100_000 });
  t.true(w.capHit);
  t.is(w.items.length, 100_000);
  t.true(w.issues.some((i) => i.kind === 'cap' && i.message.includes('100000')));
  const pages = walkHandles(fx.vm, layout, p.va, null, { maxPages: 3 });
  t.true(pages.capHit);
  t.is(pages.items.length, 3 * 256);
});

test('non-canonical page pointers, an impossible level and an absent entry page give partial results', (t) => {
  const s = scene(layout, 1);
  const types = loadObjectTypes(s.fx.vm, layout, KBASE).types;
  // The far handle's entry page absent, the third slot garbage.
  s.fx.dropPageOf(s.built.pages[Math.floor(s.far / 4 / 256)]);
  s.fx.writeU64(s.built.top + 16n, 0x4141414141414000n);
  const w = walkHandles(s.fx.vm, layout, s.tool.va, types);
  t.true(w.partial);
  t.deepEqual(w.items.map((h) => h.handle), [4, 8, 12, 16, 20]);
  t.true(w.issues.some((i) => i.kind === 'non-canonical'));
  t.true(w.issues.some((i) => i.kind === 'unreadable'));
  s.fx.w(s.built.table, 'HANDLE_TABLE.TableCode', s.built.top | 3n);
  const bad = walkHandles(s.fx.vm, layout, s.tool.va, types);
  t.deepEqual(bad.items, []);
  t.is(bad.issues[0].kind, 'implausible');
});

test('NextHandleNeedingPool bounds the walk to allocated entries', (t) => {
  const s = scene(layout, 1);
  s.fx.w(s.built.table, 'HANDLE_TABLE.NextHandleNeedingPool', 256 * 4);
  const w = walkHandles(s.fx.vm, layout, s.tool.va, null);
  t.deepEqual(w.items.map((h) => h.handle), [4, 8, 12, 16, 20]);
});

test('7601 entries (Object with attribute bits, plain GrantedAccess) are decoded by their own fields', (t) => {
  const fields = { ...layout.fields };
  delete fields['HANDLE_TABLE_ENTRY.ObjectPointerBits'];
  delete fields['HANDLE_TABLE_ENTRY.GrantedAccessBits'];
  delete fields['HANDLE_TABLE_ENTRY.Attributes'];
  // As the 7601 kernels of the built-in table have them.
  fields['HANDLE_TABLE_ENTRY.Object'] = { offset: 0, size: 8 };
  fields['HANDLE_TABLE_ENTRY.GrantedAccess'] = { offset: 8, size: 4 };
  const old = { ...layout, fields };
  const fx = new WalkFixture(old);
  const tool = fx.addProcess({ pid: 4242, ppid: 900, name: 'tool.exe' });
  const lsass = fx.addProcess({ pid: 700, ppid: 600, name: 'lsass.exe' });
  const built = fx.handleTable(tool, 0, new Map([[4, { body: lsass.va, access: PROCESS_VM_READ }]]));
  // Attribute bits (inherit, protect-from-close) in the low 3 bits of Object.
  const raw = fx.vm.readU64(built.pages[0] + 16n)!;
  fx.writeU64(built.pages[0] + 16n, raw | 3n);
  const w = walkHandles(fx.vm, old, tool.va, loadObjectTypes(fx.vm, old, KBASE).types);
  t.false(w.partial, JSON.stringify(w.issues));
  t.deepEqual(w.items.map((h) => [h.handle, h.type, h.grantedAccess, h.object, h.target?.pid]), [[4, 'Process', PROCESS_VM_READ, hx(lsass.va), 700]]);
});

test('entry decoders read an entry in place at its byte in the page; free entries are null; fields outside the 16-byte entry give no decoder', (t) => {
  const withBits = { fields: { 'HANDLE_TABLE_ENTRY.ObjectPointerBits': { offset: 0, size: 8, bitPosition: 20, bitLength: 44 }, 'HANDLE_TABLE_ENTRY.GrantedAccessBits': { offset: 8, size: 4, bitPosition: 0, bitLength: 25 } } } as unknown as KernelLayout;
  const plain = { fields: { 'HANDLE_TABLE_ENTRY.Object': { offset: 0, size: 8 }, 'HANDLE_TABLE_ENTRY.GrantedAccess': { offset: 8, size: 4 } } } as unknown as KernelLayout;
  const page = Buffer.alloc(4096);
  page.writeBigUInt64LE(0xffffdc0f80035b50n, 16 * 3); // entry 3, plain form
  page.writeUInt32LE(0x1f0fff, 16 * 3 + 8);
  page.writeBigUInt64LE((0xdc0f80035b5n << 20n) | 1n, 16 * 255); // the last entry, bit-field form
  page.writeUInt32LE(0x100020, 16 * 255 + 8);
  const p = entryDecoder(plain);
  const b = entryDecoder(withBits);
  if (typeof p === 'string' || typeof b === 'string') return t.fail('decoders');
  t.is(p(page, 0), null);
  t.deepEqual(p(page, 16 * 3), { header: 0xffffdc0f80035b50n, access: 0x1f0fff });
  t.is(b(page, 16 * 3 - 16), null);
  t.deepEqual(b(page, 16 * 255), { header: 0xffffdc0f80035b50n, access: 0x100020 });
  const outside = { fields: { 'HANDLE_TABLE_ENTRY.Object': { offset: 12, size: 8 }, 'HANDLE_TABLE_ENTRY.GrantedAccess': { offset: 8, size: 4 } } } as unknown as KernelLayout;
  t.regex(entryDecoder(outside) as string, /outside the entry/);
});
