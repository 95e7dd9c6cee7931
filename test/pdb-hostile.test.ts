// Hostile and damaged PDBs: every inconsistency is a BadInputError (or a skipped record), never a
// crash, a hang or an unbounded allocation. Crafted files come from the bench's PDB writer;
// mutated ones from the LLVM fixture.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { Pdb } from '../src/ntos/pdb/index.ts';
import { superBlockParser, SUPERBLOCK_SIZE, MsfFile } from '../src/ntos/pdb/msf.ts';
import { infoHeaderParser, INFO_HEADER_SIZE } from '../src/ntos/pdb/info-stream.ts';
import { dbiHeaderParser, DBI_HEADER_SIZE, Omap } from '../src/ntos/pdb/dbi-stream.ts';
import { tpiHeaderParser, TPI_HEADER_SIZE } from '../src/ntos/pdb/tpi-stream.ts';
import { readPublics } from '../src/ntos/pdb/publics.ts';
import { pdbToIsfWithStats, stringifyIsf } from '../src/ntos/isf-write.ts';
import { IsfTypes } from '../src/ntos/isf.ts';
import { BadInputError, VsmError } from '../src/errors.ts';
import { Bytes, TypeBuilder, buildMsf, buildPdb, typeRecord } from '../bench/pdb/synth.ts';

const FIXTURE = readFileSync(new URL('./fixtures/pdb/ntkrnlmp.pdb', import.meta.url));

test('fixed PDB layouts parse to their on-disk sizes', (t) => {
  t.is(superBlockParser.sizeOf(), SUPERBLOCK_SIZE);
  t.is(SUPERBLOCK_SIZE, 56);
  t.is(infoHeaderParser.sizeOf(), INFO_HEADER_SIZE);
  t.is(INFO_HEADER_SIZE, 28);
  t.is(dbiHeaderParser.sizeOf(), DBI_HEADER_SIZE);
  t.is(DBI_HEADER_SIZE, 64);
  t.is(tpiHeaderParser.sizeOf(), TPI_HEADER_SIZE);
  t.is(TPI_HEADER_SIZE, 56);
});

/** Opens, decodes everything and converts; returns the stats or throws what the reader threw. */
function consume(buf: Buffer) {
  const pdb = new Pdb(buf, 'hostile.pdb');
  const { doc, stats } = pdbToIsfWithStats(pdb);
  stringifyIsf(doc);
  return { pdb, doc, stats };
}

test('not a PDB, or cut short anywhere: BadInputError', (t) => {
  t.throws(() => consume(Buffer.alloc(0)), { instanceOf: BadInputError });
  t.throws(() => consume(Buffer.from('Microsoft C/C++ program database 2.00\r\n\x1aJG\0\0')), { instanceOf: BadInputError });
  for (const cut of [40, 56, 4096, 8192, FIXTURE.length >> 1, FIXTURE.length - 4096]) {
    t.throws(() => consume(FIXTURE.subarray(0, cut)), { instanceOf: BadInputError }, `cut at ${cut}`);
  }
});

function withSuperBlock(edit: (sb: Buffer) => void): Buffer {
  const b = Buffer.from(FIXTURE);
  edit(b);
  return b;
}

test('superblock and directory lies are caught before use', (t) => {
  const cases: [string, Buffer][] = [
    ['block size 1000', withSuperBlock((b) => b.writeUInt32LE(1000, 32))],
    ['more blocks than the file', withSuperBlock((b) => b.writeUInt32LE(0x7fffffff, 40))],
    ['zero-byte directory', withSuperBlock((b) => b.writeUInt32LE(0, 44))],
    ['directory larger than the file', withSuperBlock((b) => b.writeUInt32LE(0x7fffffff, 44))],
    ['block map beyond the file', withSuperBlock((b) => b.writeUInt32LE(0xfffffff0, 52))],
  ];
  for (const [what, buf] of cases) t.throws(() => consume(buf), { instanceOf: BadInputError }, what);
  // A directory that claims a million streams, and one with a block index past the end.
  const many = new Bytes().u32(1_000_000).concat();
  t.throws(() => new MsfFile(rawMsf(many)), { instanceOf: BadInputError });
  const badBlock = new Bytes().u32(1).u32(10).u32(9999).concat();
  t.throws(() => new MsfFile(rawMsf(badBlock)), { instanceOf: BadInputError });
  const oversize = new Bytes().u32(1).u32(0xfffffff0).concat();
  t.throws(() => new MsfFile(rawMsf(oversize)), { instanceOf: BadInputError });
});

/** An MSF whose directory bytes are given verbatim (block 3 = directory, block 4 = block map). */
function rawMsf(directory: Buffer): Buffer {
  const bs = 512;
  const file = Buffer.alloc(bs * 5);
  const sb = buildMsf([], bs).subarray(0, 32);
  sb.copy(file);
  file.writeUInt32LE(bs, 32);
  file.writeUInt32LE(1, 36);
  file.writeUInt32LE(5, 40);
  file.writeUInt32LE(directory.length, 44);
  file.writeUInt32LE(4, 52);
  directory.copy(file, 3 * bs, 0, Math.min(directory.length, bs));
  file.writeUInt32LE(3, 4 * bs);
  return file;
}

function tpiPdb(records: Buffer[], count = records.length, extra: Partial<Parameters<typeof buildPdb>[0]> = {}): Buffer {
  return buildPdb({ types: { bytes: Buffer.concat(records), count }, ...extra });
}

test('TPI header and record lengths are checked against the stream', (t) => {
  const ok = typeRecord(0x1001, new Bytes().u32(0x74).u16(1).concat());
  t.is(consume(tpiPdb([ok])).pdb.tpi.count, 1);
  t.throws(() => consume(tpiPdb([ok], 5_000_000)), { instanceOf: BadInputError }, 'absurd record count');
  t.throws(() => consume(tpiPdb([ok], 2)), { instanceOf: BadInputError }, 'fewer records than claimed');
  const overrun = Buffer.from(ok);
  overrun.writeUInt16LE(0xfff0, 0);
  t.throws(() => consume(tpiPdb([overrun])), { instanceOf: BadInputError }, 'record length past the stream');
});

test('damaged records are skipped and counted, the rest converts', (t) => {
  const tb = new TypeBuilder();
  // 0x1000: a structure whose size is an LF_ULONG cut short.
  tb.add(0x1505, new Bytes().u16(0).u16(0).u32(0).u32(0).u32(0).u16(0x8004).u8(1).concat());
  // 0x1001: a structure whose size uses an unknown numeric leaf.
  tb.add(0x1505, new Bytes().u16(0).u16(0).u32(0).u32(0).u32(0).u16(0x80ff).cstr('_WEIRD').concat());
  // 0x1002: a field list with a good member, then an entry kind nobody knows.
  const fl = new Bytes();
  tb.member(fl, 'Good', 0x74, 0);
  fl.u16(0x1599).u32(0);
  const flTi = tb.add(0x1203, fl.concat());
  // 0x1003: its structure; 0x1004: a structure pointing at a field list continuation loop.
  tb.struct('_PARTIAL', 8, flTi, 2);
  const loop = tb.add(0x1203, new Bytes().u16(0x1404).u16(0).u32(0x1005).concat());
  void loop;
  const loop2 = tb.add(0x1203, new Bytes().u16(0x1404).u16(0).u32(0x1004).concat());
  void loop2;
  tb.struct('_LOOPED', 4, 0x1004, 0);
  // Modifier cycles and a modifier of itself; an array of void; a forward reference to nothing.
  tb.add(0x1001, new Bytes().u32(0x1009).u16(1).concat()); // 0x1007 -> 0x1009
  tb.add(0x1001, new Bytes().u32(0x1008).u16(1).concat()); // 0x1008 -> itself
  tb.add(0x1001, new Bytes().u32(0x1007).u16(1).concat()); // 0x1009 -> 0x1007
  const arr = tb.add(0x1503, new Bytes().u32(0x0003).u32(0x23).numeric(64).cstr('').concat());
  const fwd = tb.struct('_NOWHERE', 0, 0, 0, true);
  const fl2 = new Bytes();
  tb.member(fl2, 'Cycle', 0x1007, 0);
  tb.member(fl2, 'Self', 0x1008, 8);
  tb.member(fl2, 'Voids', arr, 16);
  tb.member(fl2, 'Nowhere', fwd, 80);
  tb.member(fl2, '__proto__', 0x74, 88);
  tb.member(fl2, 'Dangling', 0x7fffffff, 92);
  const fl2Ti = tb.add(0x1203, fl2.concat());
  tb.struct('_ODD', 96, fl2Ti, 6);
  const { pdb, doc, stats } = consume(buildPdb({ types: tb.bytes }));
  t.is(pdb.tpi.stats.bad, 2);
  t.is(pdb.tpi.stats.stoppedFieldLists, 1);
  t.is(stats.damagedRecords, 3);
  t.is(stats.unresolvedForwardRefs, 1);
  t.deepEqual(Object.keys(doc.user_types._PARTIAL.fields), ['Good']);
  t.deepEqual(Object.keys(doc.user_types._LOOPED.fields), []);
  const odd = doc.user_types._ODD;
  t.deepEqual(Object.keys(odd.fields), ['Cycle', 'Self', 'Voids', 'Nowhere', '__proto__', 'Dangling']);
  t.is(odd.fields.__proto__.offset, 88);
  t.deepEqual(odd.fields.Voids.type, { kind: 'array', count: 0, subtype: { kind: 'base', name: 'void' } });
  t.deepEqual(odd.fields.Nowhere.type, { kind: 'struct', name: '_NOWHERE' });
  // Read back through JSON as any consumer would.
  const back = new IsfTypes(JSON.parse(stringifyIsf(doc)));
  t.is(back.field('_ODD', '__proto__')?.offset, 88);
});

test('publics: bad segments get no RVA, a record running past the stream ends the walk', (t) => {
  const types = { bytes: Buffer.alloc(0), count: 0 };
  const { pdb, doc } = consume(
    buildPdb({
      types,
      publics: [
        { name: 'Good', segment: 2, offset: 0x10 },
        { name: 'NoSection', segment: 9, offset: 0x10 },
        { name: 'Absolute', segment: 0, offset: 0x10 },
      ],
    }),
  );
  t.deepEqual(
    pdb.publics.publics.map((p) => [p.name, p.rva]),
    [
      ['Good', 0x2010],
      ['NoSection', undefined],
      ['Absolute', undefined],
    ],
  );
  t.deepEqual(Object.keys(doc.symbols), ['Good']);
  const rec = new Bytes().u16(0x110e).u32(0).u32(8).u16(1).cstr('First').concat();
  const stream = Buffer.concat([new Bytes().u16(rec.length).concat(), rec, new Bytes().u16(0x4000).u16(0x110e).u32(0).concat()]);
  const walked = readPublics(stream, [{ name: '.text', virtualAddress: 0x1000, virtualSize: 0x100, sizeOfRawData: 0, pointerToRawData: 0, characteristics: 0 }]);
  t.true(walked.truncated);
  t.deepEqual(walked.publics.map((p) => [p.name, p.rva]), [['First', 0x1008]]);
  t.true(new Omap(new Uint32Array([0x1000, 0x5000, 0x2000, 0])).map(0x1010) === 0x5010);
  t.is(new Omap(new Uint32Array([0x1000, 0x5000, 0x2000, 0])).map(0x2010), 0);
  t.is(new Omap(new Uint32Array([0x1000, 0x5000])).map(0x10), 0);
});

/** xorshift32: reproducible mutations. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

test('fuzz: 200 mutated copies of the LLVM fixture either convert or fail with a typed error', (t) => {
  const next = rng(0x5eed);
  const msf = new MsfFile(FIXTURE);
  const bs = msf.superBlock.blockSize;
  // Aim half the mutations at the structures that steer the parse: superblock, block map,
  // directory, and the first block of each of the info, TPI and DBI streams.
  const hot: number[] = [0, msf.superBlock.blockMapAddr * bs];
  for (const s of [1, 2, 3]) hot.push(msf.streams[s].blocks[0] * bs);
  let converted = 0;
  let rejected = 0;
  for (let i = 0; i < 200; i++) {
    const buf = Buffer.from(FIXTURE);
    const flips = 1 + (next() % 8);
    for (let f = 0; f < flips; f++) {
      const base = next() % 2 ? hot[next() % hot.length] : 0;
      const span = base ? 256 : buf.length;
      const at = Math.min(buf.length - 1, base + (next() % span));
      buf[at] = next() & 0xff;
    }
    try {
      consume(buf);
      converted++;
    } catch (e) {
      if (!(e instanceof VsmError)) {
        t.fail(`mutation ${i}: ${(e as Error).stack}`);
        return;
      }
      rejected++;
    }
  }
  t.log(`${converted} converted, ${rejected} rejected with a typed error`);
  t.is(converted + rejected, 200);
  t.true(rejected > 0 && converted > 0, `${converted} converted, ${rejected} rejected`);
});

test('a directory bigger than one block map: the block-map blocks listed after BlockMapAddr are followed', (t) => {
  // 512-byte blocks: one map block names 128 directory blocks (64 KiB of directory). A 9 MiB
  // stream needs 18432 block indices (72 KiB), so the directory spans two map blocks.
  const big = Buffer.alloc(9 * 1024 * 1024);
  for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i, i);
  const file = buildMsf([Buffer.alloc(0), big], 512);
  const msf = new MsfFile(file);
  t.true(msf.superBlock.numDirectoryBytes > 128 * 512);
  t.not(file.readUInt32LE(56), 0);
  const back = msf.readStream(1);
  t.is(back.length, big.length);
  t.true(back.equals(big));
  // The second map block index pointing outside the file is caught.
  const bad = Buffer.from(file);
  bad.writeUInt32LE(0xffffff, 56);
  t.throws(() => new MsfFile(bad), { instanceOf: BadInputError });
});
