// CodeView leaf kinds and the primitives every record decoder shares: a bounds-checked cursor,
// numeric leaves (LF_CHAR..LF_UQUADWORD, reals, LF_VARSTRING…) and names. Any read past the
// record's end throws RecordError, which the record decoders turn into a skipped record.

/** Type record leaf kinds (cvinfo.h LEAF_ENUM_e) that we decode or name. */
export const Leaf = {
  LF_MODIFIER: 0x1001,
  LF_POINTER: 0x1002,
  LF_PROCEDURE: 0x1008,
  LF_MFUNCTION: 0x1009,
  LF_VTSHAPE: 0x000a,
  LF_ARGLIST: 0x1201,
  LF_FIELDLIST: 0x1203,
  LF_BITFIELD: 0x1205,
  LF_METHODLIST: 0x1206,
  LF_ARRAY: 0x1503,
  LF_CLASS: 0x1504,
  LF_STRUCTURE: 0x1505,
  LF_UNION: 0x1506,
  LF_ENUM: 0x1507,
  LF_INTERFACE: 0x1519,
  LF_CLASS2: 0x1608,
  LF_STRUCTURE2: 0x1609,
  LF_INTERFACE2: 0x160b,
  // Pre-VC7 records whose names are length-prefixed (pascal) strings.
  LF_ARRAY_ST: 0x1003,
  LF_CLASS_ST: 0x1004,
  LF_STRUCTURE_ST: 0x1005,
  LF_UNION_ST: 0x1006,
  LF_ENUM_ST: 0x1007,
  // Field list entries.
  LF_BCLASS: 0x1400,
  LF_VBCLASS: 0x1401,
  LF_IVBCLASS: 0x1402,
  LF_INDEX: 0x1404,
  LF_MEMBER_ST: 0x1405,
  LF_STMEMBER_ST: 0x1406,
  LF_METHOD_ST: 0x1407,
  LF_NESTTYPE_ST: 0x1408,
  LF_VFUNCTAB: 0x1409,
  LF_FRIENDFCN_ST: 0x1403,
  LF_FRIENDCLS: 0x140a,
  LF_ONEMETHOD_ST: 0x140b,
  LF_VFUNCOFF: 0x140c,
  LF_NESTTYPEEX_ST: 0x140d,
  LF_ENUMERATE_ST: 0x0403,
  LF_ENUMERATE: 0x1502,
  LF_FRIENDFCN: 0x150c,
  LF_MEMBER: 0x150d,
  LF_STMEMBER: 0x150e,
  LF_METHOD: 0x150f,
  LF_NESTTYPE: 0x1510,
  LF_ONEMETHOD: 0x1511,
  LF_NESTTYPEEX: 0x1512,
  LF_BINTERFACE: 0x151a,
} as const;

/** Numeric leaves: a u16 below 0x8000 is the value itself; otherwise it names what follows. */
export const NumericLeaf = {
  LF_CHAR: 0x8000,
  LF_SHORT: 0x8001,
  LF_USHORT: 0x8002,
  LF_LONG: 0x8003,
  LF_ULONG: 0x8004,
  LF_REAL32: 0x8005,
  LF_REAL64: 0x8006,
  LF_REAL80: 0x8007,
  LF_REAL128: 0x8008,
  LF_QUADWORD: 0x8009,
  LF_UQUADWORD: 0x800a,
  LF_REAL48: 0x800b,
  LF_COMPLEX32: 0x800c,
  LF_COMPLEX64: 0x800d,
  LF_COMPLEX80: 0x800e,
  LF_COMPLEX128: 0x800f,
  LF_VARSTRING: 0x8010,
  LF_OCTWORD: 0x8017,
  LF_UOCTWORD: 0x8018,
  LF_DECIMAL: 0x8019,
  LF_DATE: 0x801a,
  LF_UTF8STRING: 0x801b,
  LF_REAL16: 0x801c,
} as const;

/** Byte sizes of the fixed-width numeric leaves' payloads. */
const NUMERIC_FIXED_SIZE: Record<number, number> = {
  [NumericLeaf.LF_REAL32]: 4,
  [NumericLeaf.LF_REAL64]: 8,
  [NumericLeaf.LF_REAL80]: 10,
  [NumericLeaf.LF_REAL128]: 16,
  [NumericLeaf.LF_REAL48]: 6,
  [NumericLeaf.LF_COMPLEX32]: 8,
  [NumericLeaf.LF_COMPLEX64]: 16,
  [NumericLeaf.LF_COMPLEX80]: 20,
  [NumericLeaf.LF_COMPLEX128]: 32,
  [NumericLeaf.LF_OCTWORD]: 16,
  [NumericLeaf.LF_UOCTWORD]: 16,
  [NumericLeaf.LF_DECIMAL]: 16,
  [NumericLeaf.LF_DATE]: 8,
  [NumericLeaf.LF_REAL16]: 2,
};

/** A record could not be decoded (truncated, or an unknown numeric leaf). */
export class RecordError extends Error {}

/** A numeric leaf's value: integers as number when safe, bigint otherwise; reals as number. */
export type NumericValue = number | bigint;

/** Forward-only reader over one record's bytes with a hard end. */
export class Cursor {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    public end: number,
  ) {}

  need(n: number): void {
    if (this.pos + n > this.end) throw new RecordError(`record truncated at +${this.pos}`);
  }
  get remaining(): number {
    return this.end - this.pos;
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  /** A NUL-terminated name; an unterminated name runs to the record end (as LLVM accepts). */
  cstring(): string {
    const nul = this.buf.indexOf(0, this.pos);
    const stop = nul < 0 || nul >= this.end ? this.end : nul;
    const s = this.buf.toString('utf8', this.pos, stop);
    this.pos = Math.min(this.end, stop + 1);
    return s;
  }

  /** A length-prefixed name (the `_ST` records). */
  pstring(): string {
    const n = this.u8();
    this.need(n);
    const s = this.buf.toString('latin1', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  name(pascal: boolean): string {
    return pascal ? this.pstring() : this.cstring();
  }

  numeric(): NumericValue {
    const leaf = this.u16();
    if (leaf < 0x8000) return leaf;
    const b = this.buf;
    switch (leaf) {
      case NumericLeaf.LF_CHAR:
        this.need(1);
        return b.readInt8(this.pos++);
      case NumericLeaf.LF_SHORT: {
        this.need(2);
        const v = b.readInt16LE(this.pos);
        this.pos += 2;
        return v;
      }
      case NumericLeaf.LF_USHORT:
        return this.u16();
      case NumericLeaf.LF_LONG: {
        this.need(4);
        const v = b.readInt32LE(this.pos);
        this.pos += 4;
        return v;
      }
      case NumericLeaf.LF_ULONG:
        return this.u32();
      case NumericLeaf.LF_QUADWORD:
      case NumericLeaf.LF_UQUADWORD: {
        this.need(8);
        const v = leaf === NumericLeaf.LF_QUADWORD ? b.readBigInt64LE(this.pos) : b.readBigUInt64LE(this.pos);
        this.pos += 8;
        return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
      }
      case NumericLeaf.LF_REAL32: {
        this.need(4);
        const v = b.readFloatLE(this.pos);
        this.pos += 4;
        return v;
      }
      case NumericLeaf.LF_REAL64: {
        this.need(8);
        const v = b.readDoubleLE(this.pos);
        this.pos += 8;
        return v;
      }
      case NumericLeaf.LF_VARSTRING: {
        const n = this.u16();
        this.skip(n);
        return 0;
      }
      case NumericLeaf.LF_UTF8STRING:
        this.cstring();
        return 0;
      default: {
        const size = NUMERIC_FIXED_SIZE[leaf];
        if (size === undefined) throw new RecordError(`unknown numeric leaf 0x${leaf.toString(16)}`);
        this.skip(size);
        return 0; // a value we never use as a size or offset (reals beyond 64 bits, decimals, dates)
      }
    }
  }

  /** A numeric leaf used as a size or offset: a non-negative safe integer. */
  unsigned(): number {
    const v = this.numeric();
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new RecordError(`size/offset ${String(v)} out of range`);
    return v;
  }
}

/** Skips LF_PAD0..LF_PAD15 bytes (0xF0..0xFF) between field list entries; the low nibble is the count. */
export function skipPadding(c: Cursor): void {
  if (c.pos < c.end) {
    const b = c.buf[c.pos];
    if (b >= 0xf0) {
      const n = b & 0x0f;
      c.pos = n === 0 ? c.pos + 1 : Math.min(c.end, c.pos + n);
    }
  }
}
