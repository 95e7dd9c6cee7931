// The memory manager's 5-bit protection index (MMVAD_SHORT.u.VadFlags.Protection, 0..31) → the
// Win32 PAGE_* value (the kernel's MmProtectToValue table) → names. Bits 0..2 pick the base
// protection; bits 3..4 add NOCACHE (1), GUARD (2) or WRITECOMBINE (3); a modifier on NOACCESS
// (index 8, 16, 24) is plain PAGE_NOACCESS.

export const PAGE_NOACCESS = 0x01;
export const PAGE_READONLY = 0x02;
export const PAGE_READWRITE = 0x04;
export const PAGE_WRITECOPY = 0x08;
export const PAGE_EXECUTE = 0x10;
export const PAGE_EXECUTE_READ = 0x20;
export const PAGE_EXECUTE_READWRITE = 0x40;
export const PAGE_EXECUTE_WRITECOPY = 0x80;
export const PAGE_GUARD = 0x100;
export const PAGE_NOCACHE = 0x200;
export const PAGE_WRITECOMBINE = 0x400;

/** MM_* base protections (index bits 0..2). */
export const MM_ZERO_ACCESS = 0;
export const MM_READONLY = 1;
export const MM_EXECUTE = 2;
export const MM_EXECUTE_READ = 3;
export const MM_READWRITE = 4;
export const MM_WRITECOPY = 5;
export const MM_EXECUTE_READWRITE = 6;
export const MM_EXECUTE_WRITECOPY = 7;
/** Modifiers (index bits 3..4). */
export const MM_NOCACHE = 0x08;
export const MM_GUARD_PAGE = 0x10;
export const MM_WRITECOMBINE = 0x18;
export const MM_PROTECTION_BITS = 5;
export const MM_PROTECTION_COUNT = 1 << MM_PROTECTION_BITS;

const BASE_VALUE = [PAGE_NOACCESS, PAGE_READONLY, PAGE_EXECUTE, PAGE_EXECUTE_READ, PAGE_READWRITE, PAGE_WRITECOPY, PAGE_EXECUTE_READWRITE, PAGE_EXECUTE_WRITECOPY] as const;
const MODIFIER_VALUE = [0, PAGE_NOCACHE, PAGE_GUARD, PAGE_WRITECOMBINE] as const;

/** MmProtectToValue: index → Win32 protection value. */
export const MM_PROTECT_TO_VALUE: readonly number[] = Array.from({ length: MM_PROTECTION_COUNT }, (_, i) => {
  const base = i & 7;
  return base === MM_ZERO_ACCESS ? PAGE_NOACCESS : BASE_VALUE[base] | MODIFIER_VALUE[i >> 3];
});

/** Names in increasing mask order, the order Volatility 3's vadinfo joins them in. */
const PAGE_NAMES: readonly (readonly [number, string])[] = [
  [PAGE_NOACCESS, 'PAGE_NOACCESS'],
  [PAGE_READONLY, 'PAGE_READONLY'],
  [PAGE_READWRITE, 'PAGE_READWRITE'],
  [PAGE_WRITECOPY, 'PAGE_WRITECOPY'],
  [PAGE_EXECUTE, 'PAGE_EXECUTE'],
  [PAGE_EXECUTE_READ, 'PAGE_EXECUTE_READ'],
  [PAGE_EXECUTE_READWRITE, 'PAGE_EXECUTE_READWRITE'],
  [PAGE_EXECUTE_WRITECOPY, 'PAGE_EXECUTE_WRITECOPY'],
  [PAGE_GUARD, 'PAGE_GUARD'],
  [PAGE_NOCACHE, 'PAGE_NOCACHE'],
  [PAGE_WRITECOMBINE, 'PAGE_WRITECOMBINE'],
];

/** "PAGE_A|PAGE_B" for a Win32 protection value. */
export function pageProtectionName(value: number): string {
  return PAGE_NAMES.filter(([m]) => (value & m) !== 0).map(([, n]) => n).join('|');
}

/** Name of an MM protection index (0..31), or null when out of range. */
export function mmProtectionName(index: number): string | null {
  if (!Number.isInteger(index) || index < 0 || index >= MM_PROTECTION_COUNT) return null;
  return pageProtectionName(MM_PROTECT_TO_VALUE[index]);
}

/** True when the index's base protection allows execution (2, 3, 6, 7). */
export function mmProtectionExecutable(index: number): boolean {
  const base = index & 7;
  return base === MM_EXECUTE || base === MM_EXECUTE_READ || base === MM_EXECUTE_READWRITE || base === MM_EXECUTE_WRITECOPY;
}

/** True when the index's base protection allows writing (4, 5, 6, 7). */
export function mmProtectionWritable(index: number): boolean {
  return (index & 7) >= MM_READWRITE;
}
