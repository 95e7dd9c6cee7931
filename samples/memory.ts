// The synthetic machine's physical memory (a sparse map of meaningful pages over a filler
// background) and its x64 4-level page tables, written as real PTEs into table pages.
import type { Rng } from './rng.ts';

export const PAGE = 4096;
export const LARGE = 0x200000;
export const NX = 1n << 63n;

/** PTE bits (Intel SDM vol. 3 §4.5; Windows' transition/prototype software bits, formats.md §2). */
export const PTE = {
  P: 1n,
  RW: 2n,
  US: 4n,
  A: 0x20n,
  D: 0x40n,
  PS: 0x80n,
  G: 0x100n,
  PROTOTYPE: 0x400n,
  TRANSITION: 0x800n,
  FRAME: 0x000ffffffffff000n,
} as const;

export interface Hole {
  readonly basePage: number;
  readonly pageCount: number;
  readonly reason: string;
}

/** How a user page's bytes look, for the truth's page classes. */
export type ContentClass = 'readable' | 'zero' | 'constant';

export class PhysMem {
  readonly pages = new Map<number, Buffer>();
  /** 0 free, 1 used, 2 never allocate (hole or reserved for scanners' DTB windows). */
  readonly state: Uint8Array;
  readonly holes: Hole[] = [];
  private readonly kernelTop: number;

  constructor(
    readonly pageLimit: number,
    private readonly rng: Rng,
  ) {
    this.state = new Uint8Array(pageLimit);
    // Kernel-critical pages live in the lower part of memory so that a truncated file keeps them.
    this.kernelTop = Math.min(pageLimit, Math.max(0xa00, Math.floor(pageLimit * 0.55)));
  }

  addHole(basePage: number, pageCount: number, reason: string): void {
    this.holes.push({ basePage, pageCount, reason });
    this.state.fill(2, basePage, basePage + pageCount);
  }

  reserve(basePage: number, pageCount: number): void {
    for (let p = basePage; p < Math.min(basePage + pageCount, this.pageLimit); p++) if (this.state[p] === 0) this.state[p] = 2;
  }

  isHole(pfn: number): boolean {
    for (const h of this.holes) if (pfn >= h.basePage && pfn < h.basePage + h.pageCount) return true;
    return false;
  }

  claim(pfn: number): number {
    if (this.state[pfn] !== 0 && this.state[pfn] !== 2) throw new Error(`page 0x${pfn.toString(16)} already used`);
    this.state[pfn] = 1;
    return pfn;
  }

  /** A random free page; kernel pages come from the lower part of memory. */
  alloc(zone: 'kernel' | 'user'): number {
    const lo = 0x300;
    const hi = zone === 'kernel' ? this.kernelTop : this.pageLimit;
    let p = this.rng.int(lo, hi);
    for (let n = 0; n < hi - lo; n++) {
      if (this.state[p] === 0) {
        this.state[p] = 1;
        return p;
      }
      p = p + 1 >= hi ? lo : p + 1;
    }
    throw new Error(`out of ${zone} memory: raise --size`);
  }

  /** A free, 2 MiB-aligned run of 512 pages in the kernel zone. */
  alloc2M(): number {
    const slots: number[] = [];
    for (let b = 0x400; b + 512 <= this.kernelTop; b += 512) {
      let free = true;
      for (let p = b; p < b + 512 && free; p++) if (this.state[p] === 1 || this.isHole(p)) free = false;
      if (free) slots.push(b);
    }
    if (slots.length === 0) throw new Error('no free 2 MiB physical region: raise --size');
    const b = this.rng.pick(slots);
    for (let p = b; p < b + 512; p++) this.state[p] = 1;
    return b;
  }

  /** The page's bytes (created zero-filled on first use). */
  page(pfn: number): Buffer {
    let b = this.pages.get(pfn);
    if (!b) {
      b = Buffer.alloc(PAGE);
      this.pages.set(pfn, b);
    }
    return b;
  }
}

const idx = (va: bigint, shift: bigint) => Number((va >> shift) & 0x1ffn);

export function canonical(va: bigint): bigint {
  return va & (1n << 47n) ? va | 0xffff000000000000n : va & 0x0000ffffffffffffn;
}

/** One x64 address space. Kernel mappings are made in the System space and shared by copying PML4 entries 256..511. */
export class AddressSpace {
  readonly pml4: number;
  /** 4 KiB mappings: VA page number → physical page (present and transition leaves). */
  readonly small = new Map<bigint, number>();
  /** 2 MiB mappings: VA >> 21 → first physical page. */
  readonly large = new Map<bigint, number>();

  constructor(
    readonly mem: PhysMem,
    readonly selfRefIndex: number,
    pml4Pfn?: number,
  ) {
    this.pml4 = pml4Pfn ?? mem.alloc('kernel');
    const e = (BigInt(this.pml4) << 12n) | PTE.P | PTE.RW | PTE.A | PTE.D | NX;
    mem.page(this.pml4).writeBigUInt64LE(e, selfRefIndex * 8);
  }

  get dtb(): number {
    return this.pml4 * PAGE;
  }

  /** The table page one level down from `tablePfn[index]`, created if missing. */
  private next(tablePfn: number, index: number, user: boolean): number {
    const t = this.mem.page(tablePfn);
    const cur = t.readBigUInt64LE(index * 8);
    if (cur & PTE.P) {
      if (cur & PTE.PS) throw new Error('mapping under a large page');
      return Number((cur & PTE.FRAME) >> 12n);
    }
    const pfn = this.mem.alloc('kernel');
    this.mem.page(pfn);
    t.writeBigUInt64LE((BigInt(pfn) << 12n) | PTE.P | PTE.RW | PTE.A | PTE.D | (user ? PTE.US : 0n), index * 8);
    return pfn;
  }

  private ptFor(va: bigint, user: boolean): number {
    const i4 = idx(va, 39n);
    if (i4 === this.selfRefIndex) throw new Error('VA falls in the self-map');
    const pdpt = this.next(this.pml4, i4, user);
    const pd = this.next(pdpt, idx(va, 30n), user);
    return this.next(pd, idx(va, 21n), user);
  }

  /** Writes a raw leaf PTE (present, transition, page-file or demand-zero). */
  setPte(va: bigint, pte: bigint): void {
    const user = va < 0x800000000000n;
    const pt = this.ptFor(va, user);
    this.mem.page(pt).writeBigUInt64LE(BigInt.asUintN(64, pte), idx(va, 12n) * 8);
    if (pte & PTE.P || (pte & PTE.TRANSITION && !(pte & PTE.PROTOTYPE))) this.small.set(va >> 12n, Number((pte & PTE.FRAME) >> 12n));
  }

  map4k(va: bigint, pfn: number, opts: { user?: boolean; exec?: boolean; write?: boolean } = {}): void {
    const user = opts.user ?? va < 0x800000000000n;
    let pte = (BigInt(pfn) << 12n) | PTE.P | PTE.A | PTE.D;
    if (opts.write !== false) pte |= PTE.RW;
    if (user) pte |= PTE.US;
    else pte |= PTE.G;
    if (!opts.exec) pte |= NX;
    this.setPte(va, pte);
  }

  map2m(va: bigint, basePfn: number, opts: { exec?: boolean } = {}): void {
    if (va % BigInt(LARGE) !== 0n || basePfn % 512 !== 0) throw new Error('unaligned large page');
    const i4 = idx(va, 39n);
    const pdpt = this.next(this.pml4, i4, false);
    const pd = this.next(pdpt, idx(va, 30n), false);
    let pde = (BigInt(basePfn) << 12n) | PTE.P | PTE.RW | PTE.A | PTE.D | PTE.PS | PTE.G;
    if (!opts.exec) pde |= NX;
    this.mem.page(pd).writeBigUInt64LE(pde, idx(va, 21n) * 8);
    this.large.set(va >> 21n, basePfn);
  }

  /** Physical address of a VA in this space's own mappings, or undefined. */
  translate(va: bigint): number | undefined {
    const s = this.small.get(va >> 12n);
    if (s !== undefined) return s * PAGE + Number(va & 0xfffn);
    const l = this.large.get(va >> 21n);
    if (l !== undefined) return l * PAGE + Number(va & 0x1fffffn);
    return undefined;
  }

  /** Copies the kernel half of another PML4 (except the self-map slot) into this one. */
  shareKernel(system: AddressSpace): void {
    const src = this.mem.page(system.pml4);
    const dst = this.mem.page(this.pml4);
    for (let i = 256; i < 512; i++) {
      if (i === this.selfRefIndex) continue;
      dst.writeBigUInt64LE(src.readBigUInt64LE(i * 8), i * 8);
    }
  }
}

/** Writes `data` at kernel or user VA `va` through `space`'s mappings (every page must be mapped). */
export function writeVa(space: AddressSpace, va: bigint, data: Buffer, kernel?: AddressSpace): void {
  let done = 0;
  while (done < data.length) {
    const cur = va + BigInt(done);
    const s = cur >= 0xffff800000000000n && kernel ? kernel : space;
    const pa = s.translate(cur);
    if (pa === undefined) throw new Error(`write to unmapped VA 0x${cur.toString(16)}`);
    const inPage = pa % PAGE;
    const n = Math.min(PAGE - inPage, data.length - done);
    data.copy(s.mem.page(Math.floor(pa / PAGE)), inPage, done, done + n);
    done += n;
  }
}

export function readVa(space: AddressSpace, va: bigint, length: number): Buffer {
  const out = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const cur = va + BigInt(done);
    const pa = space.translate(cur);
    if (pa === undefined) throw new Error(`read of unmapped VA 0x${cur.toString(16)}`);
    const inPage = pa % PAGE;
    const n = Math.min(PAGE - inPage, length - done);
    space.mem.page(Math.floor(pa / PAGE)).copy(out, done, inPage, inPage + n);
    done += n;
  }
  return out;
}
