// Pool and object header encodings (Windows 10+, x64), shared by the walks that decode them and the
// synthetic dump generator that writes them. Field offsets come from the layout; these are the
// values and rules that no symbol file states.
import type { VirtualMemory } from '../dump/types.ts';
import { hex } from '../dump/numbers.ts';
import { OBJECT_OPTIONAL_HEADERS, type KernelLayout, type LayoutFieldKey, type LayoutSizeKey } from './layout.ts';
import { isKernelPointer, ObjectBytes, readUnicodeString } from './process.ts';
import { fieldValue, missingFields, readFields } from './struct-read.ts';

/** POOL_HEADER is 16 bytes on x64; BlockSize and PreviousSize count 16-byte units. */
export const POOL_HEADER_BYTES = 0x10;
export const POOL_BLOCK_UNIT = 16;
/** Small-pool blocks never cross a page; a block is at most a page minus its header. */
export const POOL_SMALL_BLOCK_MAX = 0xff0;

/** OBJECT_HEADER.InfoMask bits: which optional headers precede the OBJECT_HEADER. */
export const OBJECT_HEADER_INFO = {
  CREATOR: 0x01,
  NAME: 0x02,
  HANDLE: 0x04,
  QUOTA: 0x08,
  PROCESS: 0x10,
  AUDIT: 0x20,
  EXTENDED: 0x40,
  PADDING: 0x80,
} as const;

/** Bytes of the optional header selected by InfoMask bit 0..7 (x64, Windows 10+). */
export const OBJECT_HEADER_INFO_SIZES: readonly number[] = [0x20, 0x20, 0x10, 0x20, 0x10, 0x10, 0x10, 0x04];

/** Total bytes of the optional headers present in `infoMask`. */
export function optionalHeadersBytes(infoMask: number): number {
  let n = 0;
  for (let i = 0; i < 8; i++) if (infoMask & (1 << i)) n += OBJECT_HEADER_INFO_SIZES[i];
  return n;
}

/**
 * Distance back from the OBJECT_HEADER to the optional header `bit` (one of OBJECT_HEADER_INFO),
 * or undefined when `infoMask` lacks it: the kernel's ObpInfoMaskToOffset, i.e. the sizes of every
 * present header at or below `bit`.
 */
export function optionalHeaderOffset(infoMask: number, bit: number): number | undefined {
  if (!(infoMask & bit)) return undefined;
  return optionalHeadersBytes(infoMask & (bit | (bit - 1)));
}

/**
 * OBJECT_HEADER.TypeIndex as stored on Windows 10+: the type's index in ObTypeIndexTable XOR
 * ObHeaderCookie XOR byte 1 of the header's own virtual address.
 */
export function encodeTypeIndex(index: number, cookie: number, headerVa: bigint): number {
  return (index ^ cookie ^ Number((headerVa >> 8n) & 0xffn)) & 0xff;
}

/** The ObTypeIndexTable index of a stored TypeIndex (the same XOR undone). */
export function decodeTypeIndex(stored: number, cookie: number, headerVa: bigint): number {
  return encodeTypeIndex(stored, cookie, headerVa);
}

/** ObTypeIndexTable slots 0 and 1 are not types (0 is empty, 1 holds a marker); real types start at 2. */
export const OB_TYPE_INDEX_FIRST = 2;

// --- Walking object headers in a dump (walks12) ---
// - The header ends where the body begins (OBJECT_HEADER.Body is the body's offset in it).
// - Type: OBJECT_HEADER.TypeIndex indexes nt!ObTypeIndexTable (pointers to OBJECT_TYPE, whose Name is
//   the type name). On Windows 10+ the stored byte is `index ^ ObHeaderCookie ^ byte 1 of the
//   header's address`; older kernels (no ObHeaderCookie symbol) store the index itself.
// - Name: when InfoMask has NAME, an OBJECT_HEADER_NAME_INFO lies before the header, after the
//   optional headers of lower InfoMask bits (CREATOR is closest to the header); sizes from the layout.
// Entry points: `loadObjectTypes(vm, layout, kernelBase)` once per dump, then
// `readObjectHeader(vm, layout, bodyVa, types)` per object.

/** ObTypeIndexTable holds at most 256 entries (TypeIndex is a byte). */
export const MAX_OBJECT_TYPES = 256;
const POINTER_SIZE = 8;
/** The optional headers in InfoMask bit order (bit 0 is nearest the OBJECT_HEADER). */
export const OPTIONAL_HEADER_SIZES: readonly LayoutSizeKey[] = OBJECT_OPTIONAL_HEADERS;

export interface ObjectTypes {
  /** Decodes a stored TypeIndex for the header at `headerVa`. */
  decode(stored: number, headerVa: bigint): number;
  /** The type name at `index`, or null when the table entry or its name is unreadable. */
  name(index: number): string | null;
  /** How TypeIndex is encoded: 'cookie' (10+), 'plain' (older), or why names cannot be known. */
  readonly encoding: 'cookie' | 'plain';
  /** Index of the named type (first match), or undefined. */
  indexOf(name: string): number | undefined;
}

export interface ObjectTypesResult {
  readonly types: ObjectTypes | null;
  /** Why `types` is null. */
  readonly reason: string | null;
}

/**
 * Reads nt!ObTypeIndexTable (and ObHeaderCookie when the kernel has one) through the layout's exact
 * symbols. `cookie` overrides the byte read from memory (e.g. one a scan already derived).
 */
export function loadObjectTypes(vm: VirtualMemory, layout: KernelLayout, kernelBase: bigint | undefined, cookie?: number): ObjectTypesResult {
  const tableRva = layout.symbols.ObTypeIndexTable;
  if (kernelBase === undefined || tableRva === undefined) return { types: null, reason: 'no exact symbols for nt!ObTypeIndexTable (or no kernel base): object types cannot be named' };
  const cookieRva = layout.symbols.ObHeaderCookie;
  let key: number | undefined = cookie;
  if (key === undefined && cookieRva !== undefined) {
    const b = vm.read(kernelBase + BigInt(cookieRva), 1);
    if (!b) return { types: null, reason: `nt!ObHeaderCookie at ${hex(kernelBase + BigInt(cookieRva))} is not in the dump: TypeIndex cannot be decoded` };
    key = b[0];
  }
  // Read page by page: the array may run into a page the dump lacks; those slots stay unknown.
  const tableBytes = ObjectBytes.fromVirtual(vm, kernelBase + BigInt(tableRva), MAX_OBJECT_TYPES * POINTER_SIZE);
  if (!tableBytes.has(0, OB_TYPE_INDEX_FIRST * POINTER_SIZE + POINTER_SIZE)) return { types: null, reason: `nt!ObTypeIndexTable at ${hex(kernelBase + BigInt(tableRva))} is not in the dump` };
  const nameOff = layout.fields['OBJECT_TYPE.Name']?.offset;
  const names = new Map<number, string | null>();
  const name = (index: number): string | null => {
    if (!Number.isInteger(index) || index < OB_TYPE_INDEX_FIRST || index >= MAX_OBJECT_TYPES || nameOff === undefined) return null;
    const hit = names.get(index);
    if (hit !== undefined) return hit;
    const ptr = tableBytes.place({ offset: index * POINTER_SIZE, size: POINTER_SIZE });
    const s = ptr !== undefined && isKernelPointer(ptr) ? readUnicodeString(vm, layout, ptr + BigInt(nameOff)) : null;
    const text = s ? s.text : null;
    names.set(index, text);
    return text;
  };
  const encoding = key === undefined ? 'plain' : 'cookie';
  return {
    types: {
      encoding,
      decode: (stored, headerVa) => (key === undefined ? stored : decodeTypeIndex(stored, key, headerVa)),
      name,
      indexOf: (wanted) => {
        for (let i = OB_TYPE_INDEX_FIRST; i < MAX_OBJECT_TYPES; i++) if (name(i) === wanted) return i;
        return undefined;
      },
    },
    reason: null,
  };
}

export interface ObjectHeaderInfo {
  /** OBJECT_HEADER address. */
  readonly header: bigint;
  readonly body: bigint;
  /** Decoded type index, null when unreadable. */
  readonly typeIndex: number | null;
  readonly type: string | null;
  /** The object's name (OBJECT_HEADER_NAME_INFO.Name) when it has one and it is readable. */
  readonly name: string | null;
  readonly infoMask: number | null;
  readonly unreadable: readonly string[];
}

const HEADER_FIELDS: readonly LayoutFieldKey[] = ['OBJECT_HEADER.TypeIndex', 'OBJECT_HEADER.InfoMask'];

/**
 * `optionalHeaderOffset` with the sizes of this build's ISF (`OBJECT_HEADER_INFO_SIZES` where the layout
 * lacks a type): distance back from the OBJECT_HEADER to the optional header `bit`, or undefined.
 */
export function optionalHeaderOffsetIn(layout: KernelLayout, infoMask: number, bit: number): number | undefined {
  if (!(infoMask & bit)) return undefined;
  let off = 0;
  for (let b = 0; b < OPTIONAL_HEADER_SIZES.length; b++) {
    const m = 1 << b;
    if (m > bit) break;
    if (infoMask & m) off += layout.sizes[OPTIONAL_HEADER_SIZES[b]] ?? OBJECT_HEADER_INFO_SIZES[b];
  }
  return off;
}

/** The body's header address, or undefined when the layout lacks OBJECT_HEADER.Body. */
export function headerOfBody(layout: KernelLayout, body: bigint): bigint | undefined {
  const b = layout.fields['OBJECT_HEADER.Body'];
  return b ? body - BigInt(b.offset) : undefined;
}

/** Reads the OBJECT_HEADER of the object whose body is at `body`: type (through `types`) and name. */
export function readObjectHeader(vm: VirtualMemory, layout: KernelLayout, body: bigint, types: ObjectTypes | null, wantName = true): ObjectHeaderInfo {
  const header = headerOfBody(layout, body);
  const unreadable: string[] = [];
  if (header === undefined || missingFields(layout, HEADER_FIELDS).length > 0) {
    return { header: header ?? body, body, typeIndex: null, type: null, name: null, infoMask: null, unreadable: ['header'] };
  }
  const obj = readFields(vm, layout, header, HEADER_FIELDS);
  const stored = fieldValue(obj, layout, 'OBJECT_HEADER.TypeIndex');
  const mask = fieldValue(obj, layout, 'OBJECT_HEADER.InfoMask');
  if (stored === undefined) unreadable.push('typeIndex');
  if (mask === undefined) unreadable.push('infoMask');
  const typeIndex = stored !== undefined && types ? types.decode(Number(stored), header) : null;
  const type = typeIndex !== null && types ? types.name(typeIndex) : null;
  if (typeIndex !== null && type === null) unreadable.push('type');
  let name: string | null = null;
  const nameOff = layout.fields['OBJECT_HEADER_NAME_INFO.Name']?.offset;
  if (wantName && mask !== undefined && (Number(mask) & OBJECT_HEADER_INFO.NAME) !== 0 && nameOff !== undefined) {
    const off = optionalHeaderOffsetIn(layout, Number(mask), OBJECT_HEADER_INFO.NAME);
    const s = off === undefined ? null : readUnicodeString(vm, layout, header - BigInt(off) + BigInt(nameOff));
    if (s) name = s.text;
    else unreadable.push('name');
  }
  return { header, body, typeIndex, type, name, infoMask: mask === undefined ? null : Number(mask), unreadable };
}
