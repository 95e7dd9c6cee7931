// Resource bounds: crafted inputs that claim enormous sizes or never end must stop quickly, with
// bounded memory, and say which cap they hit. Process lists of 1,000,000 entries (straight, and a
// loop that never returns to the head) and names with maximal lengths are made procedurally (no
// memory behind them); dumps and PDBs with absurd counts are real files run by the fuzz child,
// which measures CPU time and peak RSS per input.
import test from 'ava';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MappedPage, PhysicalMemory, Translation, VirtualMemory } from '../src/dump/types.ts';
import { builtinByBuild } from '../src/ntos/layout-table.ts';
import type { KernelLayout } from '../src/ntos/layout.ts';
import { DEFAULT_LIST_CAP, walkProcessList } from '../src/ntos/process-list.ts';
import { analyzeKernel } from '../src/vsm/analyze.ts';
import { crashBitmapSeeds, crashFullSeeds, crashRdmpSeeds, triageSeeds } from '../fuzz/dump-seeds.ts';
import type { Seed } from '../fuzz/mutators.ts';
import { FuzzChild } from '../fuzz/pool.ts';
import { pdbSeeds } from '../fuzz/seeds.ts';
import { FakePhysical } from './helpers/fake-machine.ts';

const TMP = new URL('./.tmp/resource-bounds/', import.meta.url).pathname;
const PAGE = 4096;

// ------------------------------------------------------------------------------------------------
// Procedural kernel memory: EPROCESS i lives at BASE + i × 4 KiB; every page is computed on read.

const BASE = 0xffffc00000000000n;
const HEAD = 0xfffff80000100000n; // PsActiveProcessHead

interface ListShape {
  entries: number;
  /** Flink of the last entry: the head (a list that ends), or an earlier entry (a loop that never returns). */
  lastFlinkTo: 'head' | number;
  /** Every image path is a UNICODE_STRING of Length 0xFFFE over readable memory. */
  hugeNames?: boolean;
}

class ProceduralKernel implements VirtualMemory {
  readonly dtb = 0x1ad000;
  readonly physical: PhysicalMemory = new FakePhysical(0x1000);
  pagesMade = 0;
  private readonly links: number;
  private readonly f: KernelLayout['fields'];

  constructor(
    private readonly layout: KernelLayout,
    private readonly shape: ListShape,
  ) {
    this.f = layout.fields;
    this.links = this.f['EPROCESS.ActiveProcessLinks']!.offset;
  }

  private linkOf(i: number): bigint {
    return BASE + BigInt(i) * 0x1000n + BigInt(this.links);
  }

  private page(vaPage: bigint): Buffer | undefined {
    this.pagesMade++;
    const b = Buffer.alloc(PAGE);
    if (vaPage === HEAD) {
      b.writeBigUInt64LE(this.linkOf(0), 0);
      b.writeBigUInt64LE(this.shape.lastFlinkTo === 'head' ? this.linkOf(this.shape.entries - 1) : this.linkOf(0), 8);
      return b;
    }
    if (vaPage >= 0xffffd00000000000n && vaPage < 0xffffd00100000000n) return b.fill(0x41); // name buffers
    const i = Number((vaPage - BASE) / 0x1000n);
    if (vaPage < BASE || i >= this.shape.entries) return undefined;
    const put = (key: keyof KernelLayout['fields'], v: bigint) => {
      const p = this.f[key];
      if (p && p.offset + 8 <= PAGE) b.writeBigUInt64LE(v, p.offset);
    };
    const last = i === this.shape.entries - 1;
    const next = last ? (this.shape.lastFlinkTo === 'head' ? HEAD : this.linkOf(this.shape.lastFlinkTo)) : this.linkOf(i + 1);
    const prev = i === 0 ? HEAD : this.linkOf(i - 1);
    b.writeBigUInt64LE(next, this.links);
    b.writeBigUInt64LE(prev, this.links + 8);
    put('EPROCESS.UniqueProcessId', BigInt(8 + 4 * i));
    put('EPROCESS.InheritedFromUniqueProcessId', 4n);
    put('KPROCESS.DirectoryTableBase', 0x1ad000n);
    put('EPROCESS.CreateTime', 0x01d9a1b2c3d4e5f6n);
    const name = this.f['EPROCESS.ImageFileName'];
    if (name) b.write(`p${String(i).padStart(7, '0')}.exe`, name.offset, 'latin1');
    if (this.shape.hugeNames) {
      // SeAuditProcessCreationInfo → OBJECT_NAME_INFORMATION at +0xf00 of the same page: Length 0xFFFE.
      const audit = this.f['EPROCESS.SeAuditProcessCreationInfo'];
      if (audit) b.writeBigUInt64LE(vaPage + 0xf00n, audit.offset);
      b.writeUInt16LE(0xfffe, 0xf00);
      b.writeUInt16LE(0xfffe, 0xf02);
      b.writeBigUInt64LE(0xffffd00000000000n + BigInt(i % 4096) * 0x10000n, 0xf08);
    }
    return b;
  }

  translate(va: bigint): Translation {
    return this.page(va & ~0xfffn) ? { ok: true, pa: 0x1000, pageSize: PAGE, transition: false, pte: 0x1063n } : { ok: false, reason: 'not-mapped', level: 1 };
  }

  readInto(va: bigint, length: number, into: Buffer, at: number): boolean {
    const b = this.read(va, length);
    return b !== undefined && b.copy(into, at) === length;
  }
  read(va: bigint, length: number): Buffer | undefined {
    const out = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const cur = va + BigInt(done);
      const p = this.page(cur & ~0xfffn);
      if (!p) return undefined;
      const off = Number(cur & 0xfffn);
      const n = Math.min(PAGE - off, length - done);
      p.copy(out, done, off, off + n);
      done += n;
    }
    return out;
  }

  readU64(va: bigint): bigint | undefined {
    return this.read(va, 8)?.readBigUInt64LE(0);
  }

  readU32(va: bigint): number | undefined {
    return this.read(va, 4)?.readUInt32LE(0);
  }

  walk(): { pages: MappedPage[]; truncated: boolean } {
    return { pages: [], truncated: false };
  }
}

const layout = builtinByBuild(19041)!;

function measure<T>(fn: () => T): { value: T; ms: number; heapMb: number } {
  global.gc?.();
  const h0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const value = fn();
  return { value, ms: performance.now() - t0, heapMb: (process.memoryUsage().heapUsed - h0) / 2 ** 20 };
}

test('a 1,000,000-entry process list stops at the list cap, says so, and stays small', (t) => {
  const vm = new ProceduralKernel(layout, { entries: 1_000_000, lastFlinkTo: 'head' });
  const { value: w, ms, heapMb } = measure(() => walkProcessList(vm, layout, HEAD));
  t.true(w.capHit);
  t.is(w.cap, DEFAULT_LIST_CAP);
  t.is(w.entries.length, DEFAULT_LIST_CAP);
  t.false(w.complete);
  t.true(w.issues.some((i) => i.kind === 'cap' && i.message.includes(String(DEFAULT_LIST_CAP))), 'the cap is an issue with its limit');
  t.true(heapMb < 400, `heap grew ${heapMb.toFixed(0)} MiB`);
  t.log(`1M-entry list: ${w.entries.length} entries walked in ${ms.toFixed(0)} ms, heap +${heapMb.toFixed(0)} MiB`);
});

test('a loop of 1,000,000 entries that never returns to the head ends at the cap; a short loop is reported as a cycle', (t) => {
  const long = walkProcessList(new ProceduralKernel(layout, { entries: 1_000_000, lastFlinkTo: 500_000 }), layout, HEAD);
  t.true(long.capHit);
  t.true(long.entries.length <= DEFAULT_LIST_CAP);
  const short = walkProcessList(new ProceduralKernel(layout, { entries: 1000, lastFlinkTo: 500 }), layout, HEAD);
  t.false(short.capHit);
  t.true(short.issues.some((i) => i.kind === 'cycle'));
  t.true(short.entries.length >= 1000 && short.entries.length <= 1000 + 1000, 'every distinct entry once (forward, plus any recovered backwards)');
});

test('the analysis over a 1,000,000-entry list reports the cap in capsHit and as partial', (t) => {
  const vm = new ProceduralKernel(layout, { entries: 1_000_000, lastFlinkTo: 'head' });
  const { value: a, ms } = measure(() =>
    analyzeKernel(
      { format: 'raw', formatName: 'procedural', physical: vm.physical, partialByNature: false, partialReasons: [] },
      {
        vm,
        layout,
        base: null,
        psActiveProcessHead: HEAD,
        info: { base: null, build: 19041, dtb: '0x1ad000', psActiveProcessHead: `0x${HEAD.toString(16)}`, psLoadedModuleList: null, kdDebuggerDataBlock: null, pdb: null, symbolsSource: 'builtin-build:19041', discovery: 'test' },
      },
      { scan: false, vmForDtb: () => vm },
    ),
  );
  t.true(a.capsHit.some((c) => c.cap === 'list.entries' && c.limit === DEFAULT_LIST_CAP), JSON.stringify(a.capsHit));
  t.true(a.partial.partial);
  t.true(a.processes.length <= DEFAULT_LIST_CAP);
  t.log(`analysis of the 1M-entry list: ${a.processes.length} processes in ${ms.toFixed(0)} ms`);
});

test('image paths of maximal length (UNICODE_STRING 0xFFFE bytes) on every entry are cut to head and tail, bounding time and heap', (t) => {
  const vm = new ProceduralKernel(layout, { entries: 20_000, lastFlinkTo: 'head', hugeNames: true });
  const { value: w, ms, heapMb } = measure(() => walkProcessList(vm, layout, HEAD));
  t.is(w.entries.length, 20_000);
  t.true(heapMb < 400, `heap grew ${heapMb.toFixed(0)} MiB`);
  const p = w.entries[0]!.info.imagePath;
  t.truthy(p);
  t.true(p!.text.length <= 0x1000, `a kept path is short (got ${p!.text.length} units)`);
  t.regex(p!.text, /…\[\d+ bytes not shown\]…/, 'and says what it leaves out');
  t.log(`20,000 entries with 64 KiB paths: ${ms.toFixed(0)} ms, heap +${heapMb.toFixed(0)} MiB, ${vm.pagesMade} pages synthesized`);
});

// ------------------------------------------------------------------------------------------------
// Crafted files: run in the fuzz child (CPU-time bound, RSS bound, peak RSS measured).

const child = new FuzzChild({ timeoutMs: 10_000, maxRssMb: 768, heapMb: 512 });
test.after.always(() => child.close());
mkdirSync(TMP, { recursive: true });

function patch(seed: Seed, edits: Array<[string | number, number | bigint, (2 | 4 | 8)?]>): Buffer {
  const b = Buffer.from(seed.data);
  for (const [where, value, sizeHint] of edits) {
    const f = typeof where === 'number' ? { at: where, size: sizeHint ?? 8 } : seed.fields.find((x) => x.name === where);
    if (!f) throw new Error(`${seed.name} has no field ${where}`);
    if (f.size === 8) b.writeBigUInt64LE(BigInt(value), f.at);
    else if (f.size === 4) b.writeUInt32LE(Number(value), f.at);
    else b.writeUInt16LE(Number(value), f.at);
  }
  return b;
}

interface Crafted {
  name: string;
  entry: 'dump' | 'pdb';
  data: () => Buffer;
}

const first = <T>(xs: T[]): T => xs[0]!;

const CRAFTED: Crafted[] = [
  { name: 'full dump: run table of 0x45474150 runs (PAGE filler)', entry: 'dump', data: () => patch(first(crashFullSeeds()), [['NumberOfRuns', 0x45474150]]) },
  { name: 'full dump: NumberOfRuns 0xFFFFFFFF', entry: 'dump', data: () => patch(first(crashFullSeeds()), [['NumberOfRuns', 0xffffffff]]) },
  { name: 'full dump: a run of 2^40 pages', entry: 'dump', data: () => patch(first(crashFullSeeds()), [['Run[0].PageCount', 2n ** 40n], ['NumberOfPages', 2n ** 40n]]) },
  { name: 'full dump: runs at page 2^52', entry: 'dump', data: () => patch(first(crashFullSeeds()), [['Run[0].BasePage', 2n ** 52n]]) },
  { name: 'bitmap dump: a bitmap claiming 2^40 pages', entry: 'dump', data: () => patch(first(crashBitmapSeeds()), [['Bitmap.Pages', 2n ** 40n]]) },
  { name: 'bitmap dump: 2^40 present pages', entry: 'dump', data: () => patch(first(crashBitmapSeeds()), [['Bitmap.TotalPresentPages', 2n ** 40n]]) },
  { name: 'bitmap dump: FirstPage past 2^63', entry: 'dump', data: () => patch(first(crashBitmapSeeds()), [['Bitmap.FirstPage', 0xfffffffffffff000n]]) },
  { name: 'RDMP dump: 0xFFFFFFFF ranges of 2^40 pages', entry: 'dump', data: () => patch(crashRdmpSeeds()[1]!, [['RDMP.NumberOfRanges', 0xffffffff], ['RDMP.TotalNumberOfPages', 2n ** 40n], ['RDMP.Range[0].Count', 2n ** 40n]]) },
  { name: 'RDMP dump: MetadataSize 2^62', entry: 'dump', data: () => patch(crashRdmpSeeds()[0]!, [['RDMP.MetadataSize', 2n ** 62n]]) },
  { name: 'triage dump: 0xFFFFFFFF drivers and data blocks', entry: 'dump', data: () => patch(first(triageSeeds()), [['TRIAGE_DUMP64+0x34', 0xffffffff], ['TRIAGE_DUMP64+0x7c', 0xffffffff]]) },
  { name: 'PDB: TPI declaring 2^31 type records', entry: 'pdb', data: () => patch(first(pdbSeeds()), [['TPI.TypeIndexEnd', 0x1000 + 2 ** 31]]) },
  { name: 'PDB: TPI record bytes 0x7FFFFFFF', entry: 'pdb', data: () => patch(first(pdbSeeds()), [['TPI.TypeRecordBytes', 0x7fffffff]]) },
  { name: 'PDB: a gigantic stream (size 0x7FFFFFFF) in the directory', entry: 'pdb', data: () => patch(first(pdbSeeds()), [['StreamSize[2]', 0x7fffffff]]) },
  { name: 'PDB: 0xFFFFFFFF streams, directory of 0x7FFFFFFF bytes', entry: 'pdb', data: () => patch(first(pdbSeeds()), [['NumStreams', 0xffffffff], ['NumDirectoryBytes', 0x7fffffff]]) },
  { name: 'PDB: 2^32-1 blocks of 4 KiB', entry: 'pdb', data: () => patch(first(pdbSeeds()), [['NumBlocks', 0xffffffff]]) },
];

for (const c of CRAFTED) {
  test.serial(`${c.name}: ends quickly with a typed error or a partial result, bounded memory`, async (t) => {
    const path = join(TMP, `${c.name.replace(/\W+/g, '-')}.${c.entry === 'pdb' ? 'pdb' : 'dmp'}`);
    writeFileSync(path, c.data());
    const r = await child.run(c.entry, path);
    t.is(r.kind, 'done', JSON.stringify(r));
    if (r.kind !== 'done') return;
    t.not(r.outcome.kind, 'crash', r.outcome.kind === 'crash' ? `${r.outcome.name}: ${r.outcome.message}\n${r.outcome.stack}` : '');
    t.true(r.peakRssKb < 512 * 1024, `peak RSS ${Math.round(r.peakRssKb / 1024)} MiB`);
    const what = r.outcome.kind === 'typed' ? `${r.outcome.code}: ${r.outcome.message}` : r.outcome.kind === 'result' ? `result${r.outcome.partial ? ' (partial)' : ''}` : '';
    if (r.outcome.kind === 'typed') t.true(r.outcome.message.length > 0);
    t.log(`${what.slice(0, 160)} — ${r.outcome.ms.toFixed(0)} ms, peak RSS ${Math.round(r.peakRssKb / 1024)} MiB`);
    rmSync(path, { force: true });
  });
}
