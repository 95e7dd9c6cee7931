// PDB → Volatility 3 ISF (schema 6.1.0, as Volatility's own converter writes it): user types with
// fields at byte offsets, bitfields, enums, base types, and public symbols as RVAs.
// Conventions follow Volatility's pdbconv so its plugins find what they look for: simple types get
// its base-type names ("unsigned long", "wchar", "f32"…), native pointers carry no base, LF_CLASS
// is written as "struct", unnamed types are named `__unnamed_<type index>` (`__anonymous_…`), and
// public names are stripped of a leading `_`/`@`/`\x7f` and of a stdcall `@N` suffix.
// Anonymous members come out flattened into their parent (Microsoft's and LLVM's PDB writers
// already flatten them; an unnamed LF_MEMBER, if met, is flattened here the same way).
import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { xzCodec } from './lzma.ts';
import type { IsfBaseType, IsfDocument, IsfEnum, IsfField, IsfSymbol, IsfTypeRef, IsfUserType } from './isf.ts';
import type { Pdb } from './pdb/index.ts';
import type { TpiStream, TypeRecord, UdtRecord, EnumRecord } from './pdb/tpi-stream.ts';
import { FIRST_TYPE_INDEX } from './pdb/tpi-stream.ts';
import { IMAGE_FILE_MACHINE_AMD64, IMAGE_FILE_MACHINE_ARM64, IMAGE_FILE_MACHINE_I386 } from './pe.ts';
import { BadInputError } from '../errors.ts';

export const ISF_FORMAT = '6.1.0';

const LE = 'little' as const;
const base = (kind: IsfBaseType['kind'], size: number, signed: boolean): IsfBaseType => ({ endian: LE, kind, signed, size });

/** Simple type kinds (low byte of a type index < 0x1000) → ISF base type name and description. */
const SIMPLE_TYPES: Record<number, [string, IsfBaseType]> = {
  0x03: ['void', base('void', 0, true)],
  0x08: ['HRESULT', base('int', 4, false)],
  0x10: ['char', base('char', 1, true)],
  0x20: ['unsigned char', base('char', 1, false)],
  0x68: ['int8', base('int', 1, true)],
  0x69: ['uint8', base('int', 1, false)],
  0x70: ['char', base('char', 1, true)],
  0x71: ['wchar', base('int', 2, true)],
  0x7a: ['char16', base('int', 2, false)],
  0x7b: ['char32', base('int', 4, false)],
  0x7c: ['char8', base('char', 1, false)],
  0x11: ['short', base('int', 2, true)],
  0x21: ['unsigned short', base('int', 2, false)],
  0x72: ['short', base('int', 2, true)],
  0x73: ['unsigned short', base('int', 2, false)],
  0x12: ['long', base('int', 4, true)],
  0x22: ['unsigned long', base('int', 4, false)],
  0x74: ['int', base('int', 4, true)],
  0x75: ['unsigned int', base('int', 4, false)],
  0x13: ['long long', base('int', 8, true)],
  0x23: ['unsigned long long', base('int', 8, false)],
  0x76: ['long long', base('int', 8, true)],
  0x77: ['unsigned long long', base('int', 8, false)],
  0x14: ['int128', base('int', 16, true)],
  0x24: ['uint128', base('int', 16, false)],
  0x78: ['int128', base('int', 16, true)],
  0x79: ['uint128', base('int', 16, false)],
  0x46: ['f16', base('float', 2, true)],
  0x40: ['f32', base('float', 4, true)],
  0x45: ['f32pp', base('float', 4, true)],
  0x44: ['f48', base('float', 6, true)],
  0x41: ['double', base('float', 8, true)],
  0x42: ['f80', base('float', 10, true)],
  0x43: ['f128', base('float', 16, true)],
  0x30: ['bool', base('bool', 1, false)],
  0x31: ['bool16', base('bool', 2, false)],
  0x32: ['bool32', base('bool', 4, false)],
  0x33: ['bool64', base('bool', 8, false)],
};
const VOID: [string, IsfBaseType] = SIMPLE_TYPES[0x03];

/** Pointer modes of simple type indices (bits 8..10) → sized pointer base name. */
function simplePointerSize(mode: number): number {
  if (mode <= 3) return 2;
  if (mode <= 5) return 4;
  if (mode === 7) return 16;
  return 8;
}

/** Name-keyed maps without a prototype: a PDB may name a member `__proto__`. */
function dict<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** Is this a compiler-made name for an unnamed type? Returns the ISF prefix to use. */
function unnamedPrefix(name: string): '__unnamed' | '__anonymous' | undefined {
  if (name === '' || name === '<unnamed-tag>' || name === '__unnamed' || name.endsWith('::<unnamed-tag>')) return '__unnamed';
  if (name === '<anonymous-tag>' || name === '__anonymous' || name.endsWith('::<anonymous-tag>')) return '__anonymous';
  return undefined;
}

/** Volatility's symbol-name normalisation (leading `_`, `@`, `\x7f`; stdcall `@N` suffix). */
export function stripSymbolName(name: string): string {
  let n = name;
  if (n.length > 0 && (n[0] === '_' || n[0] === '@' || n[0] === '\x7f')) n = n.slice(1);
  const parts = n.split('@');
  if (parts.length === 2 && /^[0-9]+$/.test(parts[1]) && parts[0] !== '' && parts[0][0] !== '?') return parts[0];
  return parts.length === 2 ? name : n;
}

export interface PdbToIsfOptions {
  /** `metadata.windows.pdb.database` (default: the PDB's file name). */
  databaseName?: string;
  producerVersion?: string;
  /** Fixed timestamp for reproducible output. */
  datetime?: string;
}

export interface IsfConversionStats {
  userTypes: number;
  enums: number;
  symbols: number;
  /** Forward references that named no definition (left as references, as Volatility does). */
  unresolvedForwardRefs: number;
  /** Records that failed to decode, plus field lists cut short by an entry we cannot size. */
  damagedRecords: number;
}

/** The machinery of one conversion: definition lookup, sizes, type references. */
class Converter {
  readonly baseTypes: Record<string, IsfBaseType> = dict();
  private readonly byUnique = new Map<string, number>();
  private readonly byName = new Map<string, number>();
  private readonly refCache = new Map<number, IsfTypeRef>();
  readonly pointerSize: number;
  unresolved = new Set<number>();

  constructor(
    readonly tpi: TpiStream,
    machine: number,
  ) {
    tpi.forEach((ti, r) => {
      if ((r.kind === 'struct' || r.kind === 'class' || r.kind === 'union' || r.kind === 'interface' || r.kind === 'enum') && !r.forwardRef) {
        const tag = r.kind === 'enum' ? 'e' : 'u';
        if (r.uniqueName && !this.byUnique.has(tag + r.uniqueName)) this.byUnique.set(tag + r.uniqueName, ti);
        if (!unnamedPrefix(r.name) && !this.byName.has(tag + r.name)) this.byName.set(tag + r.name, ti);
      }
    });
    this.pointerSize = machine === IMAGE_FILE_MACHINE_I386 || machine === 0x1c4 ? 4 : machine === IMAGE_FILE_MACHINE_AMD64 || machine === IMAGE_FILE_MACHINE_ARM64 ? 8 : this.guessPointerSize();
    this.baseTypes.pointer = base('int', this.pointerSize, false);
  }

  private guessPointerSize(): number {
    let size = 8;
    this.tpi.forEach((_ti, r) => {
      if (r.kind === 'pointer' && r.mode === 0 && r.size) size = r.size;
    });
    return size;
  }

  /** A forward reference's definition (by unique name, then name); the index itself otherwise. */
  resolve(ti: number): number {
    const r = this.tpi.get(ti);
    if (!r || (r.kind !== 'struct' && r.kind !== 'class' && r.kind !== 'union' && r.kind !== 'interface' && r.kind !== 'enum') || !r.forwardRef) return ti;
    const tag = r.kind === 'enum' ? 'e' : 'u';
    const def = (r.uniqueName && this.byUnique.get(tag + r.uniqueName)) || (unnamedPrefix(r.name) ? undefined : this.byName.get(tag + r.name));
    if (def === undefined) {
      this.unresolved.add(ti);
      return ti;
    }
    return def;
  }

  /** The ISF name of a (resolved) structure/union/enum. */
  isfName(ti: number, r: UdtRecord | EnumRecord): string {
    const prefix = unnamedPrefix(r.name);
    return prefix ? `${prefix}_${ti.toString(16)}` : r.name;
  }

  simpleName(ti: number): string {
    const [name, desc] = SIMPLE_TYPES[ti & 0xff] ?? VOID;
    this.baseTypes[name] ??= desc;
    return name;
  }

  sizeOf(ti: number, depth = 0): number {
    if (depth > 64) return 0;
    if (ti < FIRST_TYPE_INDEX) {
      const mode = (ti >> 8) & 0x7;
      if (mode) return simplePointerSize(mode);
      return (SIMPLE_TYPES[ti & 0xff] ?? VOID)[1].size;
    }
    const r = this.tpi.get(this.resolve(ti));
    if (!r) return 0;
    switch (r.kind) {
      case 'struct':
      case 'class':
      case 'union':
      case 'interface':
        return r.forwardRef ? 0 : r.size;
      case 'enum':
        return this.sizeOf(r.underlying, depth + 1);
      case 'modifier':
        return this.sizeOf(r.referent, depth + 1);
      case 'pointer':
        return this.pointerBytes(r);
      case 'array':
        return r.size;
      case 'bitfield':
        return this.sizeOf(r.type, depth + 1);
      default:
        return 0;
    }
  }

  private pointerBytes(r: Extract<TypeRecord, { kind: 'pointer' }>): number {
    if (r.size) return r.size;
    if (r.ptrKind === 0x0a) return 4;
    if (r.ptrKind === 0x0c) return 8;
    return this.pointerSize;
  }

  private pointerTo(subtype: IsfTypeRef, size: number): IsfTypeRef {
    if (size === this.pointerSize) return { kind: 'pointer', subtype };
    const name = `pointer${size * 8}`;
    this.baseTypes[name] ??= base('int', size, false);
    return { kind: 'pointer', base: name, subtype };
  }

  typeRef(ti: number, depth = 0): IsfTypeRef {
    const cached = this.refCache.get(ti);
    if (cached) return cached;
    const ref = this.computeRef(ti, depth);
    this.refCache.set(ti, ref);
    return ref;
  }

  private computeRef(ti: number, depth: number): IsfTypeRef {
    if (depth > 64) return { kind: 'base', name: this.simpleName(0x03) };
    if (ti < FIRST_TYPE_INDEX) {
      const name = this.simpleName(ti);
      const mode = (ti >> 8) & 0x7;
      return mode ? this.pointerTo({ kind: 'base', name }, simplePointerSize(mode)) : { kind: 'base', name };
    }
    const def = this.resolve(ti);
    const r = this.tpi.get(def);
    if (!r) return { kind: 'base', name: this.simpleName(0x03) };
    switch (r.kind) {
      case 'struct':
      case 'class':
      case 'interface':
        return { kind: 'struct', name: this.isfName(def, r) };
      case 'union':
        return { kind: 'union', name: this.isfName(def, r) };
      case 'enum':
        return { kind: 'enum', name: this.isfName(def, r) };
      case 'modifier':
        return this.typeRef(r.referent, depth + 1);
      case 'pointer':
        return this.pointerTo(this.typeRef(r.referent, depth + 1), this.pointerBytes(r));
      case 'array': {
        const elem = this.sizeOf(r.element);
        return { kind: 'array', count: elem > 0 ? Math.floor(r.size / elem) : 0, subtype: this.typeRef(r.element, depth + 1) };
      }
      case 'bitfield':
        return { kind: 'bitfield', bit_position: r.position, bit_length: r.length, type: this.typeRef(r.type, depth + 1) };
      case 'procedure':
        return { kind: 'function' };
      default:
        // Member functions and anything else a field cannot usefully hold.
        return r.kind === 'other' && r.leaf === 0x1009 ? { kind: 'function' } : { kind: 'base', name: this.simpleName(0x03) };
    }
  }

  /** A structure's fields; unnamed members of structure/union type are flattened in. */
  fields(fieldList: number, into: Record<string, IsfField> = dict(), baseOffset = 0, depth = 0): Record<string, IsfField> {
    if (depth > 16) return into;
    for (const f of this.tpi.fieldsOf(fieldList)) {
      if (f.kind !== 'member') continue;
      if (f.name === '') {
        const inner = this.tpi.get(this.resolve(f.type));
        if (inner && (inner.kind === 'struct' || inner.kind === 'union' || inner.kind === 'class') && !inner.forwardRef) {
          this.fields(inner.fieldList, into, baseOffset + f.offset, depth + 1);
        }
        continue;
      }
      if (Object.prototype.hasOwnProperty.call(into, f.name)) continue;
      into[f.name] = { offset: baseOffset + f.offset, type: this.typeRef(f.type) };
    }
    return into;
  }
}

/** Converts a PDB's types and public symbols to an ISF document. */
export function pdbToIsf(pdb: Pdb, opts: PdbToIsfOptions = {}): IsfDocument {
  return pdbToIsfWithStats(pdb, opts).doc;
}

export function pdbToIsfWithStats(pdb: Pdb, opts: PdbToIsfOptions = {}): { doc: IsfDocument; stats: IsfConversionStats } {
  const tpi = pdb.tpi;
  const cv = new Converter(tpi, pdb.machine);
  const userTypes: Record<string, IsfUserType> = dict();
  const enums: Record<string, IsfEnum> = dict();
  tpi.forEach((ti, r) => {
    if (r.kind === 'enum') {
      if (r.forwardRef) return;
      const name = cv.isfName(ti, r);
      if (Object.prototype.hasOwnProperty.call(enums, name)) return;
      const constants: Record<string, number> = dict();
      for (const f of tpi.fieldsOf(r.fieldList)) {
        // Values past 2^53 stay bigint; stringifyIsf writes them exactly.
        if (f.kind === 'enumerate' && !Object.prototype.hasOwnProperty.call(constants, f.name)) constants[f.name] = f.value as number;
      }
      let underlying = r.underlying;
      for (let i = 0; i < 8 && underlying >= FIRST_TYPE_INDEX; i++) {
        const u = tpi.get(underlying);
        if (u?.kind !== 'modifier') break;
        underlying = u.referent;
      }
      enums[name] = { base: cv.simpleName(underlying < FIRST_TYPE_INDEX ? underlying : 0x74), size: cv.sizeOf(r.underlying), constants };
      return;
    }
    if (r.kind !== 'struct' && r.kind !== 'class' && r.kind !== 'union' && r.kind !== 'interface') return;
    if (r.forwardRef) return;
    const name = cv.isfName(ti, r);
    if (Object.prototype.hasOwnProperty.call(userTypes, name)) return;
    userTypes[name] = { kind: r.kind === 'union' ? 'union' : 'struct', size: r.size, fields: cv.fields(r.fieldList) };
  });

  const symbols: Record<string, IsfSymbol> = dict();
  for (const p of pdb.publics.publics) {
    if (p.rva === undefined) continue;
    const stripped = stripSymbolName(p.name);
    if (Object.prototype.hasOwnProperty.call(symbols, stripped)) continue;
    symbols[stripped] = stripped === p.name ? { address: p.rva } : { address: p.rva, linkage_name: p.name };
  }
  // Volatility expects these whatever the PDB uses.
  cv.simpleName(0x03);

  const doc: IsfDocument = {
    metadata: {
      format: ISF_FORMAT,
      producer: { name: 'vsm-forensics', version: opts.producerVersion ?? '0.1.0', datetime: opts.datetime ?? new Date().toISOString() },
      windows: {
        pdb: { GUID: pdb.guid, age: pdb.age, database: opts.databaseName ?? pdb.name, machine_type: pdb.machine },
      },
    },
    base_types: sortKeys(cv.baseTypes),
    user_types: userTypes,
    enums,
    symbols,
  };
  const stats: IsfConversionStats = {
    userTypes: Object.keys(userTypes).length,
    enums: Object.keys(enums).length,
    symbols: Object.keys(symbols).length,
    unresolvedForwardRefs: cv.unresolved.size,
    damagedRecords: tpi.stats.bad + tpi.stats.stoppedFieldLists,
  };
  return { doc, stats };
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  const out = dict<T>();
  for (const k of Object.keys(o).sort()) out[k] = o[k];
  return out;
}

/** JSON text of an ISF; bigint enum constants are written as exact integers. */
export function stringifyIsf(doc: IsfDocument): string {
  const text = JSON.stringify(doc, (_k, v) => (typeof v === 'bigint' ? `\u0000BIG${v.toString()}\u0000` : v));
  return text.replace(/"\\u0000BIG(-?[0-9]+)\\u0000"/g, '$1');
}

/** Encodes an ISF for a file name: `.json.xz`, `.json.gz` or plain `.json`. */
export function encodeIsf(doc: IsfDocument, fileName: string): Buffer {
  const json = Buffer.from(stringifyIsf(doc), 'utf8');
  if (/\.xz$/i.test(fileName)) return xzCodec().compressSync(json);
  if (/\.gz$/i.test(fileName)) return gzipSync(json, { level: 9 });
  if (/\.json$/i.test(fileName)) return json;
  throw new BadInputError(`${fileName}: output name must end in .json, .json.xz or .json.gz`, 'isf.output-name');
}

export function writeIsfFile(doc: IsfDocument, path: string): number {
  const bytes = encodeIsf(doc, path);
  writeFileSync(path, bytes);
  return bytes.length;
}
