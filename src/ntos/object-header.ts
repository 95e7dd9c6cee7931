// Pool and object header encodings (Windows 10+, x64), shared by the walks that decode them and the
// synthetic dump generator that writes them. Field offsets come from the layout; these are the
// values and rules that no symbol file states.

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
