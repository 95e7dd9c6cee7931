// Writes kernel structures field by field, by name, at the offsets a real ISF gives.
import type { FieldLocation, IsfTypes } from '../src/ntos/isf.ts';

export class Layout {
  private readonly cache = new Map<string, FieldLocation | null>();

  constructor(readonly types: IsfTypes) {}

  field(struct: string, path: string): FieldLocation | undefined {
    const key = `${struct}:${path}`;
    let f = this.cache.get(key);
    if (f === undefined) {
      f = this.types.field(struct, path) ?? null;
      this.cache.set(key, f);
    }
    return f ?? undefined;
  }

  /** Offset of a field that must exist. */
  off(struct: string, path: string): number {
    const f = this.field(struct, path);
    if (!f) throw new Error(`ISF lacks ${struct}.${path}`);
    return f.offset;
  }

  size(struct: string): number {
    const s = this.types.structSize(struct);
    if (s === undefined) throw new Error(`ISF lacks ${struct}`);
    return s;
  }

  has(struct: string, path: string): boolean {
    return this.field(struct, path) !== undefined;
  }

  rva(symbol: string): number {
    const r = this.types.symbolRva(symbol);
    if (r === undefined) throw new Error(`ISF lacks symbol ${symbol}`);
    return r;
  }
}

/** A view on one structure instance inside a page-sized (or larger) buffer. */
export class StructWriter {
  constructor(
    readonly layout: Layout,
    readonly struct: string,
    readonly buf: Buffer,
    readonly base: number,
  ) {}

  /** Writes an integer field (bitfields read-modify-write their container). Returns false if the build lacks it. */
  set(path: string, value: number | bigint, optional = false): boolean {
    const f = this.layout.field(this.struct, path);
    if (!f) {
      if (optional) return false;
      throw new Error(`ISF lacks ${this.struct}.${path}`);
    }
    const at = this.base + f.offset;
    const v = BigInt.asUintN(64, BigInt(value));
    if (f.bitPosition !== undefined && f.bitLength !== undefined) {
      const cur = readUInt(this.buf, at, f.size);
      const mask = ((1n << BigInt(f.bitLength)) - 1n) << BigInt(f.bitPosition);
      writeUInt(this.buf, at, f.size, (cur & ~mask) | ((v << BigInt(f.bitPosition)) & mask));
    } else {
      writeUInt(this.buf, at, Math.min(f.size, 8), v);
    }
    return true;
  }

  bytes(path: string, data: Buffer, optional = false): boolean {
    const f = this.layout.field(this.struct, path);
    if (!f) {
      if (optional) return false;
      throw new Error(`ISF lacks ${this.struct}.${path}`);
    }
    data.copy(this.buf, this.base + f.offset, 0, Math.min(data.length, f.size));
    return true;
  }

  off(path: string): number {
    return this.layout.off(this.struct, path);
  }
}

export function readUInt(buf: Buffer, at: number, size: number): bigint {
  switch (size) {
    case 1:
      return BigInt(buf[at]);
    case 2:
      return BigInt(buf.readUInt16LE(at));
    case 4:
      return BigInt(buf.readUInt32LE(at));
    default:
      return buf.readBigUInt64LE(at);
  }
}

export function writeUInt(buf: Buffer, at: number, size: number, v: bigint): void {
  switch (size) {
    case 1:
      buf[at] = Number(v & 0xffn);
      return;
    case 2:
      buf.writeUInt16LE(Number(v & 0xffffn), at);
      return;
    case 4:
      buf.writeUInt32LE(Number(v & 0xffffffffn), at);
      return;
    default:
      buf.writeBigUInt64LE(BigInt.asUintN(64, v), at);
  }
}

/** UTF-16LE bytes of a string (no terminator). */
export function utf16(s: string): Buffer {
  return Buffer.from(s, 'utf16le');
}
