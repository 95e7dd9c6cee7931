// Reading one structure's fields through the layout: how many bytes cover the fields a walk uses,
// which of them the build lacks, and the bytes themselves (page by page, so a structure that
// straddles an absent page keeps the fields on the present one).
import type { VirtualMemory } from '../dump/types.ts';
import type { KernelLayout, LayoutFieldKey } from './layout.ts';
import { ObjectBytes } from './process.ts';

/** Largest structure span a walk reads at once (the biggest, EPROCESS, is < 0x1000 on every table kernel). */
export const MAX_STRUCT_SPAN = 0x2000;

/** Bytes from the start of the structure to the end of the furthest of `keys` the layout has. */
export function fieldSpan(layout: KernelLayout, keys: readonly LayoutFieldKey[], base = 0): number {
  let end = 0;
  for (const k of keys) {
    const p = layout.fields[k];
    if (p) end = Math.max(end, base + p.offset + Math.max(p.size, 1));
  }
  return Math.min(end, MAX_STRUCT_SPAN);
}

/** Keys of `keys` the layout does not have. */
export function missingFields(layout: KernelLayout, keys: readonly LayoutFieldKey[]): LayoutFieldKey[] {
  return keys.filter((k) => !layout.fields[k]);
}

/** The bytes of the fields `keys` of the structure at `va` (plus `base` for a structure inside another). */
export function readFields(vm: VirtualMemory, layout: KernelLayout, va: bigint, keys: readonly LayoutFieldKey[], base = 0): ObjectBytes {
  return ObjectBytes.fromVirtual(vm, va, fieldSpan(layout, keys, base));
}

/** A field's value (bitfields extracted), or undefined when the build lacks it or its bytes are absent. */
export function fieldValue(obj: ObjectBytes, layout: KernelLayout, key: LayoutFieldKey, base = 0): bigint | undefined {
  const p = layout.fields[key];
  if (!p) return undefined;
  return obj.place(base === 0 ? p : { ...p, offset: p.offset + base });
}
