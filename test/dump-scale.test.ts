// Scale: a bitmap dump describing 64 GiB of physical memory (a sparse file, so the test writes
// only its header and bitmap) opens fast with a compact index; the rank index agrees with a naive
// prefix count on random bitmaps.
import test from 'ava';
import { closeSync, ftruncateSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { openDump } from '../src/dump/open.ts';
import { BitmapPhysicalMemory } from '../src/dump/physical.ts';

const DIR = new URL('./.tmp/dump-scale/', import.meta.url).pathname;
mkdirSync(DIR, { recursive: true });

function sparseBitmapDump(name: string, bitmap: Buffer, bits: number, present: number): string {
  const h = Buffer.alloc(0x2000);
  for (let i = 0; i < h.length; i += 4) h.write('PAGE', i, 'latin1');
  h.write('PAGEDU64', 0, 'latin1');
  h.writeUInt32LE(0x8664, 0x30);
  h.writeUInt32LE(5, 0xf98);
  const bh = Buffer.alloc(0x38);
  bh.write('FDMP', 0);
  bh.write('DUMP', 4);
  const first = Math.ceil((0x2038 + bitmap.length) / 4096) * 4096;
  bh.writeBigUInt64LE(BigInt(first), 0x20);
  bh.writeBigUInt64LE(BigInt(present), 0x28);
  bh.writeBigUInt64LE(BigInt(bits), 0x30);
  const path = DIR + name;
  const fd = openSync(path, 'w');
  writeSync(fd, h);
  writeSync(fd, bh);
  writeSync(fd, bitmap);
  ftruncateSync(fd, first + present * 4096); // sparse: the pages read as zeros, nothing is written
  closeSync(fd);
  return path;
}

test('a 64 GiB bitmap dump opens with a compact index and bounded memory', (t) => {
  const bits = 16 * 2 ** 20;
  const path = sparseBitmapDump('64g.dmp', Buffer.alloc(bits / 8, 0xff), bits, bits);
  const rss = process.memoryUsage().rss;
  const started = Date.now();
  const d = openDump(path);
  const p = d.physical!;
  t.is(p.presentPages, bits);
  t.deepEqual([...p.runs()], [{ basePage: 0, pageCount: bits }]);
  let seed = 1;
  for (let i = 0; i < 20000; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const pfn = seed % bits;
    if (!p.isPresent(pfn)) t.fail(`page ${pfn}`);
    p.readPage(pfn);
  }
  t.log(`20,000 random page reads in ${Date.now() - started} ms`);
  // The index is the bitmap (2 MiB) plus ranks; the cache is bounded; nothing scales with 64 GiB.
  t.true(process.memoryUsage().rss - rss < 96 * 2 ** 20, `rss grew ${(process.memoryUsage().rss - rss) >> 20} MiB`);
  t.is(p.readPage(bits), undefined);
  d.close();
});

test('rank index: file offsets agree with a naive prefix count', (t) => {
  let seed = 99;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  for (const density of [0.5, 0.03, 0.97]) {
    const bits = 200_003; // not a multiple of 32: the tail word is masked
    const map = Buffer.alloc(Math.ceil(bits / 8));
    for (let i = 0; i < bits; i++) if (rnd() / 2 ** 32 < density) map[i >> 3]! |= 1 << (i & 7);
    let set = 0;
    for (let i = 0; i < bits; i++) if (map[i >> 3]! & (1 << (i & 7))) set++;
    const path = sparseBitmapDump(`rank-${density}.dmp`, map, bits, set);
    const d = openDump(path);
    const p = d.physical as BitmapPhysicalMemory;
    t.is(p.presentPages, set);
    const first = Math.ceil((0x2038 + map.length) / 4096) * 4096;
    let rank = 0;
    let bad = 0;
    for (let i = 0; i < bits; i++) {
      const isSet = (map[i >> 3]! & (1 << (i & 7))) !== 0;
      const want = isSet ? first + rank * 4096 : -1;
      if (p.locate(i) !== want) bad++;
      if (isSet) rank++;
    }
    t.is(bad, 0, `density ${density}`);
    let pages = 0;
    for (const r of p.runs()) pages += r.pageCount;
    t.is(pages, set);
    d.close();
  }
});
