import test from 'ava';
import { builtinByPdb } from '../src/ntos/layout-table.ts';
import { walkProcessList } from '../src/ntos/process-list.ts';
import { HEAD_VA, ProcFixture } from './helpers/proc-fixture.ts';

const layout = builtinByPdb('606FF669409B00F7FC8C61A9C1670129', 1)!;
const PIDS = [4, 72, 128, 424, 576, 652, 800, 812, 944];

function fixture(): ProcFixture {
  const fx = new ProcFixture(layout);
  for (const pid of PIDS) fx.add({ pid, ppid: 4, name: `p${pid}.exe` });
  fx.link();
  return fx;
}
const pids = (w: ReturnType<typeof walkProcessList>) => w.entries.map((e) => Number(e.info.pid));
const links = (fx: ProcFixture, pid: number) => fx.procs.find((p) => p.pid === pid)!.va + fx.links;

test('a whole list walks back to the head', (t) => {
  const fx = fixture();
  const w = walkProcessList(fx.vm, layout, HEAD_VA);
  t.true(w.complete);
  t.true(w.covered);
  t.false(w.capHit);
  t.deepEqual(pids(w), PIDS);
  t.true(w.entries.every((e) => e.direction === 'forward'));
});

test('a cycle ends the forward walk with an issue; the tail is recovered backwards', (t) => {
  const fx = fixture();
  // 652's Flink points back at 424's links: 424 → 576 → 652 → 424 … never reaching the head.
  fx.setLinks(links(fx, 652), links(fx, 424), links(fx, 576));
  const w = walkProcessList(fx.vm, layout, HEAD_VA);
  t.false(w.complete);
  t.is(w.issues[0].kind, 'cycle');
  t.true(w.covered, 'the backward walk met the forward one');
  t.deepEqual(pids(w), PIDS);
  t.deepEqual(w.entries.filter((e) => e.direction === 'backward').map((e) => Number(e.info.pid)), [800, 812, 944]);
});

test('a non-canonical Flink ends the walk; Blinks recover the rest', (t) => {
  const fx = fixture();
  fx.setLinks(links(fx, 576), 0x4141414141414141n, links(fx, 424));
  const w = walkProcessList(fx.vm, layout, HEAD_VA);
  t.false(w.complete);
  t.is(w.issues[0].kind, 'link-non-canonical');
  t.deepEqual(pids(w), PIDS);
});

test('a Flink into garbage ends the walk as an implausible entry', (t) => {
  const fx = fixture();
  const junk = fx.kalloc(0x2000);
  fx.m.writeVirt(fx.m.kernelDtb, junk, Buffer.alloc(0x2000, 0x41));
  fx.setLinks(links(fx, 576), junk + 0x100n, links(fx, 424));
  const w = walkProcessList(fx.vm, layout, HEAD_VA, { recoverBackward: false });
  t.is(w.issues[0].kind, 'implausible-entry');
  t.deepEqual(pids(w), [4, 72, 128, 424, 576]);
});

test('an entry missing from the dump ends the walk as unreadable', (t) => {
  const fx = fixture();
  fx.dropPageOf(links(fx, 652));
  const w = walkProcessList(fx.vm, layout, HEAD_VA);
  t.is(w.issues[0].kind, 'link-unreadable');
  t.false(w.covered, '652 itself was never read');
  // Forward stops before 652; backward from the head stops at 652 too.
  t.deepEqual(pids(w), [4, 72, 128, 424, 576, 800, 812, 944]);
});

test('a Flink to unmapped kernel memory is a bad link, not a missing page', (t) => {
  const fx = fixture();
  fx.setLinks(links(fx, 576), 0xffffc60123456000n, links(fx, 424));
  const w = walkProcessList(fx.vm, layout, HEAD_VA);
  t.is(w.issues[0].kind, 'link-unmapped');
  t.deepEqual(pids(w), PIDS);
});

test('a Blink that does not point back is reported but does not stop the walk', (t) => {
  const fx = fixture();
  fx.setLinks(links(fx, 800), links(fx, 812), links(fx, 424));
  const w = walkProcessList(fx.vm, layout, HEAD_VA);
  t.true(w.complete);
  t.deepEqual(pids(w), PIDS);
  t.deepEqual(w.issues.map((i) => i.kind), ['blink-mismatch']);
});

test('the walk stops at its cap and says so', (t) => {
  const fx = fixture();
  const w = walkProcessList(fx.vm, layout, HEAD_VA, { maxEntries: 3 });
  t.true(w.capHit);
  t.is(w.entries.length, 3);
  t.is(w.issues.at(-1)?.kind, 'cap');
});

test('an unreadable or non-kernel head is an issue, not a crash', (t) => {
  const fx = fixture();
  t.is(walkProcessList(fx.vm, layout, 0x1000n).issues[0].kind, 'head-unreadable');
  t.is(walkProcessList(fx.vm, layout, 0xfffff80012345000n).issues[0].kind, 'head-unreadable');
});
