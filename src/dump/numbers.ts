// The one place for the small value helpers every layer shares: "0x…" text for addresses,
// the x64 canonical-address test, the page-table root (DTB) taken from a CR3 value, and
// FILETIME → ISO-8601 (one rule for `info`, `analyze` and the reports). It lives at the bottom
// layer (src/dump) because the dump parsers use it too; nothing here reads memory.

/** All 64 bits. */
export const U64_MASK = (1n << 64n) - 1n;

/** An address or other 64-bit value as lower-case "0x…" text (the report's `Hex`). */
export function hex(v: bigint | number): string {
  return '0x' + BigInt(v).toString(16);
}

/** `hex`, with null for a value that is not known. */
export function hexOrNull(v: bigint | number | undefined | null): string | null {
  return v === undefined || v === null ? null : hex(v);
}

/** Lowest address of the canonical kernel half (x64, 48-bit virtual addresses). */
export const CANONICAL_KERNEL_MIN = 0xffff800000000000n;
/** One past the highest address of the canonical user half. */
export const CANONICAL_USER_END = 0x0000800000000000n;

/** x64 canonical address: bits 47..63 all clear or all set (and a 64-bit value at all). */
export function isCanonical(va: bigint): boolean {
  return (va >= 0n && va < CANONICAL_USER_END) || (va >= CANONICAL_KERNEL_MIN && va <= U64_MASK);
}

/**
 * Bits 12..51 of a CR3 value or a page-table entry: the physical frame address. In a CR3 the low
 * 12 bits are the PCID (or PWT/PCD) and bit 63 the no-flush bit; none of them is part of the root.
 */
export const PHYS_FRAME_MASK = 0x000ffffffffff000n;

/** The physical address of the top-level page table (PML4) named by a CR3 / DirectoryTableBase value. */
export function pageTableRoot(cr3: bigint | number): number {
  return Number(BigInt(cr3) & PHYS_FRAME_MASK);
}

/** FILETIME (100 ns since 1601-01-01 UTC) of 1970-01-01. */
export const FILETIME_UNIX_EPOCH = 116444736000000000n;
const FILETIME_PER_MS = 10_000n;
const FILETIME_PER_SECOND = 10_000_000n;
/** Earliest time we accept as a real one (1990-01-01): earlier values are damage, not times. */
export const FILETIME_MIN = FILETIME_UNIX_EPOCH + 631152000n * FILETIME_PER_SECOND;
/** Latest time we accept (2200-01-01). */
export const FILETIME_MAX = FILETIME_UNIX_EPOCH + 7258118400n * FILETIME_PER_SECOND;

/** A FILETIME inside [1990, 2200): anything else is an impossible value for a dump. */
export function filetimeSane(ft: bigint): boolean {
  return ft >= FILETIME_MIN && ft < FILETIME_MAX;
}

/** ISO-8601 UTC with millisecond precision; null when unset (0), absent or impossible (outside 1990..2200). */
export function filetimeToIso(ft: bigint | undefined): string | null {
  if (ft === undefined || ft === 0n || !filetimeSane(ft)) return null;
  return new Date(Number((ft - FILETIME_UNIX_EPOCH) / FILETIME_PER_MS)).toISOString();
}
