import test from 'ava';
import { walkApcs } from '../src/ntos/apcs.ts';
import { builtinByPdb } from '../src/ntos/layout-table.ts';
import { DEFAULT_THREAD_CAP, walkThreads } from '../src/ntos/threads.ts';
import { ft } from './helpers/proc-fixture.ts';
import { REFERENCE_PDBS, WalkFixture } from './helpers/walk-fixture.ts';

const CREATE = ft('2024-05-14T07:03:00.000Z');

for (const [build, guid] of REFERENCE_PDBS) {
  const layout = builtinByPdb(guid, 1)!;

  test(`${build}: threads in list order with TIDs, start addresses, times and state; APC queues by mode`, (t) => {
    const fx = new WalkFixture(layout);
    const p = fx.addProcess({ pid: 800, ppid: 4, name: 'LsaIso.exe' });
    const e1 = fx.thread(p, { tid: 804, start: 0xfffff80012345678n, win32Start: 0x7ff6a0001000n, state: 2, create: CREATE });
    const e2 = fx.thread(p, { tid: 808, start: 0xfffff80012345678n, win32Start: 0x1d0000n, state: 5 });
    fx.linkThreads(p, [e1, e2]);
    const k1 = fx.apc(0, 0xfffff80055550000n, 0n);
    const u1 = fx.apc(1, 0xfffff80012340000n, 0x1d0040n);
    const u2 = fx.apc(1, 0xfffff80012340000n, 0x1d0080n);
    fx.queueApcs(e2, 0, [k1]);
    fx.queueApcs(e2, 1, [u1, u2]);

    const w = walkThreads(fx.vm, layout, p.va);
    t.false(w.partial, JSON.stringify(w.issues));
    t.is(w.cap, DEFAULT_THREAD_CAP);
    t.deepEqual(
      w.items.map((x) => [x.tid, x.pid, x.ethread, x.startAddress, x.win32StartAddress, x.state]),
      [
        [804, 800, '0x' + e1.toString(16), '0xfffff80012345678', '0x7ff6a0001000', 'Running'],
        [808, 800, '0x' + e2.toString(16), '0xfffff80012345678', '0x1d0000', 'Waiting'],
      ],
    );
    t.is(w.items[0].createTime, '2024-05-14T07:03:00.000Z');
    t.is(w.items[1].createTime, null, 'zero FILETIME is unset, not 1601');
    t.is(w.items[0].exitTime, null);

    const none = walkApcs(fx.vm, layout, e1);
    t.deepEqual(none.items, []);
    t.false(none.partial);
    const a = walkApcs(fx.vm, layout, e2);
    t.false(a.partial, JSON.stringify(a.issues));
    t.deepEqual(
      a.items.map((x) => [x.mode, x.kapc, x.kernelRoutine, x.normalRoutine]),
      [
        ['kernel', '0x' + k1.toString(16), '0xfffff80055550000', null],
        ['user', '0x' + u1.toString(16), '0xfffff80012340000', '0x1d0040'],
        ['user', '0x' + u2.toString(16), '0xfffff80012340000', '0x1d0080'],
      ],
    );
  });
}

const layout = builtinByPdb('606FF669409B00F7FC8C61A9C1670129', 1)!;

function threeThreads() {
  const fx = new WalkFixture(layout);
  const p = fx.addProcess({ pid: 900, ppid: 4, name: 'x.exe' });
  const es = [1, 2, 3].map((i) => fx.thread(p, { tid: 900 + 4 * i }));
  fx.linkThreads(p, es);
  return { fx, p, es, link: (e: bigint) => e + BigInt(layout.fields['ETHREAD.ThreadListEntry']!.offset) };
}

test('a thread list that loops without returning to its head stops with a cycle issue', (t) => {
  const { fx, p, es, link } = threeThreads();
  fx.setLinks(link(es[2]), link(es[0]), link(es[1]));
  const w = walkThreads(fx.vm, layout, p.va);
  t.true(w.partial);
  t.deepEqual(w.items.map((x) => x.tid), [904, 908, 912]);
  t.is(w.issues.at(-1)!.kind, 'cycle');
});

test('a non-canonical Flink stops the walk; the threads before it are kept', (t) => {
  const { fx, p, es, link } = threeThreads();
  fx.setLinks(link(es[1]), 0x4141414141414141n, link(es[0]));
  const w = walkThreads(fx.vm, layout, p.va);
  t.true(w.partial);
  t.deepEqual(w.items.map((x) => x.tid), [904, 908]);
  t.is(w.issues.at(-1)!.kind, 'non-canonical');
});

test('an unreadable thread page gives a partial walk, never a throw', (t) => {
  const { fx, p, es } = threeThreads();
  fx.dropPageOf(es[1]);
  const w = walkThreads(fx.vm, layout, p.va);
  t.true(w.partial);
  t.deepEqual(w.items.map((x) => x.tid), [904]);
  t.is(w.issues.at(-1)!.kind, 'unreadable');
});

test('a list longer than the cap stops at the cap and says so (a 100,000-entry forged list, default cap)', (t) => {
  const fx = new WalkFixture(layout);
  const p = fx.addProcess({ pid: 1000, ppid: 4, name: 'forged.exe' });
  // 100,000 LIST_ENTRYs packed 16 bytes apart in one region: each "ETHREAD" overlaps the next.
  const n = 100_000;
  const region = fx.kalloc(n * 16 + 0x1000);
  const buf = Buffer.alloc(n * 16);
  const head = p.va + BigInt(layout.fields['EPROCESS.ThreadListHead']!.offset);
  for (let i = 0; i < n; i++) {
    buf.writeBigUInt64LE(i + 1 < n ? region + BigInt((i + 1) * 16) : head, i * 16);
    buf.writeBigUInt64LE(i === 0 ? head : region + BigInt((i - 1) * 16), i * 16 + 8);
  }
  fx.m.writeVirt(fx.m.kernelDtb, region, buf);
  fx.setLinks(head, region, region + BigInt((n - 1) * 16));
  const w = walkThreads(fx.vm, layout, p.va + 0n);
  // ThreadListEntry is not at offset 0, so the "ETHREAD" of each entry starts before it: still no throw.
  t.true(w.capHit);
  t.is(w.items.length, DEFAULT_THREAD_CAP);
  t.true(w.issues.some((i) => i.kind === 'cap' && i.message.includes(String(DEFAULT_THREAD_CAP))));
  const small = walkThreads(fx.vm, layout, p.va, { maxThreads: 10 });
  t.is(small.items.length, 10);
  t.true(small.capHit);
});

test('an APC queue with a cycle and a KAPC whose stored mode disagrees are marked', (t) => {
  const fx = new WalkFixture(layout);
  const p = fx.addProcess({ pid: 1100, ppid: 4, name: 'y.exe' });
  const e = fx.thread(p, { tid: 1104 });
  fx.linkThreads(p, [e]);
  const a = fx.apc(0, 0xfffff80011110000n, 0n);
  const b = fx.apc(1, 0xfffff80022220000n, 0n); // says user, queued on the kernel queue
  fx.queueApcs(e, 0, [a, b]);
  const entry = BigInt(layout.fields['KAPC.ApcListEntry']!.offset);
  fx.setLinks(b + entry, a + entry, a + entry);
  const w = walkApcs(fx.vm, layout, e);
  t.true(w.partial);
  t.deepEqual(w.items.map((x) => x.mode), ['kernel', 'kernel']);
  t.true(w.issues.some((i) => i.kind === 'implausible'));
  t.true(w.issues.some((i) => i.kind === 'cycle'));
});

test('a layout without the thread fields says so instead of guessing', (t) => {
  const fx = new WalkFixture(layout);
  const p = fx.addProcess({ pid: 1200, ppid: 4, name: 'z.exe' });
  const bare = { ...layout, fields: { ...layout.fields, 'ETHREAD.ThreadListEntry': undefined } };
  const w = walkThreads(fx.vm, bare, p.va);
  t.true(w.partial);
  t.is(w.issues[0].kind, 'layout-missing');
});
