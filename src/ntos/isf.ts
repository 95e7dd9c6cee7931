// Volatility 3 Intermediate Symbol Format (ISF): reading `.json`, `.json.xz` and `.json.gz`
// files, and resolving struct fields by name (anonymous types have build-specific names, so
// nothing here ever relies on a `__anonymous_…` or `__unnamed_…` type name).
import { readFileSync, statSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { xzCodec } from './lzma.ts';
import { XZ_MAGIC, xzDecompressedSize } from './xz-size.ts';
import { BadInputError } from '../errors.ts';

export type IsfTypeRef =
  | { kind: 'base'; name: string }
  | { kind: 'pointer'; subtype: IsfTypeRef; base?: string }
  | { kind: 'array'; count: number; subtype: IsfTypeRef }
  | { kind: 'struct' | 'union' | 'class'; name: string }
  | { kind: 'enum'; name: string }
  | { kind: 'function' }
  | { kind: 'bitfield'; bit_position: number; bit_length: number; type: IsfTypeRef };

export interface IsfField {
  offset: number;
  type: IsfTypeRef;
  anonymous?: boolean;
}

export interface IsfUserType {
  kind: 'struct' | 'union' | 'class';
  size: number;
  fields: Record<string, IsfField>;
}

export interface IsfBaseType {
  size: number;
  signed: boolean;
  kind: 'void' | 'int' | 'float' | 'char' | 'bool';
  endian: 'little' | 'big';
}

export interface IsfEnum {
  size: number;
  base: string;
  constants: Record<string, number>;
}

export interface IsfSymbol {
  address: number;
  linkage_name?: string;
  type?: IsfTypeRef;
  constant_data?: string;
}

export interface IsfPdbIdentity {
  GUID: string;
  age: number;
  database: string;
  machine_type: number;
}

export interface IsfDocument {
  metadata: {
    format: string;
    producer?: { name?: string; version?: string; datetime?: string };
    windows?: { pdb?: IsfPdbIdentity; pe?: { major: number; minor: number; revision: number; build: number } };
    [k: string]: unknown;
  };
  base_types: Record<string, IsfBaseType>;
  user_types: Record<string, IsfUserType>;
  enums: Record<string, IsfEnum>;
  symbols: Record<string, IsfSymbol>;
}

/** Largest ISF file we read (the biggest real kernel ISF is under 1 MiB compressed, ~25 MiB of JSON). */
const MAX_ISF_FILE_BYTES = 256 * 1024 * 1024;
/** Largest decompressed ISF we accept (.json.xz / .json.gz): five times the biggest real one, well under the RSS budget. */
export const MAX_ISF_DECOMPRESSED_BYTES = 128 * 1024 * 1024;

/** Decodes an ISF file's bytes by content (xz and gzip magic), not by its name. */
export function decodeIsfBytes(bytes: Buffer, label: string): IsfDocument {
  let text: Buffer = bytes;
  // xz: the size is read from the chunk headers first, so a bomb is refused before any decompression.
  const isXz = bytes.length >= XZ_MAGIC.length && bytes.subarray(0, XZ_MAGIC.length).equals(XZ_MAGIC);
  if (isXz) xzDecompressedSize(bytes, MAX_ISF_DECOMPRESSED_BYTES, label);
  // Loaded outside the try: a codec that cannot load is an installation fault, not a bad file.
  const xz = isXz ? xzCodec() : undefined;
  try {
    if (xz) {
      text = xz.decompressSync(bytes);
    } else if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
      text = gunzipSync(bytes, { maxOutputLength: MAX_ISF_DECOMPRESSED_BYTES });
    }
  } catch (e) {
    throw new BadInputError(`${label}: cannot decompress ISF (${(e as Error).message.replace(/[^\x20-\x7e]+/g, '?').slice(0, 200)})`, 'isf.decompress');
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text.toString('utf8'));
  } catch (e) {
    // V8 quotes the offending text, which is file content: keep the message one printable line.
    throw new BadInputError(`${label}: not valid JSON (${(e as Error).message.replace(/[^\x20-\x7e]+/g, '?').slice(0, 200)})`, 'isf.json');
  }
  return checkIsfShape(doc, label);
}

export function loadIsfFile(path: string): IsfDocument {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (e) {
    throw new BadInputError(`${path}: cannot read ISF file (${(e as Error).message})`, 'isf.read');
  }
  if (size > MAX_ISF_FILE_BYTES) throw new BadInputError(`${path}: ISF file too large (${size} bytes)`, 'isf.size');
  return decodeIsfBytes(readFileSync(path), path);
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** An offset, size or RVA from the file: a non-negative integer below 2^32 (anything else is damage). */
function isUint(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0 && x < 2 ** 32;
}

/** The top-level shape Volatility requires; deeper checks happen where fields are used. */
function checkIsfShape(doc: unknown, label: string): IsfDocument {
  if (!isObject(doc)) throw new BadInputError(`${label}: ISF is not a JSON object`, 'isf.shape');
  for (const key of ['metadata', 'base_types', 'user_types', 'enums', 'symbols']) {
    if (!isObject(doc[key])) throw new BadInputError(`${label}: ISF lacks the "${key}" object`, 'isf.shape');
  }
  const meta = doc.metadata as Record<string, unknown>;
  if (typeof meta.format !== 'string' || !/^[0-9]+\.[0-9]+\.[0-9]+$/.test(meta.format)) {
    throw new BadInputError(`${label}: ISF metadata.format is missing or malformed`, 'isf.shape');
  }
  return doc as unknown as IsfDocument;
}

/** Where a field lives: byte offset from the start of the outer struct, its size, and bit range if a bitfield. */
export interface FieldLocation {
  offset: number;
  size: number;
  bitPosition?: number;
  bitLength?: number;
  type: IsfTypeRef;
}

/** Name-based access to an ISF's types and symbols. */
export class IsfTypes {
  constructor(readonly doc: IsfDocument) {}

  get identity(): IsfPdbIdentity | undefined {
    const pdb: unknown = isObject(this.doc.metadata.windows) ? this.doc.metadata.windows.pdb : undefined;
    return isObject(pdb) && typeof pdb.GUID === 'string' && isUint(pdb.age) && typeof pdb.database === 'string' ? (pdb as unknown as IsfPdbIdentity) : undefined;
  }

  hasType(name: string): boolean {
    return isObject(this.doc.user_types[name]);
  }

  structSize(name: string): number | undefined {
    const t = this.doc.user_types[name];
    return isObject(t) && isUint(t.size) ? t.size : undefined;
  }

  /** Size in bytes of a type reference; undefined when it cannot be known. */
  sizeOf(ref: IsfTypeRef, depth = 0): number | undefined {
    if (depth > 64) return undefined;
    switch (ref.kind) {
      case 'base':
        return this.doc.base_types[ref.name]?.size;
      case 'pointer':
        return this.doc.base_types.pointer?.size ?? 8;
      case 'array': {
        const s = this.sizeOf(ref.subtype, depth + 1);
        return s === undefined ? undefined : s * ref.count;
      }
      case 'struct':
      case 'union':
      case 'class':
        return this.structSize(ref.name);
      case 'enum':
        return this.doc.enums[ref.name]?.size;
      case 'bitfield':
        return this.sizeOf(ref.type, depth + 1);
      case 'function':
        return undefined;
    }
  }

  /**
   * Resolves a dotted field path (`Pcb.SecureState`, `Protection.Signer`) from a struct, looking
   * through anonymous members as C does. Undefined when any step is missing.
   */
  field(structName: string, path: string): FieldLocation | undefined {
    let typeName = structName;
    let base = 0;
    let loc: FieldLocation | undefined;
    const parts = path.split('.');
    for (let i = 0; i < parts.length; i++) {
      const found = this.findMember(typeName, parts[i], 0);
      if (!found) return undefined;
      const [offset, field] = found;
      const ref = field.type;
      const size = this.sizeOf(ref);
      if (!isUint(size)) return undefined;
      loc = { offset: base + offset, size, type: ref };
      if (ref.kind === 'bitfield') {
        if (!isUint(ref.bit_position) || !isUint(ref.bit_length) || ref.bit_length === 0 || ref.bit_position + ref.bit_length > size * 8) return undefined;
        loc.bitPosition = ref.bit_position;
        loc.bitLength = ref.bit_length;
        if (i !== parts.length - 1) return undefined;
      }
      if (i < parts.length - 1) {
        if (ref.kind !== 'struct' && ref.kind !== 'union' && ref.kind !== 'class') return undefined;
        typeName = ref.name;
        base += offset;
      }
    }
    return loc;
  }

  private findMember(typeName: string, member: string, depth: number): [number, IsfField] | undefined {
    if (depth > 16) return undefined;
    const t = this.doc.user_types[typeName];
    if (!isObject(t) || !isObject(t.fields)) return undefined;
    const direct = t.fields[member];
    if (isObject(direct) && isUint(direct.offset) && isObject(direct.type)) return [direct.offset, direct];
    for (const f of Object.values(t.fields)) {
      if (!isObject(f) || !f.anonymous || !isObject(f.type) || !isUint(f.offset)) continue;
      const ref = f.type;
      if (ref.kind !== 'struct' && ref.kind !== 'union' && ref.kind !== 'class') continue;
      const inner = this.findMember(ref.name, member, depth + 1);
      if (inner) return [f.offset + inner[0], inner[1]];
    }
    return undefined;
  }

  /** A symbol's RVA from the kernel base, or undefined. */
  symbolRva(name: string): number | undefined {
    const s = this.doc.symbols[name];
    return isObject(s) && isUint(s.address) ? s.address : undefined;
  }
}
