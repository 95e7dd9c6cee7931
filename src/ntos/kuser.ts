// KUSER_SHARED_DATA at its fixed kernel address: the product type, OS version and the clock
// (SystemTime at the moment of the dump, InterruptTime since boot). No symbols needed beyond the layout.
import type { VirtualMemory } from '../dump/types.ts';
import { KUSER_SHARED_DATA } from './kernel.ts';
import type { KernelLayout, LayoutFieldKey } from './layout.ts';

/** NT_PRODUCT_TYPE values. */
export const PRODUCT_TYPES: Readonly<Record<number, string>> = { 1: 'workstation', 2: 'domain-controller', 3: 'server' };

export interface KuserFacts {
  readonly productType: number | null;
  readonly majorVersion: number | null;
  readonly minorVersion: number | null;
  /** FILETIME of the system clock when the dump was taken; undefined when unreadable or torn. */
  readonly systemTime: bigint | undefined;
  /** 100 ns units since boot (not counting sleep); undefined when unreadable or torn. */
  readonly interruptTime: bigint | undefined;
}

function u32(vm: VirtualMemory, layout: KernelLayout, key: LayoutFieldKey): number | null {
  const p = layout.fields[key];
  return p ? (vm.readU32(KUSER_SHARED_DATA + BigInt(p.offset)) ?? null) : null;
}

/** A KSYSTEM_TIME (LowPart, High1Time, High2Time): the value only when both high parts agree (not torn). */
function ksystemTime(vm: VirtualMemory, layout: KernelLayout, key: LayoutFieldKey): bigint | undefined {
  const p = layout.fields[key];
  const b = p ? vm.read(KUSER_SHARED_DATA + BigInt(p.offset), 12) : undefined;
  if (!b) return undefined;
  const high1 = b.readUInt32LE(4);
  if (high1 !== b.readUInt32LE(8)) return undefined;
  return (BigInt(high1) << 32n) | BigInt(b.readUInt32LE(0));
}

export function readKuserFacts(vm: VirtualMemory, layout: KernelLayout): KuserFacts {
  return {
    productType: u32(vm, layout, 'KUSER_SHARED_DATA.NtProductType'),
    majorVersion: u32(vm, layout, 'KUSER_SHARED_DATA.NtMajorVersion'),
    minorVersion: u32(vm, layout, 'KUSER_SHARED_DATA.NtMinorVersion'),
    systemTime: ksystemTime(vm, layout, 'KUSER_SHARED_DATA.SystemTime'),
    interruptTime: ksystemTime(vm, layout, 'KUSER_SHARED_DATA.InterruptTime'),
  };
}
