// Handle-table format constants (x64): the three-level table behind HANDLE_TABLE.TableCode, and how a
// handle value maps to an entry.
//
// TableCode's low 2 bits are the level; the rest is the address of the top page. Level 0: one page of
// HANDLE_TABLE_ENTRY (16 bytes each, 256 per page). Level 1: a page of 512 pointers to level-0 pages.
// Level 2: a page of 512 pointers to level-1 pages. Handle value = entry index × 4 (the low 2 bits are
// tag bits); entry 0 of every level-0 page is never a handle.

export const HANDLE_TABLE_PAGE_SIZE = 4096;
export const HANDLE_TABLE_ENTRY_SIZE = 16;
export const POINTER_SIZE = 8;
/** HANDLE_TABLE_ENTRY per level-0 page. */
export const LOWLEVEL_COUNT = HANDLE_TABLE_PAGE_SIZE / HANDLE_TABLE_ENTRY_SIZE;
/** Pointers per level-1 / level-2 page. */
export const MIDLEVEL_COUNT = HANDLE_TABLE_PAGE_SIZE / POINTER_SIZE;
export const HIGHLEVEL_COUNT = HANDLE_TABLE_PAGE_SIZE / POINTER_SIZE;
export const TABLE_LEVEL_MASK = 3n;
export const MAX_TABLE_LEVEL = 2;
/** Handle values step by 4 (HANDLE_VALUE_INC). */
export const HANDLE_VALUE_INC = 4;

/** Largest handle value a level can express. */
export function maxHandlesAtLevel(level: number): number {
  return level === 0 ? LOWLEVEL_COUNT : level === 1 ? LOWLEVEL_COUNT * MIDLEVEL_COUNT : LOWLEVEL_COUNT * MIDLEVEL_COUNT * HIGHLEVEL_COUNT;
}

/** Handle value of entry `index` (global index across all level-0 pages). */
export function handleValue(index: number): number {
  return index * HANDLE_VALUE_INC;
}

/** Splits TableCode into level and top-page address. */
export function splitTableCode(tableCode: bigint): { level: number; base: bigint } {
  return { level: Number(tableCode & TABLE_LEVEL_MASK), base: tableCode & ~TABLE_LEVEL_MASK };
}

/** Object pointers in an entry are to the OBJECT_HEADER (not the body); their low bits are attributes. */
export const KERNEL_HALF_SIGN_BITS = 0xffff000000000000n;
