import test from 'ava';
import { builtinByPdb, layoutTable } from '../src/ntos/layout-table.ts';
import { ASSUMED_FIELDS, ASSUMED_OBJECT_INFO_SIZES, OBJECT_INFO_SIZE_KEYS } from '../src/ntos/layout.ts';
import { findMarkers, poolBlockBytes, scanGeometry, scanProcesses, typeIndexKeyFromKnown, optionalHeaderBytes } from '../src/ntos/pool-scan.ts';
import { walkProcessList } from '../src/ntos/process-list.ts';
import { COOKIE, HEAD_VA, PROCESS_TYPE_INDEX, ProcFixture } from './helpers/proc-fixture.ts';

const LAYOUTS = ['DBBC830E3E9A48FDA25A2144C146930E-1', '606FF669409B00F7FC8C61A9C1670129-1', '0CE4A95C0CD782A7596B034D8648E585-1'];

function fixture(key: string) {
  const layout = builtinByPdb(key.slice(0, 32), Number(key.slice(33)))!;
  const fx = new ProcFixture(layout);
  fx.add({ pid: 4, ppid: 0, name: 'System', protection: 0x72 });
  fx.add({ pid: 424, ppid: 4, name: 'smss.exe', infoMask: 0x88 });
  fx.add({ pid: 800, ppid: 652, name: 'LsaIso.exe', secure: 1n });
  const hidden = fx.add({ pid: 7208, ppid: 6644, name: 'rundll32.exe', unlinked: true });
  const exited = fx.add({ pid: 6020, ppid: 944, name: 'WmiPrvSE.exe', unlinked: true, exit: '2024-05-14T07:54:42.900Z' });
  fx.link();
  fx.setLinks(exited.va + fx.links, 0n, 0n);
  return { layout, fx, hidden, exited };
}

function addDecoys(fx: ProcFixture, layout: ReturnType<typeof fixture>['layout']) {
  const size = layout.sizes._EPROCESS!;
  // 1. A bare 'Proc' tag at pool alignment with a plausible block size and garbage after it.
  const a = fx.kalloc(0x1000);
  const g = Buffer.alloc(0x1000, 0x41);
  g.writeUInt16LE((16 + 0x30 + size + 0x20) / 16, 2);
  g.write('Proc', 4, 'latin1');
  fx.m.writeVirt(fx.m.kernelDtb, a, g);
  // 2. 'Proc' in text, not at a pool-header position.
  const b = fx.kalloc(0x100);
  fx.m.writeVirt(fx.m.kernelDtb, b, Buffer.from('xxxxxxProcess Explorer Proc Proc', 'latin1'));
  // 3. A well-formed pool block whose EPROCESS has an odd PID.
  fx.add({ pid: 4097, ppid: 4, name: 'decoy.exe', unlinked: true });
  fx.procs.pop();
}

for (const key of LAYOUTS) {
  test(`scan finds linked, unlinked and exited processes and no decoy (${key})`, (t) => {
    const { layout, fx, hidden, exited } = fixture(key);
    addDecoys(fx, layout);
    const vm = fx.vm;
    const list = walkProcessList(vm, layout, HEAD_VA);
    t.deepEqual(list.entries.map((e) => Number(e.info.pid)), [4, 424, 800]);
    const key2 = typeIndexKeyFromKnown(vm, layout, list.entries.map((e) => e.va));
    t.is(key2, COOKIE ^ PROCESS_TYPE_INDEX);
    const known = new Map(list.entries.map((e) => [vm.translate(e.va).ok ? (vm.translate(e.va) as { pa: number }).pa : -1, e.va]));
    const r = scanProcesses(fx.m.phys, layout, { kernel: vm, typeIndex: { kind: 'key', key: key2!, source: 'list' }, knownVaByPa: known });
    const byPid = new Map(r.hits.map((h) => [Number(h.info.pid), h]));
    t.deepEqual([...byPid.keys()].sort((a, b) => a - b), [4, 424, 800, 6020, 7208]);
    t.is(byPid.get(7208)!.va, hidden.va);
    t.is(byPid.get(7208)!.vaMethod, 'self-link');
    t.is(byPid.get(424)!.vaMethod, 'list');
    // An exited process with null links: its VA comes from the kernel's page tables.
    t.is(byPid.get(6020)!.va, exited.va);
    t.is(byPid.get(6020)!.vaMethod, 'page-tables');
    t.is(byPid.get(6020)!.pa, exited.pa);
    t.is(byPid.get(7208)!.info.imageFileName?.text, 'rundll32.exe');
    t.true(r.stats.candidates >= 7);
    t.true((r.stats.rejected['pool block size'] ?? 0) + (r.stats.rejected['object/EPROCESS checks'] ?? 0) >= 2);
    t.deepEqual(r.capsHit, []);
  });
}

test('without the list, neighbours give the VA; a wrong TypeIndex is rejected', (t) => {
  const { layout, fx } = fixture(LAYOUTS[1]);
  const vm = fx.vm;
  const r = scanProcesses(fx.m.phys, layout, { kernel: vm, typeIndex: { kind: 'key', key: COOKIE ^ PROCESS_TYPE_INDEX, source: 'cookie' } });
  const sys = r.hits.find((h) => h.info.pid === 4n)!;
  t.is(sys.vaMethod, 'neighbour-flink');
  t.is(sys.va, fx.procs[0].va);
  // Same scan with another type's key: nothing passes.
  const wrong = scanProcesses(fx.m.phys, layout, { kernel: vm, typeIndex: { kind: 'key', key: COOKIE ^ 0x25, source: 'cookie' } });
  t.is(wrong.hits.length, 0);
});

test('an empty list head inside the object gives the VA; without any route only the PA is known', (t) => {
  const { layout, fx, exited } = fixture(LAYOUTS[1]);
  const off = BigInt(layout.fields['EPROCESS.ThreadListHead']!.offset);
  const noRoute = scanProcesses(fx.m.phys, layout, { kernel: fx.vm, reverseMap: false });
  const a = noRoute.hits.find((h) => h.info.pid === 6020n)!;
  t.is(a.va, null);
  t.is(a.pa, exited.pa);
  fx.setLinks(exited.va + off, exited.va + off, exited.va + off);
  const withHead = scanProcesses(fx.m.phys, layout, { kernel: fx.vm, reverseMap: false });
  const b = withHead.hits.find((h) => h.info.pid === 6020n)!;
  t.is(b.va, exited.va);
  t.is(b.vaMethod, 'empty-list-head');
});

test('markers are noted during the scan', (t) => {
  const { layout, fx } = fixture(LAYOUTS[1]);
  const at = fx.kalloc(0x100);
  fx.m.writeVirt(fx.m.kernelDtb, at + 0x20n, Buffer.from('RSDSxxxxsecurekernel.pdb', 'latin1'));
  const r = scanProcesses(fx.m.phys, layout, { kernel: fx.vm, markers: [Buffer.from('securekernel.pdb')] });
  const t0 = fx.vm.translate(at + 0x28n);
  t.deepEqual(r.markerHits, [[t0.ok ? t0.pa : -1]]);
  t.deepEqual(findMarkers(fx.m.phys, [Buffer.from('securekernel.pdb'), Buffer.from('nowhere-to-be-found')]), [[t0.ok ? t0.pa : -1], []]);
});

test('scan caps are reported', (t) => {
  const { layout, fx } = fixture(LAYOUTS[1]);
  const r = scanProcesses(fx.m.phys, layout, { kernel: fx.vm, maxHits: 2 });
  t.is(r.hits.length, 2);
  t.deepEqual(r.capsHit, [{ cap: 'scan.hits', limit: 2 }]);
  const c = scanProcesses(fx.m.phys, layout, { kernel: fx.vm, maxCandidates: 1 });
  t.deepEqual(c.capsHit, [{ cap: 'scan.candidates', limit: 1 }]);
});

test('optional header sizes follow InfoMask', (t) => {
  t.is(optionalHeaderBytes(0), 0);
  t.is(optionalHeaderBytes(0x08), 0x20);
  t.is(optionalHeaderBytes(0x88), 0x24);
  t.is(optionalHeaderBytes(0xff), 0xa4);
});

test('scan geometry: every table kernel gives its own offsets; assumed values fill only what a layout lacks', (t) => {
  const table = layoutTable();
  const keys = Object.keys(table.kernels);
  t.true(keys.length >= 200);
  const widths = new Set<string>();
  for (const key of keys) {
    const layout = builtinByPdb(key.slice(0, 32), Number(key.slice(33)))!;
    const g = scanGeometry(layout);
    t.deepEqual(g.assumed, [], key);
    t.is(g.bodyOffset, layout.fields['OBJECT_HEADER.Body']!.offset);
    t.is(g.poolHeaderSize, layout.sizes._POOL_HEADER!);
    // 7601 and 9600 lack some optional-header types (bits their kernels never set): assumed sizes there.
    t.deepEqual(g.infoSizes, OBJECT_INFO_SIZE_KEYS.map((k, bit) => layout.sizes[k] ?? ASSUMED_OBJECT_INFO_SIZES[bit]), key);
    // A pool header stating a block of 0x9a units decodes to 0x9a × 16 bytes whatever the field's width and bits.
    const bs = layout.fields['POOL_HEADER.BlockSize']!;
    widths.add(`${bs.size}/${bs.bitPosition ?? 0}`);
    const hdr = Buffer.alloc(g.poolHeaderSize, 0xff);
    const mask = 2 ** (bs.bitLength ?? bs.size * 8) - 1;
    const raw = hdr.readUIntLE(bs.offset, bs.size);
    const shift = 2 ** (bs.bitPosition ?? 0);
    hdr.writeUIntLE(raw - (Math.floor(raw / shift) & mask) * shift + 0x9a * shift, bs.offset, bs.size);
    t.is(poolBlockBytes(hdr, g), 0x9a * 16, key);
  }
  t.true(widths.size >= 2, 'both the 2-byte and the bitfield-over-ULONG BlockSize occur in the table');
  // A layout without the object/pool header types (as inferred layouts are) takes the assumed values, and says so.
  const bare = { source: { kind: 'inferred', method: 'test' }, fields: {}, sizes: { _EPROCESS: 0xa40 }, symbols: {} } as const;
  const g = scanGeometry(bare);
  t.deepEqual([...g.assumed].sort(), (Object.keys(ASSUMED_FIELDS) as string[]).filter((k) => /^(POOL|OBJECT)_HEADER\./.test(k)).sort());
  // Every assumed field place is the one every table kernel carries (the discovery's LDR DllBase too).
  for (const [field, place] of Object.entries(ASSUMED_FIELDS)) {
    if (field === 'POOL_HEADER.BlockSize') continue; // the one with two forms, checked above
    for (const key of keys) {
      const real = builtinByPdb(key.slice(0, 32), Number(key.slice(33)))!.fields[field as keyof typeof ASSUMED_FIELDS];
      if (real) t.is(real.offset, place.offset, `${field} in ${key}`);
    }
  }
  t.like(g, { poolHeaderSize: 16, tagOffset: 4, pointerCountOffset: 0, handleCountOffset: 8, typeIndexOffset: 0x18, infoMaskOffset: 0x1a, bodyOffset: 0x30, objectHeaderSize: 0x30, infoSizes: ASSUMED_OBJECT_INFO_SIZES, maxOptional: 0xa4 });
});
