// Hand-built x64 page tables inside a full crash dump: 4 KiB, 2 MiB and 1 GiB pages, the Windows
// software PTE states, an absent page-table page, the self-map entry, loops and fan-out.
import test from 'ava';
import { openDump } from '../src/dump/open.ts';
import { X64VirtualMemory, entryState } from '../src/dump/x64.ts';
import type { Translation } from '../src/dump/types.ts';
import { physicalWith } from './helpers/fake-machine.ts';
import { buildBitmap, buildFull, patternPage, writeTmp, type PageMap } from './helpers/dump-builders.ts';

const DIR = 'dump-x64';
const P = 1n; // present
const RW = 2n;
const PS = 0x80n;
const PROTO = 0x400n;
const TRANS = 0x800n;

class Tables {
  readonly pages: PageMap = new Map();
  table(pfn: number): Buffer {
    let b = this.pages.get(pfn);
    if (!b) this.pages.set(pfn, (b = Buffer.alloc(4096)));
    return b;
  }
  set(tablePfn: number, index: number, value: bigint): void {
    this.table(tablePfn).writeBigUInt64LE(value, index * 8);
  }
  data(pfn: number): void {
    this.pages.set(pfn, patternPage(pfn));
  }
}

const PML4 = 0x10;
const SELF = 0x1ed;
function build(): Tables {
  const t = new Tables();
  t.set(PML4, 0, (0x11n << 12n) | P | RW);
  t.set(PML4, SELF, (BigInt(PML4) << 12n) | P | RW); // self-map
  t.set(PML4, 0x100, (0x15n << 12n) | P | RW);
  t.set(0x11, 0, (0x12n << 12n) | P | RW); // PDPT[0] → PD
  t.set(0x11, 1, (0x40000n << 12n) | P | RW | PS); // 1 GiB page at PA 0x40000000
  t.set(0x12, 0, (0x13n << 12n) | P | RW); // PD[0] → PT
  t.set(0x12, 1, (0x200n << 12n) | P | RW | PS); // 2 MiB page at PA 0x200000
  t.set(0x12, 2, (0x14n << 12n) | P | RW); // PD[2] → a PT page absent from the dump
  t.set(0x13, 1, (0x20n << 12n) | P | RW | (1n << 63n)); // present, NX
  t.set(0x13, 2, (0x21n << 12n) | TRANS | (4n << 5n)); // transition
  t.set(0x13, 3, 0xffffffff00000000n | PROTO | (1n << 5n)); // prototype
  t.set(0x13, 4, (0x1234n << 32n) | (4n << 5n)); // page file
  t.set(0x13, 5, 4n << 5n); // demand zero with protection
  t.set(0x13, 6, (0x5000n << 12n) | P | RW); // valid, but the page is not in the dump
  t.set(0x15, 0, (0x77n << 32n) | (4n << 5n)); // kernel PDPT entry: a paged-out page directory
  t.data(0x20);
  t.data(0x21);
  t.data(0x200);
  t.data(0x201);
  t.data(0x40000);
  t.data(0x40005);
  return t;
}

function vm(form: 'full' | 'bitmap' = 'full'): X64VirtualMemory {
  const t = build();
  const bytes = form === 'full' ? buildFull(t.pages) : buildBitmap(t.pages);
  const d = openDump(writeTmp(DIR, `${form}.dmp`, bytes));
  return new X64VirtualMemory(d.physical!, BigInt(PML4 << 12) | 0x2n /* PCID bits are ignored */);
}

const fail = (tr: Translation) => (tr.ok ? 'ok' : tr.reason);

test('4 KiB, 2 MiB and 1 GiB translations', (t) => {
  for (const form of ['full', 'bitmap'] as const) {
    const v = vm(form);
    const a = v.translate(0x1234n);
    t.like(a, { ok: true, pa: 0x20234, pageSize: 4096, transition: false });
    t.like(v.translate(0x200000n + 0x1234n), { ok: true, pa: 0x201234, pageSize: 2 ** 21 });
    t.like(v.translate(0x40000000n + 0x5678n), { ok: true, pa: 0x40005678, pageSize: 2 ** 30 });
    // Inside the large pages but on 4 KiB frames the dump does not hold.
    t.like(v.translate(0x210000n), { ok: false, reason: 'page-absent', pa: 0x210000 });
    t.like(v.translate(0x40100000n), { ok: false, reason: 'page-absent', pa: 0x40100000 });
    t.deepEqual(v.read(0x1000n, 16), patternPage(0x20).subarray(0, 16));
  }
});

test('software PTE states: transition, prototype, page file, demand zero, absent page and table', (t) => {
  const v = vm();
  t.like(v.translate(0x2010n), { ok: true, pa: 0x21010, transition: true });
  t.is(fail(v.translate(0x3000n)), 'prototype');
  t.like(v.translate(0x4000n), { ok: false, reason: 'pagefile', level: 1, pte: (0x1234n << 32n) | 0x80n });
  t.is(fail(v.translate(0x5000n)), 'demand-zero');
  t.like(v.translate(0x6000n), { ok: false, reason: 'page-absent', pa: 0x5000000 });
  t.is(fail(v.translate(0x7000n)), 'demand-zero'); // zero PTE
  t.like(v.translate(0x400000n), { ok: false, reason: 'table-absent', pa: 0x14000, level: 1 });
  t.like(v.translate(0x8000000000n), { ok: false, reason: 'not-mapped', level: 4 });
  t.like(v.translate(0xffff800000000000n), { ok: false, reason: 'pagefile', level: 3 });
  t.is(fail(v.translate(0x0000800000000000n)), 'non-canonical');
  t.is(fail(v.translate(0xfff0000000000000n)), 'non-canonical');
  t.is(entryState(0, 0), 'empty');
});

test('reads span pages, including a transition page; a missing page fails the read', (t) => {
  const v = vm();
  const want = Buffer.concat([patternPage(0x20).subarray(4092), patternPage(0x21).subarray(0, 4)]);
  t.deepEqual(v.read(0x1ffcn, 8), want);
  t.is(v.readU64(0x1ffcn), want.readBigUInt64LE(0));
  t.is(v.readU32(0x1000n), patternPage(0x20).readUInt32LE(0));
  t.is(v.read(0x2ffcn, 8), undefined); // runs into the prototype page
  t.is(v.readU64(0x6000n), undefined);
});

test('scalar reads in place and readInto give what read() gives, at every offset of a page and across pages; reads leaving a canonical half fail', (t) => {
  const v = vm();
  const vas = [0x1000n, 0x1ff8n, 0x1ffcn, 0x1ffen, 0x1fffn, 0x2ff9n, 0x3000n, 0x200ff9n, 0x40005ffcn, 0x6000n, 0x0000800000000000n];
  for (let off = 0n; off < 4096n; off += 509n) vas.push(0x1000n + off, 0x200000n + off, 0x40000000n + off);
  for (const va of vas) {
    t.is(v.readU64(va), v.read(va, 8)?.readBigUInt64LE(0), `u64 at 0x${va.toString(16)}`);
    t.is(v.readU32(va), v.read(va, 4)?.readUInt32LE(0), `u32 at 0x${va.toString(16)}`);
    const into = Buffer.alloc(4096 + 7);
    const want = v.read(va, 4096);
    t.is(v.readInto(va, 4096, into, 7), want !== undefined, `readInto at 0x${va.toString(16)}`);
    if (want) t.deepEqual(into.subarray(7), want, `readInto bytes at 0x${va.toString(16)}`);
  }
  t.throws(() => v.readInto(0x1000n, 8, Buffer.alloc(8), 1), { message: /out of bounds/ });
  t.is(v.readU32(0x1ffen), Buffer.concat([patternPage(0x20).subarray(4094), patternPage(0x21).subarray(0, 2)]).readUInt32LE(0));
  t.is(v.read(0x00007ffffffffff8n, 16), undefined); // runs past the user half
  t.is(v.read(0xfffffffffffffff8n, 16), undefined); // runs past the top of the address space
  t.is(v.readU64(0xfffffffffffffffcn), undefined);
  t.is(v.read(0x0000800000000000n, 0)?.length, 0); // an empty read reads nothing
});

test('walk lists every non-empty leaf of the user range and skips the self-map', (t) => {
  const v = vm();
  const { pages, truncated } = v.walk(0n, 0x0000800000000000n);
  t.false(truncated);
  t.deepEqual(
    pages.map((p) => [p.va, p.pageSize, fail(p.translation)]),
    [
      [0x1000n, 4096, 'ok'],
      [0x2000n, 4096, 'ok'],
      [0x3000n, 4096, 'prototype'],
      [0x4000n, 4096, 'pagefile'],
      [0x5000n, 4096, 'demand-zero'],
      [0x6000n, 4096, 'page-absent'],
      [0x200000n, 2 ** 21, 'ok'],
      [0x400000n, 2 ** 21, 'table-absent'],
      [0x40000000n, 2 ** 30, 'ok'],
    ],
  );
  const kernel = v.walk(0xffff800000000000n, 2n ** 64n);
  t.deepEqual(kernel.pages.map((p) => [p.va, fail(p.translation)]), [[0xffff800000000000n, 'pagefile']]);
  // A sub-range walk only touches its own entries.
  t.deepEqual(v.walk(0x3000n, 0x5000n).pages.map((p) => p.va), [0x3000n, 0x4000n]);
  t.is(v.walk(0n, 2n ** 64n, 3).pages.length, 3);
  t.true(v.walk(0n, 2n ** 64n, 3).truncated);
});

test('hostile tables: loops and fan-out are bounded', (t) => {
  const tb = new Tables();
  // PML4[0] → PDPT whose every entry → one PD whose every entry → one empty PT: 262144 PT visits.
  tb.set(PML4, 0, (0x11n << 12n) | P);
  for (let i = 0; i < 512; i++) tb.set(0x11, i, (0x12n << 12n) | P);
  for (let i = 0; i < 512; i++) tb.set(0x12, i, (0x13n << 12n) | P);
  tb.table(0x13);
  // PML4[1] → a PDPT that points back at the PML4 and at itself.
  tb.set(PML4, 1, (0x30n << 12n) | P);
  tb.set(0x30, 0, (BigInt(PML4) << 12n) | P);
  tb.set(0x30, 1, (0x30n << 12n) | P);
  const d = openDump(writeTmp(DIR, 'hostile.dmp', buildFull(tb.pages)));
  const v = new X64VirtualMemory(d.physical!, PML4 << 12);
  const started = Date.now();
  const r = v.walk(0n, 0x0000800000000000n, 1000, 5000);
  t.true(r.truncated, 'the table bound ended the fan-out');
  t.is(r.pages.length, 0);
  t.log(`hostile fan-out walk ended by its bound in ${Date.now() - started} ms`);
  const loop = v.walk(0x8000000000n, 0x10000000000n);
  t.false(loop.truncated);
  t.deepEqual(loop.pages, []);
  d.close();
});

test('translations are remembered per 4 KiB page (a TLB): the same answers, within the bound', (t) => {
  const t0 = build();
  const d = openDump(writeTmp(DIR, 'tlb.dmp', buildFull(t0.pages)));
  const v = new X64VirtualMemory(d.physical!, BigInt(PML4 << 12), 2);
  const cases: Array<[bigint, Translation]> = [0x1234n, 0x1ff8n, 0x2010n, 0x200000n + 0x1234n, 0x40000000n + 0x5678n, 0x3000n, 0x6000n, 0x400000n].map((va) => [va, v.translate(va)]);
  t.true(v.tlbEntries <= 2);
  for (let round = 0; round < 3; round++) {
    for (const [va, want] of cases) t.deepEqual(v.translate(va), want, `0x${va.toString(16)}, round ${round}`);
    t.true(v.tlbEntries <= 2);
  }
  // Another offset in a remembered page: the offset is its own, the frame the page's.
  t.like(v.translate(0x1000n), { ok: true, pa: 0x20000, pageSize: 4096 });
  t.like(v.translate(0x40000000n + 0x5000n), { ok: true, pa: 0x40005000, pageSize: 2 ** 30 });
  t.deepEqual(v.read(0x1ffcn, 8), Buffer.concat([patternPage(0x20).subarray(4092), patternPage(0x21).subarray(0, 4)]));
  d.close();
});

test('walk reads table pages the same whether their buffers are 4-byte aligned or not', (t) => {
  const aligned = vm();
  const pm = aligned.physical;
  const unalignedPages = physicalWith(pm, {
    readPage: (pfn) => {
      const p = pm.readPage(pfn);
      return p && Buffer.concat([Buffer.alloc(1), p]).subarray(1); // byteOffset 1
    },
  });
  t.is(unalignedPages.readPage(PML4)!.byteOffset % 4, 1);
  const unaligned = new X64VirtualMemory(unalignedPages, aligned.dtb);
  const all = (v: X64VirtualMemory) => v.walk(0n, 0xffffffffffffffffn);
  t.true(all(aligned).pages.length > 5);
  t.deepEqual(all(unaligned), all(aligned));
});
