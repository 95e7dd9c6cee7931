import test from 'ava';
import { openDump } from '../src/dump/open.ts';
import type { FilePhysicalMemory } from '../src/dump/physical.ts';
import { PAGE_SIZE, type Dump, type PhysicalMemory } from '../src/dump/types.ts';
import { buildBitmap, buildFull, buildRaw, buildRdmp, pageMap, patternPage, writeTmp, type PageMap } from './helpers/dump-builders.ts';

const DIR = 'dump-physical';
// Three runs with holes between them, like a real machine's memory map.
const PFNS = [...range(1, 0x9f), ...range(0x100, 0x180), ...range(0x300, 0x340)];
const PAGES: PageMap = pageMap(PFNS);

function* range(a: number, b: number) {
  for (let i = a; i < b; i++) yield i;
}

function forms(): Array<[string, Dump]> {
  return [
    ['full', openDump(writeTmp(DIR, 'full.dmp', buildFull(PAGES)))],
    ['bitmap', openDump(writeTmp(DIR, 'bitmap.dmp', buildBitmap(PAGES)))],
    ['rdmp-0xA', openDump(writeTmp(DIR, 'complete.dmp', buildRdmp(PAGES, { dumpType: 0xa })))],
    ['rdmp-8-desc', openDump(writeTmp(DIR, 'kernel.dmp', buildRdmp(PAGES, { dumpType: 8, rangeOrder: 'desc' })))],
    ['raw', openDump(writeTmp(DIR, 'raw.bin', buildRaw(PAGES)))],
  ];
}

test('every form detects by content and holds the same bytes at sampled physical addresses', (t) => {
  const all = forms();
  t.deepEqual(
    all.map(([, d]) => d.format),
    ['crash-full', 'crash-bitmap', 'crash-complete', 'crash-kernel', 'raw'],
  );
  const samples = [0x1000, 0x1ff8, 0x9e000 + 17, 0x100000, 0x17fffc, 0x300123, 0x33fff0];
  for (const pa of samples) {
    const want = PAGES.get(Math.floor(pa / PAGE_SIZE))!.subarray(pa % PAGE_SIZE, (pa % PAGE_SIZE) + 4);
    for (const [name, d] of all) {
      const r = d.physical!.read(pa, 4);
      t.deepEqual(r.absentPages, [], `${name} @${pa.toString(16)}`);
      t.deepEqual(r.data, want, `${name} @${pa.toString(16)}`);
    }
  }
  // A read spanning a run boundary into a hole (crash forms) lists the hole's pages.
  for (const [name, d] of all.slice(0, 4)) {
    const r = d.physical!.read(0x9e000, 3 * PAGE_SIZE);
    t.deepEqual(r.absentPages, [0x9f, 0xa0], name);
    t.deepEqual(r.data.subarray(0, PAGE_SIZE), PAGES.get(0x9e)!, name);
    t.is(d.physical!.presentPages, PAGES.size, name);
    t.deepEqual([...d.physical!.runs()], [
      { basePage: 1, pageCount: 0x9e },
      { basePage: 0x100, pageCount: 0x80 },
      { basePage: 0x300, pageCount: 0x40 },
    ], name);
  }
  for (const [, d] of all) d.close();
});

test('an absent page is never read as zeros', (t) => {
  for (const [name, d] of forms().slice(0, 4)) {
    const p: PhysicalMemory = d.physical!;
    for (const pfn of [0, 0x9f, 0xff, 0x180, 0x2ff, 0x340, 0x100000, 2 ** 39]) {
      t.false(p.isPresent(pfn), `${name} ${pfn}`);
      t.is(p.readPage(pfn), undefined, `${name} ${pfn}`);
    }
    const r = p.read(0, 2 * PAGE_SIZE);
    t.deepEqual(r.absentPages, [0], name);
    t.deepEqual(r.data.subarray(PAGE_SIZE), PAGES.get(1)!, name);
    d.close();
  }
});

test('forEachChunk visits every present page once, in order, never across a hole', (t) => {
  for (const [name, d] of forms()) {
    const seen: number[] = [];
    d.physical!.forEachChunk((base, data) => {
      t.is(data.length % PAGE_SIZE, 0);
      for (let i = 0; i < data.length / PAGE_SIZE; i++) {
        const pfn = base + i;
        seen.push(pfn);
        const want = PAGES.get(pfn) ?? Buffer.alloc(PAGE_SIZE);
        if (!data.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE).equals(want)) t.fail(`${name} page ${pfn}`);
      }
    }, 5 * PAGE_SIZE);
    const expect = name === 'raw' ? [...range(0, 0x340)] : PFNS;
    t.deepEqual(seen, expect, name);
    d.close();
  }
});

test('the page cache is bounded: memory does not grow with the pages read', (t) => {
  const big = pageMap(range(0, 4096));
  const d = openDump(writeTmp(DIR, 'cache.dmp', buildBitmap(big)), { cachePages: 16 });
  const p = d.physical as FilePhysicalMemory;
  for (let pfn = 0; pfn < 4096; pfn++) {
    if (!p.readPage(pfn)!.equals(big.get(pfn)!)) t.fail(String(pfn));
    if (p.cachedPages > 16) t.fail(`cache holds ${p.cachedPages} pages`);
  }
  t.is(p.cachedPages, 16);
  t.deepEqual(d.physical!.readPage(7), patternPage(7));
  d.close();
});

test('readPageInto copies a page without caching it; an absent page is false, never zeros; a dropped page keeps its bytes', (t) => {
  for (const [name, d] of forms().slice(0, 4)) {
    const p = d.physical as FilePhysicalMemory;
    const into = Buffer.alloc(PAGE_SIZE, 0xcc);
    for (const pfn of [1, 0x9e, 0x100, 0x33f]) {
      t.true(p.readPageInto(pfn, into), `${name} ${pfn}`);
      t.deepEqual(into, PAGES.get(pfn)!, `${name} ${pfn}`);
    }
    t.is(p.cachedPages, 0, `${name}: nothing cached`);
    const cached = p.readPage(0x101)!;
    t.true(p.readPageInto(0x101, into), `${name}: from the cache`);
    t.deepEqual(into, PAGES.get(0x101)!);
    into.fill(0xcc);
    for (const pfn of [0, 0x9f, 0x180, 2 ** 39]) {
      t.false(p.readPageInto(pfn, into), `${name} ${pfn}`);
      t.true(into.every((b) => b === 0xcc), `${name} ${pfn}: left as it was`);
    }
    d.close();
    t.deepEqual(cached, PAGES.get(0x101)!, `${name}: a page the cache dropped still holds its bytes`);
  }
});
