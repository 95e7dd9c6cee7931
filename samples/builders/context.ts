// What every builder works on: the layout, the seeded generators, physical memory, the System
// address space and the kernel's virtual memory. Built once by machine.ts's first steps.
import type { IsfTypes } from '../../src/ntos/isf.ts';
import type { Rng } from '../rng.ts';
import { AddressSpace, PhysMem, writeVa } from '../memory.ts';
import type { Layout } from '../structs.ts';
import type { Filler } from '../filler.ts';
import type { Scenario } from '../scenario.ts';
import type { KnownKernel } from '../kernels.ts';

/** Kernel VA ranges backed by 4 KiB pages allocated on first write. */
export class KernelVm {
  constructor(
    readonly mem: PhysMem,
    readonly system: AddressSpace,
    readonly kernelPfns: Set<number>,
  ) {}

  ensure(va: bigint, length: number): void {
    for (let p = va & ~0xfffn; p < va + BigInt(length); p += 0x1000n) {
      if (this.system.translate(p) !== undefined) continue;
      const pfn = this.mem.alloc('kernel');
      this.mem.page(pfn);
      this.kernelPfns.add(pfn);
      this.system.map4k(p, pfn);
    }
  }

  write(va: bigint, data: Buffer): void {
    this.ensure(va, data.length);
    writeVa(this.system, va, data);
  }
}

/** The machine's fixed facts and shared services, available to every builder. */
export interface KernelCtx {
  readonly scenario: Scenario;
  readonly seed: number;
  readonly isfPath: string;
  readonly types: IsfTypes;
  readonly layout: Layout;
  readonly pdbId: { GUID: string; age: number; database: string };
  readonly known: KnownKernel | undefined;
  readonly build: number;
  /** The main generator; builders that draw from it must keep their order (see machine.ts). */
  readonly rng: Rng;
  readonly pageLimit: number;
  readonly mem: PhysMem;
  readonly filler: Filler;
  readonly kernelPfns: Set<number>;
  readonly system: AddressSpace;
  readonly kvm: KernelVm;
  readonly selfRefIndex: number;
  readonly poolIndex: number;
  readonly sessionIndex: number;
  readonly kernelBase: bigint;
  readonly sizeOfImage: number;
  readonly poolBase: bigint;
  readonly sessionBase: bigint;
  readonly bootMs: number;
  readonly bootTime: bigint;
  readonly crashTime: bigint;
  /** VTL1-reserved physical range where secure frames live in the `absent` mode. */
  readonly vtl1: { base: number; count: number };
  /** A random integer in [lo, hi) from the main generator, not in `avoid`. */
  pick(lo: number, hi: number, avoid: number[]): number;
  /** VA of a kernel global (kernel base + the ISF's RVA). */
  sym(name: string): bigint;
  /** Writes bytes at a kernel VA, mapping 4 KiB pages on first use. */
  kwrite(va: bigint, data: Buffer): void;
}

export const FILETIME_UNIX_EPOCH = 116444736000000000n;
export function filetime(ms: number): bigint {
  return BigInt(Math.round(ms)) * 10000n + FILETIME_UNIX_EPOCH;
}
export function filetimeToIso(ft: bigint): string | null {
  if (ft === 0n) return null;
  return new Date(Number((ft - FILETIME_UNIX_EPOCH) / 10000n)).toISOString();
}

export const poolTag = (s: string): number => Buffer.from(s, 'latin1').readUInt32LE(0);
export const align = (n: number, a: number): number => Math.ceil(n / a) * a;
export function u64(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, v));
  return b;
}
export function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
}
