import test from 'ava';
import { randomBytes } from 'node:crypto';
import { builtinByPdb } from '../src/ntos/layout-table.ts';
import { walkVads } from '../src/ntos/vad.ts';
import { classifyUserPages, isFillPage, judgeIsolation, type Baseline } from '../src/vsm/isolation.ts';
import { systemVerdict } from '../src/vsm/posture.ts';
import type { ProcessRecord } from '../src/vsm/types.ts';
import { FakeMachine } from './helpers/fake-machine.ts';

const U = 0x7ff600000000n;
const pg = (i: number) => U + BigInt(i) * 0x1000n;

/** One address space with every page class; returns the machine, dtb and the expected counts. */
function space() {
  const m = new FakeMachine();
  const dtb = m.newSpace();
  const fill = (pfn: number, b: Buffer) => b.copy(m.phys.page(pfn));
  // 3 readable pages
  for (let i = 0; i < 3; i++) fill(m.map(dtb, pg(i)), randomBytes(4096));
  // 2 zero pages, 1 constant-fill page
  m.map(dtb, pg(3));
  m.map(dtb, pg(4));
  fill(m.map(dtb, pg(5)), Buffer.alloc(4096, 0xcc));
  // 2 pages whose frames are not in the dump
  m.setEntry(dtb, pg(6), (0x90000n << 12n) | 0x7n);
  m.setEntry(dtb, pg(7), (0x90001n << 12n) | 0x7n);
  // transition PTE (bit 11, not present) to a page with content: in RAM, readable
  const tp = m.alloc();
  fill(tp, randomBytes(4096));
  m.setEntry(dtb, pg(8), (BigInt(tp) << 12n) | 0x800n);
  // prototype, page-file and demand-zero-with-protection entries: not resident
  m.setEntry(dtb, pg(9), 0xffffa00000001400n & ~1n);
  m.setEntry(dtb, pg(10), (0x1234n << 32n) | 0x80n);
  m.setEntry(dtb, pg(11), 0x80n);
  // A 2 MiB page at 0x7ff600400000: half of its frames in the dump (256 readable), half absent.
  const largeVa = U + 0x400000n;
  const largeBase = 0x200000; // pfn of a 2 MiB-aligned frame
  m.setEntry(dtb, largeVa, (BigInt(largeBase) << 12n) | 0x87n, 2);
  for (let k = 0; k < 256; k++) fill(largeBase + k, randomBytes(4096));
  // A page table that is absent from the dump: PDE → missing page.
  m.setEntry(dtb, U + 0x800000n, (0x95000n << 12n) | 0x7n, 2);
  return { m, dtb, expected: { readable: 3 + 1 + 256, unreadable: 3, absent: 2 + 256, notResident: 3, tablesAbsent: 1 } };
}

test('every page class is counted', (t) => {
  const { m, dtb, expected } = space();
  const c = classifyUserPages(m.vm(dtb), m.phys);
  t.is(c.pagesReadable, expected.readable);
  t.is(c.pagesUnreadable, expected.unreadable);
  t.is(c.pagesAbsent, expected.absent);
  t.is(c.pagesNotResident, expected.notResident);
  t.is(c.tablePagesAbsent, expected.tablesAbsent);
  t.is(c.pagesMapped, expected.readable + expected.unreadable + expected.absent + expected.notResident);
  t.true(c.partial);
  t.is(c.maxAbsentPfn, 0x200000 + 511, 'the highest absent frame: the top of the half-absent large page');
  t.is(c.sampleReadable.length, 5);
  t.is(c.sampleReadable[0], pg(0));
});

test('fill pages: all-zero and one repeated 8-byte word, not a repeated byte pattern of another period', (t) => {
  t.true(isFillPage(Buffer.alloc(4096)));
  const w = Buffer.alloc(4096);
  for (let o = 0; o < 4096; o += 8) w.writeBigUInt64LE(0xdeadbeefcafef00dn, o);
  t.true(isFillPage(w));
  const x = Buffer.from(w);
  x[4095] ^= 1;
  t.false(isFillPage(x));
});

test('the read cap stops reading pages and marks the result partial', (t) => {
  const { m, dtb } = space();
  const c = classifyUserPages(m.vm(dtb), m.phys, { maxPagesRead: 4 });
  t.true(c.capHit);
  t.is(c.pagesReadable + c.pagesUnreadable, 4);
});

test('VAD ranges without page-table entries count as mapped but not resident', (t) => {
  const layout = builtinByPdb('606FF669409B00F7FC8C61A9C1670129', 1)!;
  const m = new FakeMachine();
  const dtb = m.newSpace();
  m.map(dtb, pg(0));
  // Two VADs: [U, U+15 pages] (1 page has a PTE) and [U+0x100000, +3 pages] (none have one).
  const f = layout.fields;
  const mkVad = (va: bigint, start: bigint, end: bigint, left: bigint, right: bigint) => {
    const b = Buffer.alloc(0x40);
    b.writeBigUInt64LE(left, f['RTL_BALANCED_NODE.Left']!.offset);
    b.writeBigUInt64LE(right, f['RTL_BALANCED_NODE.Right']!.offset);
    b.writeUInt32LE(Number(start & 0xffffffffn), f['MMVAD_SHORT.StartingVpn']!.offset);
    b.writeUInt32LE(Number(end & 0xffffffffn), f['MMVAD_SHORT.EndingVpn']!.offset);
    b[f['MMVAD_SHORT.StartingVpnHigh']!.offset] = Number(start >> 32n);
    b[f['MMVAD_SHORT.EndingVpnHigh']!.offset] = Number(end >> 32n);
    m.writeVirt(m.kernelDtb, va, b);
  };
  const v1 = 0xffffc60000100000n;
  const v2 = 0xffffc60000100040n;
  mkVad(v2, (U + 0x100000n) >> 12n, ((U + 0x100000n) >> 12n) + 3n, 0n, 0n);
  mkVad(v1, U >> 12n, (U >> 12n) + 15n, 0n, v2);
  const vads = walkVads(m.vm(), layout, v1)!;
  t.true(vads.complete);
  t.is(vads.ranges.length, 2);
  const c = classifyUserPages(m.vm(dtb), m.phys, { vads: vads.ranges });
  t.is(c.pagesUnreadable, 1);
  t.is(c.pagesNotResident, 15 + 4);
  t.is(c.pagesMapped, 20);
  // A cyclic VAD tree is bounded and marked incomplete.
  mkVad(v2, (U + 0x100000n) >> 12n, ((U + 0x100000n) >> 12n) + 3n, v1, 0n);
  const cyc = walkVads(m.vm(), layout, v1)!;
  t.false(cyc.complete);
  t.is(cyc.ranges.length, 2);
});

const ordinary: Baseline = { processes: 5, pagesMapped: 100, pagesNotResident: 10, pagesAbsent: 0, pagesUnreadable: 20, pagesReadable: 70 };
const kernelOnly: Baseline = { processes: 5, pagesMapped: 100, pagesNotResident: 10, pagesAbsent: 90, pagesUnreadable: 0, pagesReadable: 0 };
const cls = (absent: number, unreadable: number, readable: number, notResident = 0) => ({
  pagesMapped: absent + unreadable + readable + notResident,
  pagesNotResident: notResident,
  pagesAbsent: absent,
  pagesUnreadable: unreadable,
  pagesReadable: readable,
  sampleReadable: readable ? [0x7ff600000000n] : [],
  tablePagesAbsent: 0,
  partial: false,
  capHit: false,
  maxAbsentPfn: -1,
});

test('verdicts: isolated, exposed, and indeterminate when the baseline is also unreadable', (t) => {
  t.is(judgeIsolation(cls(10, 0, 0), ordinary).verdict, 'isolated');
  t.is(judgeIsolation(cls(0, 10, 0), ordinary).verdict, 'isolated');
  const ex = judgeIsolation(cls(5, 0, 5), ordinary);
  t.is(ex.verdict, 'exposed');
  t.deepEqual(ex.sampleReadable, ['0x7ff600000000']);
  const kd = judgeIsolation(cls(10, 0, 0), kernelOnly);
  t.is(kd.verdict, 'indeterminate');
  t.regex(kd.reason, /kernel-only or damaged/);
  t.is(judgeIsolation(cls(0, 0, 0, 12), ordinary).verdict, 'indeterminate');
  t.is(judgeIsolation(cls(3, 0, 0), { ...ordinary, processes: 0, pagesReadable: 0, pagesUnreadable: 0 }).verdict, 'indeterminate');
});

test('system verdict', (t) => {
  const rec = (name: string, secure: boolean | null, verdict?: 'isolated' | 'exposed' | 'indeterminate', mapped = 10) =>
    ({ pid: 1, name: { text: name }, secure, terminated: false, isolation: verdict ? { ...cls(mapped, 0, verdict === 'exposed' ? 1 : 0), verdict, reason: 'r', sampleReadable: [], partial: false, tablePagesAbsent: 0 } : undefined }) as unknown as ProcessRecord;
  t.is(systemVerdict([rec('a', false), rec('b', false)]).verdict, 'not-running');
  t.is(systemVerdict([rec('a', false), rec('b', null)]).verdict, 'indeterminate');
  t.is(systemVerdict([rec('Secure System', true, 'indeterminate', 0), rec('LsaIso.exe', true, 'isolated')]).verdict, 'isolated');
  t.is(systemVerdict([rec('LsaIso.exe', true, 'exposed'), rec('BioIso.exe', true, 'isolated')]).verdict, 'exposed');
  t.is(systemVerdict([rec('LsaIso.exe', true, 'indeterminate')]).verdict, 'indeterminate');
});
