// TPI stream (stream 2): the header and the type records, decoded into plain objects indexed by
// type index. Records we use are decoded fully (structures, unions, classes, enums, field lists,
// pointers, arrays, modifiers, bitfields, procedures, argument lists); every other record is kept
// as `{ kind: 'other' }` and skipped. A record that fails to decode is kept as `{ kind: 'bad' }`:
// one damaged record never costs the rest of the stream.
import { Parser } from 'binary-parser/dist/binary_parser.js';
import { BadInputError } from '../../errors.ts';
import { Cursor, Leaf, RecordError, skipPadding, type NumericValue } from './codeview.ts';

export const tpiHeaderParser = new Parser()
  .endianness('little')
  .uint32('version')
  .uint32('headerSize')
  .uint32('typeIndexBegin')
  .uint32('typeIndexEnd')
  .uint32('typeRecordBytes')
  .uint16('hashStreamIndex')
  .uint16('hashAuxStreamIndex')
  .uint32('hashKeySize')
  .uint32('numHashBuckets')
  .int32('hashValueBufferOffset')
  .uint32('hashValueBufferLength')
  .int32('indexOffsetBufferOffset')
  .uint32('indexOffsetBufferLength')
  .int32('hashAdjBufferOffset')
  .uint32('hashAdjBufferLength');
export const TPI_HEADER_SIZE = 56;

export interface TpiHeader {
  version: number;
  headerSize: number;
  typeIndexBegin: number;
  typeIndexEnd: number;
  typeRecordBytes: number;
}

/** Type indices below this are simple (built-in) types. */
export const FIRST_TYPE_INDEX = 0x1000;
/** Most type records we accept in one stream (the biggest kernel PDBs hold well under 1M). */
export const MAX_TYPE_RECORDS = 4 * 1024 * 1024;
/** Most entries we decode in one field list record. */
const MAX_FIELDS_PER_LIST = 65536;

/** CV_prop_t bits of structures, unions, classes and enums. */
export const Prop = {
  Packed: 0x1,
  Nested: 0x8,
  ContainsNested: 0x10,
  ForwardRef: 0x80,
  Scoped: 0x100,
  HasUniqueName: 0x200,
} as const;

export type UdtKind = 'struct' | 'class' | 'union' | 'interface';

export interface UdtRecord {
  kind: UdtKind;
  leaf: number;
  memberCount: number;
  props: number;
  fieldList: number;
  size: number;
  name: string;
  uniqueName?: string;
  forwardRef: boolean;
}
export interface EnumRecord {
  kind: 'enum';
  leaf: number;
  memberCount: number;
  props: number;
  underlying: number;
  fieldList: number;
  name: string;
  uniqueName?: string;
  forwardRef: boolean;
}
export interface PointerRecord {
  kind: 'pointer';
  referent: number;
  attrs: number;
  /** CV_ptrtype_e: 0x0a near32, 0x0c 64-bit … */
  ptrKind: number;
  /** CV_ptrmode_e: 0 pointer, 1 lvalue ref, 2 member data, 3 member function, 4 rvalue ref. */
  mode: number;
  /** Bytes, from the attributes (0 in old records: use ptrKind). */
  size: number;
}
export interface ModifierRecord {
  kind: 'modifier';
  referent: number;
  /** 1 const, 2 volatile, 4 unaligned. */
  modifiers: number;
}
export interface ArrayRecord {
  kind: 'array';
  element: number;
  indexType: number;
  size: number;
  name: string;
}
export interface BitfieldRecord {
  kind: 'bitfield';
  type: number;
  length: number;
  position: number;
}
export interface ProcedureRecord {
  kind: 'procedure';
  returnType: number;
  callConv: number;
  paramCount: number;
  argList: number;
}
export interface ArgListRecord {
  kind: 'arglist';
  args: number[];
}

export type FieldEntry =
  | { kind: 'member'; name: string; type: number; offset: number; attrs: number }
  | { kind: 'static'; name: string; type: number; attrs: number }
  | { kind: 'enumerate'; name: string; value: NumericValue; attrs: number }
  | { kind: 'nesttype'; name: string; type: number }
  | { kind: 'base'; type: number; offset: number }
  | { kind: 'index'; continuation: number }
  | { kind: 'method'; name: string }
  | { kind: 'vfunctab'; type: number };

export interface FieldListRecord {
  kind: 'fieldlist';
  fields: FieldEntry[];
  /** Set when an entry we cannot size stopped the walk: later entries are missing. */
  stoppedAt?: number;
}
export interface OtherRecord {
  kind: 'other';
  leaf: number;
}
export interface BadRecord {
  kind: 'bad';
  leaf: number;
  reason: string;
}

export type TypeRecord =
  | UdtRecord
  | EnumRecord
  | PointerRecord
  | ModifierRecord
  | ArrayRecord
  | BitfieldRecord
  | ProcedureRecord
  | ArgListRecord
  | FieldListRecord
  | OtherRecord
  | BadRecord;

function udtKind(leaf: number): UdtKind {
  switch (leaf) {
    case Leaf.LF_CLASS:
    case Leaf.LF_CLASS_ST:
    case Leaf.LF_CLASS2:
      return 'class';
    case Leaf.LF_UNION:
    case Leaf.LF_UNION_ST:
      return 'union';
    case Leaf.LF_INTERFACE:
    case Leaf.LF_INTERFACE2:
      return 'interface';
    default:
      return 'struct';
  }
}

function decodeFieldList(c: Cursor): FieldListRecord {
  const fields: FieldEntry[] = [];
  while (c.remaining >= 2 && fields.length < MAX_FIELDS_PER_LIST) {
    const at = c.pos;
    const leaf = c.u16();
    switch (leaf) {
      case Leaf.LF_MEMBER:
      case Leaf.LF_MEMBER_ST: {
        const attrs = c.u16();
        const type = c.u32();
        const offset = c.unsigned();
        fields.push({ kind: 'member', attrs, type, offset, name: c.name(leaf === Leaf.LF_MEMBER_ST) });
        break;
      }
      case Leaf.LF_STMEMBER:
      case Leaf.LF_STMEMBER_ST: {
        const attrs = c.u16();
        const type = c.u32();
        fields.push({ kind: 'static', attrs, type, name: c.name(leaf === Leaf.LF_STMEMBER_ST) });
        break;
      }
      case Leaf.LF_ENUMERATE:
      case Leaf.LF_ENUMERATE_ST: {
        const attrs = c.u16();
        const value = c.numeric();
        fields.push({ kind: 'enumerate', attrs, value, name: c.name(leaf === Leaf.LF_ENUMERATE_ST) });
        break;
      }
      case Leaf.LF_NESTTYPE:
      case Leaf.LF_NESTTYPE_ST:
      case Leaf.LF_NESTTYPEEX:
      case Leaf.LF_NESTTYPEEX_ST: {
        c.u16(); // pad (NESTTYPE) or attributes (NESTTYPEEX)
        const type = c.u32();
        fields.push({ kind: 'nesttype', type, name: c.name(leaf === Leaf.LF_NESTTYPE_ST || leaf === Leaf.LF_NESTTYPEEX_ST) });
        break;
      }
      case Leaf.LF_BCLASS:
      case Leaf.LF_BINTERFACE: {
        c.u16();
        const type = c.u32();
        fields.push({ kind: 'base', type, offset: c.unsigned() });
        break;
      }
      case Leaf.LF_VBCLASS:
      case Leaf.LF_IVBCLASS: {
        c.u16();
        const type = c.u32();
        c.u32(); // virtual base pointer type
        c.numeric(); // vbptr offset
        c.numeric(); // vbtable index
        fields.push({ kind: 'base', type, offset: -1 });
        break;
      }
      case Leaf.LF_INDEX: {
        c.u16();
        fields.push({ kind: 'index', continuation: c.u32() });
        break;
      }
      case Leaf.LF_METHOD:
      case Leaf.LF_METHOD_ST: {
        c.u16(); // overload count
        c.u32(); // method list
        fields.push({ kind: 'method', name: c.name(leaf === Leaf.LF_METHOD_ST) });
        break;
      }
      case Leaf.LF_ONEMETHOD:
      case Leaf.LF_ONEMETHOD_ST: {
        const attrs = c.u16();
        c.u32();
        const mprop = (attrs >> 2) & 7;
        if (mprop === 4 || mprop === 6) c.u32(); // introducing virtual: vtable offset
        fields.push({ kind: 'method', name: c.name(leaf === Leaf.LF_ONEMETHOD_ST) });
        break;
      }
      case Leaf.LF_VFUNCTAB: {
        c.u16();
        fields.push({ kind: 'vfunctab', type: c.u32() });
        break;
      }
      case Leaf.LF_FRIENDCLS: {
        c.u16();
        c.u32();
        break;
      }
      case Leaf.LF_FRIENDFCN:
      case Leaf.LF_FRIENDFCN_ST: {
        c.u16();
        c.u32();
        c.name(leaf === Leaf.LF_FRIENDFCN_ST);
        break;
      }
      case Leaf.LF_VFUNCOFF: {
        c.u16();
        c.u32();
        c.u32();
        break;
      }
      default:
        // An entry we cannot size: everything after it is unreachable. Keep what we have.
        return { kind: 'fieldlist', fields, stoppedAt: at };
    }
    skipPadding(c);
  }
  return { kind: 'fieldlist', fields };
}

/** Decodes one record's payload (after its u16 length); `end` is the record's end. */
export function decodeRecord(buf: Buffer, start: number, end: number, reuse?: Cursor): TypeRecord {
  const c = reuse ?? new Cursor(buf, start, end);
  c.pos = start;
  c.end = end;
  let leaf = -1;
  try {
    leaf = c.u16();
    switch (leaf) {
      case Leaf.LF_STRUCTURE:
      case Leaf.LF_CLASS:
      case Leaf.LF_INTERFACE:
      case Leaf.LF_STRUCTURE_ST:
      case Leaf.LF_CLASS_ST: {
        const memberCount = c.u16();
        const props = c.u16();
        const fieldList = c.u32();
        c.u32(); // derived-from list
        c.u32(); // vtable shape
        const size = c.unsigned();
        const pascal = leaf === Leaf.LF_STRUCTURE_ST || leaf === Leaf.LF_CLASS_ST;
        const name = c.name(pascal);
        const uniqueName = props & Prop.HasUniqueName && c.remaining > 0 && !pascal ? c.cstring() : undefined;
        return { kind: udtKind(leaf), leaf, memberCount, props, fieldList, size, name, uniqueName, forwardRef: (props & Prop.ForwardRef) !== 0 };
      }
      case Leaf.LF_STRUCTURE2:
      case Leaf.LF_CLASS2:
      case Leaf.LF_INTERFACE2: {
        // Newer MSVC: 32-bit properties and a member count after the vtable shape.
        const props = c.u32();
        const fieldList = c.u32();
        c.u32();
        c.u32();
        const memberCount = c.u16();
        const size = c.unsigned();
        const name = c.cstring();
        const uniqueName = props & Prop.HasUniqueName && c.remaining > 0 ? c.cstring() : undefined;
        return { kind: udtKind(leaf), leaf, memberCount, props, fieldList, size, name, uniqueName, forwardRef: (props & Prop.ForwardRef) !== 0 };
      }
      case Leaf.LF_UNION:
      case Leaf.LF_UNION_ST: {
        const memberCount = c.u16();
        const props = c.u16();
        const fieldList = c.u32();
        const size = c.unsigned();
        const pascal = leaf === Leaf.LF_UNION_ST;
        const name = c.name(pascal);
        const uniqueName = props & Prop.HasUniqueName && c.remaining > 0 && !pascal ? c.cstring() : undefined;
        return { kind: 'union', leaf, memberCount, props, fieldList, size, name, uniqueName, forwardRef: (props & Prop.ForwardRef) !== 0 };
      }
      case Leaf.LF_ENUM:
      case Leaf.LF_ENUM_ST: {
        const memberCount = c.u16();
        const props = c.u16();
        const underlying = c.u32();
        const fieldList = c.u32();
        const pascal = leaf === Leaf.LF_ENUM_ST;
        const name = c.name(pascal);
        const uniqueName = props & Prop.HasUniqueName && c.remaining > 0 && !pascal ? c.cstring() : undefined;
        return { kind: 'enum', leaf, memberCount, props, underlying, fieldList, name, uniqueName, forwardRef: (props & Prop.ForwardRef) !== 0 };
      }
      case Leaf.LF_POINTER: {
        const referent = c.u32();
        const attrs = c.u32();
        return { kind: 'pointer', referent, attrs, ptrKind: attrs & 0x1f, mode: (attrs >> 5) & 7, size: (attrs >> 13) & 0x3f };
      }
      case Leaf.LF_MODIFIER: {
        const referent = c.u32();
        return { kind: 'modifier', referent, modifiers: c.u16() };
      }
      case Leaf.LF_ARRAY:
      case Leaf.LF_ARRAY_ST: {
        const element = c.u32();
        const indexType = c.u32();
        const size = c.unsigned();
        return { kind: 'array', element, indexType, size, name: c.remaining > 0 ? c.name(leaf === Leaf.LF_ARRAY_ST) : '' };
      }
      case Leaf.LF_BITFIELD: {
        const type = c.u32();
        const length = c.u8();
        return { kind: 'bitfield', type, length, position: c.u8() };
      }
      case Leaf.LF_PROCEDURE: {
        const returnType = c.u32();
        const callConv = c.u8();
        c.u8(); // function attributes
        const paramCount = c.u16();
        return { kind: 'procedure', returnType, callConv, paramCount, argList: c.u32() };
      }
      case Leaf.LF_ARGLIST: {
        const n = c.u32();
        if (n * 4 > c.remaining) throw new RecordError(`argument list of ${n} overruns the record`);
        const args: number[] = [];
        for (let i = 0; i < n; i++) args.push(c.u32());
        return { kind: 'arglist', args };
      }
      case Leaf.LF_FIELDLIST:
        return decodeFieldList(c);
      default:
        return { kind: 'other', leaf };
    }
  } catch (e) {
    if (e instanceof RecordError) return { kind: 'bad', leaf, reason: e.message };
    throw e;
  }
}

export interface TpiStats {
  records: number;
  bad: number;
  other: number;
  /** Field lists whose walk stopped at an entry we cannot size. */
  stoppedFieldLists: number;
}

/** Read-only access to a TPI (or IPI) stream's records by type index, plus iteration. */
export class TpiStream implements Iterable<[number, TypeRecord]> {
  readonly header: TpiHeader;
  private readonly records: TypeRecord[];
  readonly stats: TpiStats;

  constructor(data: Buffer, label = 'PDB') {
    if (data.length < TPI_HEADER_SIZE) throw new BadInputError(`${label}: TPI stream is truncated (${data.length} bytes)`, 'pdb.tpi');
    const h = tpiHeaderParser.parse(data) as TpiHeader;
    this.header = h;
    if (h.headerSize < TPI_HEADER_SIZE || h.headerSize > data.length) {
      throw new BadInputError(`${label}: TPI header size ${h.headerSize} is out of range`, 'pdb.tpi');
    }
    if (h.typeIndexBegin < FIRST_TYPE_INDEX || h.typeIndexEnd < h.typeIndexBegin) {
      throw new BadInputError(`${label}: TPI type index range 0x${h.typeIndexBegin.toString(16)}..0x${h.typeIndexEnd.toString(16)} is invalid`, 'pdb.tpi');
    }
    const count = h.typeIndexEnd - h.typeIndexBegin;
    if (count > MAX_TYPE_RECORDS) throw new BadInputError(`${label}: TPI claims ${count} type records (max ${MAX_TYPE_RECORDS})`, 'pdb.tpi');
    if (h.headerSize + h.typeRecordBytes > data.length) {
      throw new BadInputError(`${label}: TPI records (${h.typeRecordBytes} bytes) run past the stream (${data.length} bytes)`, 'pdb.tpi');
    }
    // Each record takes at least 4 bytes, which bounds the count by the bytes we really have.
    if (count > h.typeRecordBytes / 4) throw new BadInputError(`${label}: TPI claims ${count} records in ${h.typeRecordBytes} bytes`, 'pdb.tpi');
    const records: TypeRecord[] = new Array(count);
    const stats: TpiStats = { records: 0, bad: 0, other: 0, stoppedFieldLists: 0 };
    const end = h.headerSize + h.typeRecordBytes;
    let pos = h.headerSize;
    let i = 0;
    const cursor = new Cursor(data, 0, 0);
    for (; i < count; i++) {
      if (pos + 4 > end) break;
      const len = data.readUInt16LE(pos);
      const recEnd = pos + 2 + len;
      if (len < 2 || recEnd > end) {
        throw new BadInputError(`${label}: TPI record 0x${(h.typeIndexBegin + i).toString(16)} (length ${len}) runs past the stream`, 'pdb.tpi');
      }
      const r = decodeRecord(data, pos + 2, recEnd, cursor);
      if (r.kind === 'bad') stats.bad++;
      else if (r.kind === 'other') stats.other++;
      else if (r.kind === 'fieldlist' && r.stoppedAt !== undefined) stats.stoppedFieldLists++;
      records[i] = r;
      pos = recEnd;
    }
    if (i < count) throw new BadInputError(`${label}: TPI holds ${i} records, its header claims ${count}`, 'pdb.tpi');
    stats.records = count;
    this.records = records;
    this.stats = stats;
  }

  get begin(): number {
    return this.header.typeIndexBegin;
  }
  get end(): number {
    return this.header.typeIndexEnd;
  }
  get count(): number {
    return this.records.length;
  }

  /** The record at a type index; undefined for simple types and indices out of range. */
  get(ti: number): TypeRecord | undefined {
    const i = ti - this.header.typeIndexBegin;
    return i >= 0 && i < this.records.length ? this.records[i] : undefined;
  }

  *[Symbol.iterator](): Iterator<[number, TypeRecord]> {
    for (let i = 0; i < this.records.length; i++) yield [this.header.typeIndexBegin + i, this.records[i]];
  }

  /** Calls `visit` for every record (faster than the iterator for big streams). */
  forEach(visit: (ti: number, record: TypeRecord) => void): void {
    const b = this.header.typeIndexBegin;
    for (let i = 0; i < this.records.length; i++) visit(b + i, this.records[i]);
  }

  /**
   * A field list's entries with LF_INDEX continuations followed (long lists are split across
   * records). Bounded: each continuation record is visited at most once.
   */
  fieldsOf(fieldListTi: number): FieldEntry[] {
    const out: FieldEntry[] = [];
    const seen = new Set<number>();
    let ti: number | undefined = fieldListTi;
    while (ti !== undefined && !seen.has(ti)) {
      seen.add(ti);
      const r = this.get(ti);
      ti = undefined;
      if (!r || r.kind !== 'fieldlist') break;
      for (const f of r.fields) {
        if (f.kind === 'index') ti = f.continuation;
        else out.push(f);
      }
    }
    return out;
  }
}
