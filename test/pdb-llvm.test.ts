// Our PDB reader and ISF writer against a PDB that LLVM wrote (test/fixtures/pdb, built by
// build.sh with clang-cl + lld-link), checked record by record against what llvm-pdbutil printed
// for the same file (ntkrnlmp.pdbutil.txt, produced by the same build script).
import test from 'ava';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openPdbFile } from '../src/ntos/pdb/index.ts';
import type { TypeRecord } from '../src/ntos/pdb/tpi-stream.ts';
import { guidDashed, guidToString, readPeDebugInfo } from '../src/ntos/pe.ts';
import { pdbToIsf, stripSymbolName, writeIsfFile } from '../src/ntos/isf-write.ts';
import { IsfTypes, loadIsfFile } from '../src/ntos/isf.ts';
import { layoutFromIsf } from '../src/ntos/layout.ts';
import { layoutFromPdbFile } from '../src/ntos/pdb-layout.ts';
import { parsePdbutil, llvmFields, parseReadobjCodeView, type LlvmType } from './fixtures/pdb/pdbutil-text.ts';

const DIR = new URL('./fixtures/pdb/', import.meta.url).pathname;
const PDB = join(DIR, 'ntkrnlmp.pdb');
const EXE = join(DIR, 'ntoskrnl.exe');
const TMP = new URL('./.tmp/pdb-llvm/', import.meta.url).pathname;
mkdirSync(TMP, { recursive: true });

const llvm = parsePdbutil(readFileSync(join(DIR, 'ntkrnlmp.pdbutil.txt'), 'utf8'));
const pdb = openPdbFile(PDB);

const KIND: Record<string, TypeRecord['kind']> = {
  LF_STRUCTURE: 'struct',
  LF_CLASS: 'class',
  LF_UNION: 'union',
  LF_INTERFACE: 'interface',
  LF_ENUM: 'enum',
  LF_FIELDLIST: 'fieldlist',
  LF_POINTER: 'pointer',
  LF_MODIFIER: 'modifier',
  LF_ARRAY: 'array',
  LF_BITFIELD: 'bitfield',
  LF_PROCEDURE: 'procedure',
  LF_ARGLIST: 'arglist',
};
const FIELD_KIND: Record<string, string> = {
  LF_MEMBER: 'member',
  LF_ENUMERATE: 'enumerate',
  LF_NESTTYPE: 'nesttype',
  LF_INDEX: 'index',
  LF_BCLASS: 'base',
  LF_STMEMBER: 'static',
  LF_METHOD: 'method',
  LF_ONEMETHOD: 'method',
  LF_VFUNCTAB: 'vfunctab',
};
const PTR_KIND: Record<string, number> = { ptr64: 0x0c, ptr32: 0x0a };
const PTR_MODE: Record<string, number> = { pointer: 0, ref: 1, 'rvalue ref': 4 };

const isUdt = (t: LlvmType) => ['LF_STRUCTURE', 'LF_CLASS', 'LF_UNION', 'LF_INTERFACE'].includes(t.leaf);

test('identity: GUID and age equal llvm-pdbutil, and the PE RSDS (via llvm-readobj and our PE reader) names them', (t) => {
  t.is<unknown, unknown>(guidDashed(pdb.guid), llvm.guid);
  t.is<unknown, unknown>(pdb.age, llvm.age);
  t.is<unknown, unknown>(pdb.info.age, llvm.age);
  const readobj = parseReadobjCodeView(readFileSync(join(DIR, 'ntoskrnl.readobj.txt'), 'utf8'))!;
  const pe = readPeDebugInfo(readFileSync(EXE));
  t.is<unknown, unknown>(pe.codeView!.guid, guidToString(readobj.guidBytes));
  t.is<unknown, unknown>(pe.codeView!.guid, pdb.guid);
  t.is<unknown, unknown>(pe.codeView!.age, readobj.age);
  t.is<unknown, unknown>(pe.codeView!.age, pdb.age);
  t.is<unknown, unknown>(pe.codeView!.pdbName, 'ntkrnlmp.pdb');
  t.is<unknown, unknown>(pdb.machine, 0x8664);
});

test('every TPI record decodes to what llvm-pdbutil says', (t) => {
  t.is<unknown, unknown>(pdb.tpi.count, llvm.shownRecords);
  t.is<unknown, unknown>(llvm.types.size, llvm.shownRecords);
  t.is<unknown, unknown>(pdb.tpi.stats.bad, 0);
  t.is<unknown, unknown>(pdb.tpi.stats.stoppedFieldLists, 0);
  let compared = 0;
  for (const [ti, lt] of llvm.types) {
    const r = pdb.tpi.get(ti)!;
    const want = KIND[lt.leaf] ?? 'other';
    t.is<unknown, unknown>(r.kind, want, `0x${ti.toString(16)} ${lt.leaf}`);
    switch (r.kind) {
      case 'struct':
      case 'class':
      case 'union':
      case 'interface':
        t.is<unknown, unknown>(r.name, lt.name);
        t.is<unknown, unknown>(r.uniqueName, lt.uniqueName);
        t.is<unknown, unknown>(r.forwardRef, lt.forwardRef);
        t.is<unknown, unknown>(r.size, lt.sizeof);
        t.is<unknown, unknown>(r.fieldList, lt.fieldList);
        break;
      case 'enum':
        t.is<unknown, unknown>(r.name, lt.name);
        t.is<unknown, unknown>(r.fieldList, lt.fieldList);
        t.is<unknown, unknown>(r.underlying, lt.underlying);
        t.is<unknown, unknown>(r.forwardRef, lt.forwardRef ?? false);
        break;
      case 'bitfield':
        t.deepEqual([r.type, r.position, r.length], [lt.type, lt.bitOffset, lt.bits]);
        break;
      case 'array':
        t.deepEqual([r.size, r.indexType, r.element], [lt.size, lt.indexType, lt.elementType]);
        break;
      case 'pointer':
        t.deepEqual([r.referent, r.ptrKind, r.mode], [lt.referent, PTR_KIND[lt.kind!], PTR_MODE[lt.mode!]]);
        break;
      case 'modifier': {
        const mods = (r.modifiers & 1 ? ['const'] : []).concat(r.modifiers & 2 ? ['volatile'] : []).join(' | ');
        t.deepEqual([r.referent, mods], [lt.referent, lt.modifiers]);
        break;
      }
      case 'procedure':
        t.deepEqual([r.returnType, r.paramCount, r.argList], [lt.returnType, lt.argCount, lt.paramList]);
        break;
      case 'fieldlist': {
        t.is<unknown, unknown>(r.fields.length, lt.members!.length, `field list 0x${ti.toString(16)}`);
        r.fields.forEach((f, i) => {
          const m = lt.members![i];
          t.is<unknown, unknown>(f.kind, FIELD_KIND[m.leaf], `0x${ti.toString(16)}[${i}]`);
          if (f.kind === 'member') t.deepEqual([f.name, f.type, f.offset], [m.name, m.type, m.offset]);
          if (f.kind === 'enumerate') t.deepEqual([f.name, BigInt.asUintN(64, BigInt(f.value))], [m.name, m.value]);
          if (f.kind === 'nesttype') t.is<unknown, unknown>(f.type, m.type);
          if (f.kind === 'index') t.is<unknown, unknown>(f.continuation, m.continuation);
        });
        break;
      }
    }
    compared++;
  }
  t.is<unknown, unknown>(compared, pdb.tpi.count);
  // The fixture exercises what the brief names: LF_NESTTYPE, LF_INDEX continuations, 64-bit enumerates.
  const leaves = [...llvm.types.values()].flatMap((x) => x.members ?? []).map((m) => m.leaf);
  t.true(leaves.includes('LF_NESTTYPE'));
  t.true(leaves.includes('LF_INDEX'));
  t.true(leaves.includes('LF_ONEMETHOD'));
});

test('every public symbol and its RVA equal llvm-pdbutil (segment:offset through its section headers)', (t) => {
  const ours = pdb.publics.publics;
  t.false(pdb.publics.truncated);
  t.is<unknown, unknown>(ours.length, llvm.publics.length);
  t.true(ours.length >= 20);
  const byName = new Map(ours.map((p) => [p.name, p]));
  t.is<unknown, unknown>(pdb.sections.length, llvm.sections.length);
  pdb.sections.forEach((s, i) => t.deepEqual([s.name, s.virtualAddress, s.virtualSize], [llvm.sections[i].name, llvm.sections[i].virtualAddress, llvm.sections[i].virtualSize]));
  for (const lp of llvm.publics) {
    const p = byName.get(lp.name);
    t.truthy(p, lp.name);
    t.deepEqual([p!.segment, p!.offset], [lp.segment, lp.offset], lp.name);
    t.is<unknown, unknown>(p!.rva, llvm.sections[lp.segment - 1].virtualAddress + lp.offset, lp.name);
  }
  // A public in the image's last section with data (Volatility's converter drops those).
  const last = Math.max(...llvm.publics.map((p) => p.segment));
  t.true(ours.some((p) => p.segment === last && p.rva !== undefined));
});

test('the ISF holds every structure, field offset, bitfield, enum and public that llvm-pdbutil shows', (t) => {
  const doc = pdbToIsf(pdb, { datetime: '2000-01-01T00:00:00.000Z' });
  const types = new IsfTypes(doc);
  let fields = 0;
  let bitfields = 0;
  for (const lt of llvm.types.values()) {
    if (!isUdt(lt) || lt.forwardRef) continue;
    const name = lt.name!.includes('<unnamed-tag>') ? `__unnamed_${lt.ti.toString(16)}` : lt.name!;
    const ut = doc.user_types[name];
    t.truthy(ut, name);
    t.is<unknown, unknown>(ut.size, lt.sizeof, name);
    t.is<unknown, unknown>(ut.kind, lt.leaf === 'LF_UNION' ? 'union' : 'struct');
    const members = llvmFields(llvm, lt.fieldList!).filter((m) => m.leaf === 'LF_MEMBER');
    t.is<unknown, unknown>(Object.keys(ut.fields).length, members.length, name);
    for (const m of members) {
      const f = ut.fields[m.name!];
      t.truthy(f, `${name}.${m.name}`);
      t.is<unknown, unknown>(f.offset, m.offset, `${name}.${m.name}`);
      const target = llvm.types.get(m.type!);
      if (target?.leaf === 'LF_BITFIELD') {
        t.deepEqual(f.type, { ...f.type, kind: 'bitfield', bit_position: target.bitOffset, bit_length: target.bits }, `${name}.${m.name}`);
        bitfields++;
      } else if (target?.leaf === 'LF_ARRAY') {
        t.is<unknown, unknown>(types.sizeOf(f.type), target.size, `${name}.${m.name} array size`);
      }
      fields++;
    }
  }
  t.true(fields > 2000);
  t.true(bitfields > 100);
  for (const lt of llvm.types.values()) {
    if (lt.leaf !== 'LF_ENUM' || lt.forwardRef) continue;
    const e = doc.enums[lt.name!];
    t.truthy(e, lt.name);
    const consts = llvmFields(llvm, lt.fieldList!);
    t.is<unknown, unknown>(Object.keys(e.constants).length, consts.length);
    for (const c of consts) t.is<unknown, unknown>(BigInt.asUintN(64, BigInt(e.constants[c.name!])), c.value, `${lt.name}.${c.name}`);
  }
  for (const lp of llvm.publics) {
    t.is<unknown, unknown>(doc.symbols[stripSymbolName(lp.name)]?.address, llvm.sections[lp.segment - 1].virtualAddress + lp.offset, lp.name);
  }
  t.is<unknown, unknown>(doc.metadata.windows?.pdb?.GUID, pdb.guid);
  t.is<unknown, unknown>(doc.metadata.windows?.pdb?.database, 'ntkrnlmp.pdb');
});

test('Microsoft-style layout: flattened flag unions, SecureState as a named unnamed union, anonymous unions resolved', (t) => {
  const types = new IsfTypes(pdbToIsf(pdb));
  const ep = llvm.types.get([...llvm.types.values()].find((x) => x.name === '_EPROCESS' && !x.forwardRef)!.fieldList!)!;
  const off = (n: string) => ep.members!.find((m) => m.name === n)!.offset;
  t.is<unknown, unknown>(types.field('_EPROCESS', 'UniqueProcessId')?.offset, off('UniqueProcessId'));
  t.is<unknown, unknown>(types.field('_EPROCESS', 'Flags3')?.offset, off('Flags3'));
  const sys = types.field('_EPROCESS', 'SystemProcess')!;
  t.is<unknown, unknown>(sys.offset, off('Flags3'));
  t.is<unknown, unknown>(sys.bitPosition, 12);
  t.is<unknown, unknown>(sys.bitLength, 1);
  const secure = types.field('_EPROCESS', 'Pcb.SecureState.Flags.SecureProcess')!;
  t.is<unknown, unknown>(secure.offset, 264);
  t.deepEqual([secure.bitPosition, secure.bitLength], [0, 1]);
  t.is<unknown, unknown>(types.field('_EPROCESS', 'Protection.Signer')?.bitPosition, 4);
});

test('round trip: the ISF written to .json.xz/.json.gz/.json and read back gives the same layout as the PDB', (t) => {
  const direct = layoutFromPdbFile(PDB);
  const head = llvm.publics.find((p) => p.name === 'PsActiveProcessHead')!;
  t.is<unknown, unknown>(direct.symbols.PsActiveProcessHead, llvm.sections[head.segment - 1].virtualAddress + head.offset);
  const doc = pdbToIsf(pdb);
  for (const ext of ['json.xz', 'json.gz', 'json']) {
    const path = join(TMP, `rt.${ext}`);
    writeIsfFile(doc, path);
    const back = layoutFromIsf(new IsfTypes(loadIsfFile(path)), { kind: 'pdb', path: PDB });
    t.deepEqual(back.fields, direct.fields, ext);
    t.deepEqual(back.sizes, direct.sizes, ext);
    t.deepEqual(back.symbols, direct.symbols, ext);
    t.deepEqual(back.pdb, direct.pdb, ext);
  }
  // And the layout's offsets are LLVM's.
  const kp = [...llvm.types.values()].find((x) => x.name === '_KPROCESS' && !x.forwardRef)!;
  const kpFields = llvmFields(llvm, kp.fieldList!);
  t.is<unknown, unknown>(direct.fields['KPROCESS.DirectoryTableBase']?.offset, kpFields.find((m) => m.name === 'DirectoryTableBase')!.offset);
  t.is<unknown, unknown>(direct.fields['KPROCESS.SecureState']?.offset, kpFields.find((m) => m.name === 'SecureState')!.offset);
  const ep = [...llvm.types.values()].find((x) => x.name === '_EPROCESS' && !x.forwardRef)!;
  t.is<unknown, unknown>(direct.sizes._EPROCESS, ep.sizeof);
  t.is<unknown, unknown>(direct.fields['EPROCESS.UniqueProcessId']?.offset, llvmFields(llvm, ep.fieldList!).find((m) => m.name === 'UniqueProcessId')!.offset);
  t.is<unknown, unknown>(direct.fields['EPROCESS.ProcessExiting']?.bitPosition, 2);
});
