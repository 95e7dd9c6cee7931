// Microsoft-written PDBs, read in place from ../shared/data/real, against what llvm-pdbutil says
// about them (test/fixtures/pdb/ms, recorded by scripts/pdb-ms-samples.ts).
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openPdbFile, Stream } from '../src/ntos/pdb/index.ts';
import { TpiStream } from '../src/ntos/pdb/tpi-stream.ts';
import { guidDashed, readPeDebugInfo } from '../src/ntos/pe.ts';
import { pdbToIsfWithStats, stripSymbolName } from '../src/ntos/isf-write.ts';
import { IsfTypes } from '../src/ntos/isf.ts';
import { parsePdbutil, llvmFields, type LlvmDump } from './fixtures/pdb/pdbutil-text.ts';

const REAL = new URL('../../shared/data/real/', import.meta.url).pathname;
const MS = new URL('./fixtures/pdb/ms/', import.meta.url).pathname;

const UDT_LEAVES = ['LF_STRUCTURE', 'LF_CLASS', 'LF_UNION', 'LF_INTERFACE'];

/** Compares every record present in LLVM's (possibly sampled) dump with ours; returns how many. */
function compareTypes(t: import('ava').ExecutionContext, file: string, llvm: LlvmDump): { udts: number; fieldLists: number; members: number } {
  const pdb = openPdbFile(join(REAL, file));
  let udts = 0;
  let fieldLists = 0;
  let members = 0;
  for (const [ti, lt] of llvm.types) {
    const r = pdb.tpi.get(ti);
    if (!r) {
      t.fail(`0x${ti.toString(16)} missing`);
      continue;
    }
    if (UDT_LEAVES.includes(lt.leaf)) {
      t.true(r.kind === 'struct' || r.kind === 'class' || r.kind === 'union' || r.kind === 'interface', `0x${ti.toString(16)}`);
      if (r.kind !== 'struct' && r.kind !== 'class' && r.kind !== 'union' && r.kind !== 'interface') continue;
      t.deepEqual([r.name, r.uniqueName, r.forwardRef, r.size, r.fieldList], [lt.name, lt.uniqueName, lt.forwardRef, lt.sizeof, lt.fieldList], `0x${ti.toString(16)}`);
      udts++;
    } else if (lt.leaf === 'LF_ENUM') {
      t.is<unknown, unknown>(r.kind, 'enum');
      if (r.kind === 'enum') t.deepEqual([r.name, r.fieldList, r.underlying], [lt.name, lt.fieldList, lt.underlying]);
    } else if (lt.leaf === 'LF_FIELDLIST') {
      t.is<unknown, unknown>(r.kind, 'fieldlist');
      if (r.kind !== 'fieldlist') continue;
      t.is<unknown, unknown>(r.stoppedAt, undefined);
      const ours = r.fields.filter((f) => f.kind === 'member');
      const theirs = lt.members!.filter((m) => m.leaf === 'LF_MEMBER');
      t.deepEqual(
        ours.map((f) => (f.kind === 'member' ? [f.name, f.type, f.offset] : [])),
        theirs.map((m) => [m.name, m.type, m.offset]),
        `field list 0x${ti.toString(16)}`,
      );
      t.is<unknown, unknown>(r.fields.length, lt.members!.length);
      fieldLists++;
      members += ours.length;
    } else if (lt.leaf === 'LF_BITFIELD') {
      t.is<unknown, unknown>(r.kind, 'bitfield');
      if (r.kind === 'bitfield') t.deepEqual([r.type, r.position, r.length], [lt.type, lt.bitOffset, lt.bits]);
    } else if (lt.leaf === 'LF_ARRAY') {
      t.is<unknown, unknown>(r.kind, 'array');
      if (r.kind === 'array') t.deepEqual([r.element, r.indexType, r.size], [lt.elementType, lt.indexType, lt.size]);
    }
  }
  return { udts, fieldLists, members };
}

function comparePublics(t: import('ava').ExecutionContext, file: string, llvm: LlvmDump): number {
  const pdb = openPdbFile(join(REAL, file));
  const ours = new Map(pdb.publics.publics.map((p) => [`${p.name}@${p.segment}:${p.offset}`, p]));
  t.is<unknown, unknown>(pdb.publics.publics.length, llvm.publics.length);
  for (const lp of llvm.publics) {
    const p = ours.get(`${lp.name}@${lp.segment}:${lp.offset}`);
    t.truthy(p, lp.name);
    const sec = llvm.sections[lp.segment - 1];
    t.is<unknown, unknown>(p?.rva, sec ? sec.virtualAddress + lp.offset : undefined, lp.name);
  }
  return llvm.publics.length;
}

test('exceptions-test.pdb (MSVC x64): identity, the PE RSDS, every structure record, sampled field lists, all 581 publics', (t) => {
  const llvm = parsePdbutil(readFileSync(join(MS, 'exceptions-test.pdbutil-sample.txt'), 'utf8'));
  const pdb = openPdbFile(join(REAL, 'exceptions-test.pdb'));
  t.is<unknown, unknown>(guidDashed(pdb.guid), '{2A7ED8A5-D796-443D-80CF-7200044EDF83}');
  t.is<unknown, unknown>(guidDashed(pdb.guid), llvm.guid);
  t.is<unknown, unknown>(pdb.age, 3);
  t.is<unknown, unknown>(pdb.age, llvm.age);
  t.is<unknown, unknown>(pdb.machine, 0x8664);
  const pe = readPeDebugInfo(readFileSync(join(REAL, 'exceptions-test.exe')));
  t.is<unknown, unknown>(pe.codeView?.guid, pdb.guid);
  t.is<unknown, unknown>(pe.codeView?.age, pdb.age);
  t.is<unknown, unknown>(pdb.tpi.count, llvm.shownRecords);
  t.is<unknown, unknown>(pdb.tpi.stats.bad, 0);
  let structures = 0;
  pdb.tpi.forEach((_ti, r) => {
    if (r.kind === 'struct' && r.leaf === 0x1505) structures++;
  });
  t.is<unknown, unknown>(structures, [...llvm.types.values()].filter((x) => x.leaf === 'LF_STRUCTURE').length);
  const n = compareTypes(t, 'exceptions-test.pdb', llvm);
  t.true(n.udts > 600, `${n.udts} structure records compared`);
  t.true(n.fieldLists >= 50, `${n.fieldLists} field lists compared`);
  t.true(n.members > 100, `${n.members} members compared`);
  t.is<unknown, unknown>(comparePublics(t, 'exceptions-test.pdb', llvm), 581);
});

test('exceptions-test.pdb converts to ISF (where Volatility 3 2.11 fails on its IPI records) with LLVM\'s offsets', (t) => {
  const llvm = parsePdbutil(readFileSync(join(MS, 'exceptions-test.pdbutil-sample.txt'), 'utf8'));
  const pdb = openPdbFile(join(REAL, 'exceptions-test.pdb'));
  const { doc, stats } = pdbToIsfWithStats(pdb);
  t.is<unknown, unknown>(stats.damagedRecords, 0);
  t.true(stats.userTypes > 200);
  const types = new IsfTypes(doc);
  let checked = 0;
  for (const lt of llvm.types.values()) {
    if (!UDT_LEAVES.includes(lt.leaf) || lt.forwardRef || !lt.fieldList || !llvm.types.has(lt.fieldList)) continue;
    const name = /^<(unnamed|anonymous)-tag>$/.test(lt.name!) ? `__${RegExp.$1}_${lt.ti.toString(16)}` : lt.name!;
    const ut = doc.user_types[name];
    if (!ut || ut.size !== lt.sizeof) continue; // an earlier definition of the same name won
    for (const m of llvmFields(llvm, lt.fieldList)) {
      if (m.leaf !== 'LF_MEMBER') continue;
      t.is<unknown, unknown>(ut.fields[m.name!]?.offset, m.offset, `${name}.${m.name}`);
      const target = llvm.types.get(m.type!);
      if (target?.leaf === 'LF_BITFIELD') {
        const loc = types.field(name, m.name!);
        t.deepEqual([loc?.bitPosition, loc?.bitLength], [target.bitOffset, target.bits]);
      }
      checked++;
    }
  }
  t.true(checked > 100, `${checked} fields checked`);
  for (const lp of llvm.publics) {
    const name = stripSymbolName(lp.name);
    if (doc.symbols[name]?.linkage_name && doc.symbols[name].linkage_name !== lp.name) continue; // two names strip alike
    const sec = llvm.sections[lp.segment - 1];
    if (!sec) continue; // segment 0: an absolute symbol, no RVA
    t.is<unknown, unknown>(doc.symbols[name]?.address, sec.virtualAddress + lp.offset, lp.name);
  }
});

test('minimal.pdb (MSVC x86): identity, every record and public equal llvm-pdbutil; ISF uses 4-byte pointers', (t) => {
  const llvm = parsePdbutil(readFileSync(join(MS, 'minimal.pdbutil.txt'), 'utf8'));
  const pdb = openPdbFile(join(REAL, 'minimal.pdb'));
  t.is<unknown, unknown>(guidDashed(pdb.guid), '{9AC8F93C-E9BE-44B5-90AA-DF2DFABEA7A3}');
  t.is<unknown, unknown>(guidDashed(pdb.guid), llvm.guid);
  t.is<unknown, unknown>(pdb.age, 1);
  t.is<unknown, unknown>(pdb.machine, 0x14c);
  t.is<unknown, unknown>(pdb.tpi.count, llvm.shownRecords);
  const n = compareTypes(t, 'minimal.pdb', llvm);
  t.true(n.udts >= 3);
  t.is<unknown, unknown>(comparePublics(t, 'minimal.pdb', llvm), 5);
  const { doc } = pdbToIsfWithStats(pdb);
  t.is<unknown, unknown>(doc.base_types.pointer.size, 4);
  t.is<unknown, unknown>(doc.metadata.windows?.pdb?.machine_type, 0x14c);
  // x86 C names carry a leading underscore that Volatility strips (keeping the linkage name).
  const underscored = llvm.publics.filter((p) => p.name.startsWith('_') && !p.name.includes('@'));
  t.true(underscored.length > 0);
  for (const p of underscored) t.is<unknown, unknown>(doc.symbols[p.name.slice(1)]?.linkage_name, p.name);
});

test('exceptions-test.pdb: its IPI stream (LF_SUBSTR_LIST, LF_FUNC_ID, LF_BUILDINFO…) reads through the same visitor, records kept as skipped', (t) => {
  const pdb = openPdbFile(join(REAL, 'exceptions-test.pdb'));
  const ipi = new TpiStream(pdb.msf.readStream(Stream.Ipi), 'exceptions-test.pdb IPI');
  t.true(ipi.count > 100);
  t.is(ipi.stats.bad, 0);
  const leaves = new Set<number>();
  for (const [, r] of ipi) if (r.kind === 'other') leaves.add(r.leaf);
  t.true(leaves.has(0x1604), 'LF_SUBSTR_LIST present and skipped');
  t.true(leaves.has(0x1601), 'LF_FUNC_ID present and skipped');
});
