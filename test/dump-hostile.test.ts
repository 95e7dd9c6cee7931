// Truncated, damaged and hostile files: each gives a typed error or a partial result that names
// what is missing — never an uncaught exception, a hang or an unbounded allocation.
import test from 'ava';
import { openDump } from '../src/dump/open.ts';
import { BadInputError, UnsupportedError, VsmError } from '../src/errors.ts';
import { PAGE_SIZE } from '../src/dump/types.ts';
import { buildBitmap, buildFull, buildRaw, buildRdmp, header, pageMap, writeTmp } from './helpers/dump-builders.ts';

const DIR = 'dump-hostile';
const PFNS = [...Array(64).keys()].map((i) => 0x10 + i).concat([...Array(32).keys()].map((i) => 0x100 + i));
const PAGES = pageMap(PFNS);
const FULL = buildFull(PAGES);
const BITMAP = buildBitmap(PAGES);
const RDMP = buildRdmp(PAGES, { dumpType: 9 });

let n = 0;
const file = (b: Buffer) => writeTmp(DIR, `f${n++}.dmp`, b);
const bad = (code: string) => ({ instanceOf: BadInputError, code });

function mutate(b: Buffer, at: number, write: (x: Buffer) => void): Buffer {
  const c = Buffer.from(b);
  write(c.subarray(at));
  return c;
}

test('crash dumps cut inside the header are BadInput', (t) => {
  for (const src of [FULL, BITMAP, RDMP]) {
    for (const len of [5, 8, 0x100, 0xf9c, 0x1fff]) {
      t.throws(() => openDump(file(src.subarray(0, len))), { instanceOf: BadInputError }, `len ${len}`);
    }
  }
  // Cut inside the bitmap / RDMP range list that follow the header.
  t.throws(() => openDump(file(BITMAP.subarray(0, 0x2010))), bad('dump.truncated'));
  t.throws(() => openDump(file(BITMAP.subarray(0, 0x2040))), bad('dump.truncated-bitmap'));
  t.throws(() => openDump(file(RDMP.subarray(0, 0x2020))), { instanceOf: BadInputError });
  t.throws(() => openDump(file(RDMP.subarray(0, 0x2100))), bad('dump.rdmp-first-page'));
});

test('crash dumps cut inside the pages are partial, naming the missing range', (t) => {
  for (const [name, src, firstMissing] of [
    ['full', FULL, 0x100],
    ['bitmap', BITMAP, 0x100],
    ['rdmp', RDMP, 0x100],
  ] as const) {
    const cut = src.length - 32 * PAGE_SIZE - 100; // 32 pages of the 2nd run gone, plus 100 bytes of the 1st run's last page
    const d = openDump(file(src.subarray(0, cut)));
    const p = d.physical!;
    t.is(p.presentPages, 63, name);
    t.deepEqual(p.missing.map((m) => [m.basePage, m.pageCount]), [[0x4f, 1], [0x100, 32]], name);
    t.true(d.partialReasons.some((r) => r.includes('truncated') && r.includes('0x4f')), `${name}: ${d.partialReasons.join(' | ')}`);
    t.is(p.readPage(0x4f), undefined, name); // the half page is absent, not zero-padded
    t.is(p.readPage(firstMissing), undefined, name);
    t.deepEqual(p.read(0x4e000, 2 * PAGE_SIZE).absentPages, [0x4f], name);
    let pages = 0;
    p.forEachChunk((_b, data) => (pages += data.length / PAGE_SIZE));
    t.is(pages, 63, name);
    d.close();
  }
});

test('full dump: PAGE-filled run table, huge and overlapping runs', (t) => {
  t.throws(() => openDump(file(mutate(FULL, 0x88, (c) => c.write('PAGEPAGEPAGEPAGE', 'latin1')))), bad('dump.run-table-filler'));
  t.throws(() => openDump(file(mutate(FULL, 0x88, (c) => c.writeUInt32LE(1000)))), bad('dump.run-count'));
  t.throws(() => openDump(file(mutate(FULL, 0x88, (c) => c.writeUInt32LE(0)))), bad('dump.no-runs'));
  t.throws(() => openDump(file(mutate(FULL, 0xa0, (c) => c.writeBigUInt64LE(1n << 62n)))), bad('dump.run-bounds'));
  t.throws(() => openDump(file(mutate(FULL, 0xa8, (c) => c.writeBigUInt64LE(0x20n)))), bad('dump.runs-overlap'));
  // A huge but representable run: the pages past the file are missing, nothing is allocated for them.
  const d = openDump(file(mutate(FULL, 0xb0, (c) => c.writeBigUInt64LE(1n << 39n))));
  t.is(d.physical!.presentPages, 96);
  t.is((d.physical as unknown as { missingPages: number }).missingPages, 2 ** 39 - 32);
  t.true(d.partialReasons.some((r) => r.includes('truncated')));
  d.close();
});

test('bitmap dump: huge page counts, a first page outside the file, bad signatures, wrong totals', (t) => {
  t.throws(() => openDump(file(mutate(BITMAP, 0x2030, (c) => c.writeBigUInt64LE(1n << 50n)))), bad('dump.bitmap-pages'));
  t.throws(() => openDump(file(mutate(BITMAP, 0x2030, (c) => c.writeBigUInt64LE(1n << 36n)))), bad('dump.truncated-bitmap'));
  t.throws(() => openDump(file(mutate(BITMAP, 0x2030, (c) => c.writeBigUInt64LE(0n)))), bad('dump.bitmap-pages'));
  t.throws(() => openDump(file(mutate(BITMAP, 0x2020, (c) => c.writeBigUInt64LE(1n << 40n)))), bad('dump.bitmap-first-page'));
  t.throws(() => openDump(file(mutate(BITMAP, 0x2020, (c) => c.writeBigUInt64LE(0x2000n)))), bad('dump.bitmap-first-page'));
  t.throws(() => openDump(file(mutate(BITMAP, 0x2000, (c) => c.write('XDMP')))), bad('dump.bitmap-signature'));
  const d = openDump(file(mutate(BITMAP, 0x2028, (c) => c.writeBigUInt64LE(0x4547415045474150n))));
  t.is(d.physical!.presentPages, 96);
  t.regex(String(d.details.runTableAt0x88), /PAGE filler/);
  d.close();
  const w = openDump(file(mutate(BITMAP, 0x2028, (c) => c.writeBigUInt64LE(5n))));
  t.regex(String(w.details.bitmapNote), /differs/);
  w.close();
});

test('RDMP dump: metadata mismatch and hostile ranges', (t) => {
  t.throws(() => openDump(file(mutate(RDMP, 0x2010, (c) => c.writeBigUInt64LE(0x10n)))), bad('dump.rdmp-metadata'));
  t.throws(() => openDump(file(mutate(RDMP, 0x2000, (c) => c.writeUInt32LE(0x41)))), bad('dump.rdmp-signature'));
  t.throws(() => openDump(file(mutate(RDMP, 0x2038, (c) => c.writeBigUInt64LE(1n << 60n)))), bad('dump.rdmp-range'));
  t.throws(() => openDump(file(mutate(RDMP, 0x2040, (c) => c.writeBigUInt64LE(0x20n)))), bad('dump.runs-overlap'));
});

test('unsupported and foreign formats name what they are', (t) => {
  const cases: Array<[Buffer, RegExp]> = [
    [mutate(FULL, 4, (c) => c.write('DUMP')), /32-bit/],
    [mutate(FULL, 0xf98, (c) => c.writeUInt32LE(2)), /dump type 2/],
    [mutate(FULL, 0xf98, (c) => c.writeUInt32LE(0x77)), /dump type 119/],
    [header({ dumpType: 1, machine: 0x14c }), /x86/],
    [header({ dumpType: 5, machine: 0xaa64 }), /ARM64/],
    [Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), Buffer.alloc(8192)]), /gzip/],
    [Buffer.concat([Buffer.from('MDMP'), Buffer.alloc(8192)]), /minidump/],
    [Buffer.concat([Buffer.from([0xd2, 0xbe, 0xd2, 0xbe]), Buffer.alloc(8192)]), /VMware/],
  ];
  for (const [b, re] of cases) {
    const e = t.throws(() => openDump(file(b)), { instanceOf: UnsupportedError });
    t.regex(e!.message, re);
  }
  t.throws(() => openDump(file(mutate(FULL, 4, (c) => c.write('XX64')))), bad('dump.bad-signature'));
});

test('raw images: empty and sub-page files are BadInput; a ragged tail is noted', (t) => {
  t.throws(() => openDump(file(Buffer.alloc(0))), bad('dump.empty'));
  t.throws(() => openDump(file(Buffer.alloc(100, 1))), bad('dump.too-small'));
  t.throws(() => openDump('/nonexistent/dump.raw'), bad('dump.open'));
  const raw = Buffer.concat([buildRaw(PAGES), Buffer.alloc(5, 7)]);
  const d = openDump(file(raw));
  t.is(d.format, 'raw');
  t.is(d.physical!.presentPages, 0x120);
  t.regex(d.partialReasons[0]!, /last 5 bytes/);
  t.is(d.physical!.readPage(0x120), undefined);
  d.close();
});

test('random damage to headers never escapes as an untyped exception', (t) => {
  let seed = 12345;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  let opened = 0;
  let refused = 0;
  for (const src of [FULL, BITMAP, RDMP, buildRdmp(PAGES, { dumpType: 0xa })]) {
    for (let i = 0; i < 60; i++) {
      const c = Buffer.from(src);
      const hits = 1 + Math.floor(rnd() * 8);
      for (let k = 0; k < hits; k++) {
        // Target the fields that steer parsing: run table, DumpType, the 0x2000 header and lists.
        const zones = [0x88, 0x98, 0xf98, 0x2000, 0x2020, 0x2030, 0x2040];
        const at = zones[Math.floor(rnd() * zones.length)]! + Math.floor(rnd() * 16);
        c[at] = Math.floor(rnd() * 256);
      }
      const cut = rnd() < 0.3 ? Math.floor(rnd() * c.length) : c.length;
      try {
        const d = openDump(file(c.subarray(0, cut)));
        opened++;
        const p = d.physical;
        if (p) {
          for (const pfn of [0, 0x10, 0x4f, 0x100, 0x11f, p.pageLimit - 1]) p.readPage(pfn);
          p.read(0x10000, 0x3000);
          let pages = 0;
          p.forEachChunk((_b, data) => (pages += data.length / PAGE_SIZE));
          t.true(pages <= p.presentPages);
          [...p.runs()];
        }
        d.close();
      } catch (e) {
        refused++;
        if (!(e instanceof VsmError)) t.fail(`untyped ${(e as Error).stack}`);
      }
    }
  }
  t.true(opened > 0 && refused > 0, `${opened} opened, ${refused} refused`);
});
