// A small hand-made x64 machine for unit tests: physical pages in a Map, 4-level page tables built
// on demand, and a VirtualMemory that translates through them. It implements the interfaces in
// src/dump/types.ts independently of the real dump layer, so ntos/vsm code can be tested alone.
import { X64VirtualMemory } from "../../src/dump/x64.ts";
import type { MappedPage, MissingRange, PhysicalMemory, PhysicalRead, PhysicalRun, Translation, VirtualMemory } from '../../src/dump/types.ts';

const PAGE = 4096;
const FRAME = 0x000ffffffffff000n;

export class FakePhysical implements PhysicalMemory {
  readonly pages = new Map<number, Buffer>();
  missing: MissingRange[] = [];
  constructor(public pageLimit: number) {}
  get presentPages(): number {
    return this.pages.size;
  }
  *runs(): Iterable<PhysicalRun> {
    const pfns = [...this.pages.keys()].sort((a, b) => a - b);
    let i = 0;
    while (i < pfns.length) {
      let j = i;
      while (j + 1 < pfns.length && pfns[j + 1] === pfns[j] + 1) j++;
      yield { basePage: pfns[i], pageCount: j - i + 1 };
      i = j + 1;
    }
  }
  isPresent(pfn: number): boolean {
    return this.pages.has(pfn);
  }
  readPage(pfn: number): Buffer | undefined {
    return this.pages.get(pfn);
  }
  readPageInto(pfn: number, into: Buffer): boolean {
    const p = this.pages.get(pfn);
    return p !== undefined && p.copy(into, 0, 0, PAGE) === PAGE;
  }
  /** The page, created (zeroed) if needed. */
  page(pfn: number): Buffer {
    let p = this.pages.get(pfn);
    if (!p) {
      p = Buffer.alloc(PAGE);
      this.pages.set(pfn, p);
      if (pfn >= this.pageLimit) this.pageLimit = pfn + 1;
    }
    return p;
  }
  read(pa: number, length: number): PhysicalRead {
    const data = Buffer.alloc(length);
    const absent: number[] = [];
    let done = 0;
    while (done < length) {
      const cur = pa + done;
      const pfn = Math.floor(cur / PAGE);
      const off = cur % PAGE;
      const n = Math.min(PAGE - off, length - done);
      const p = this.pages.get(pfn);
      if (p) p.copy(data, done, off, off + n);
      else absent.push(pfn);
      done += n;
    }
    return { data, absentPages: absent };
  }
  forEachChunk(visit: (basePage: number, data: Buffer) => void, chunkBytes = 1 << 20): void {
    const per = Math.max(1, Math.floor(chunkBytes / PAGE));
    for (const run of this.runs()) {
      for (let p = 0; p < run.pageCount; p += per) {
        const n = Math.min(per, run.pageCount - p);
        const buf = Buffer.alloc(n * PAGE);
        for (let k = 0; k < n; k++) this.pages.get(run.basePage + p + k)!.copy(buf, k * PAGE);
        visit(run.basePage + p, buf);
      }
    }
  }
  write(pa: number, bytes: Buffer): void {
    let done = 0;
    while (done < bytes.length) {
      const cur = pa + done;
      const off = cur % PAGE;
      const n = Math.min(PAGE - off, bytes.length - done);
      bytes.copy(this.page(Math.floor(cur / PAGE)), off, done, done + n);
      done += n;
    }
  }
  close(): void {}
}

const canonical = (va: bigint) => {
  const top = va >> 47n;
  return top === 0n || top === 0x1ffffn;
};
const idx = (va: bigint, level: number) => Number((va >> BigInt(12 + 9 * (level - 1))) & 0x1ffn);
const LEVEL_SPAN: bigint[] = [0n, 1n << 12n, 1n << 21n, 1n << 30n, 1n << 39n];

export class FakeVirtual implements VirtualMemory {
  constructor(
    readonly physical: FakePhysical,
    readonly dtb: number,
  ) {}

  private entry(tablePa: number, i: number): bigint | undefined {
    const p = this.physical.readPage(Math.floor(tablePa / PAGE));
    return p ? p.readBigUInt64LE(i * 8) : undefined;
  }

  translate(va: bigint): Translation {
    if (!canonical(va)) return { ok: false, reason: 'non-canonical' };
    let table = this.dtb;
    for (let level = 4; level >= 1; level--) {
      const e = this.entry(table, idx(va, level));
      if (e === undefined) return { ok: false, reason: 'table-absent', pa: table, level };
      const present = (e & 1n) === 1n;
      const large = (level === 2 || level === 3) && (e & 0x80n) !== 0n;
      if (level === 1 || (present && large)) {
        if (!present) {
          if (e === 0n) return { ok: false, reason: 'demand-zero', pte: e, level };
          if (e & 0x400n) return { ok: false, reason: 'prototype', pte: e, level };
          if (e & 0x800n) return this.leaf(va, e, PAGE, true);
          if ((e >> 32n) !== 0n) return { ok: false, reason: 'pagefile', pte: e, level };
          return { ok: false, reason: 'demand-zero', pte: e, level };
        }
        const size = level === 1 ? PAGE : level === 2 ? 2 << 20 : 1 << 30;
        return this.leaf(va, e, size, false);
      }
      if (!present) return { ok: false, reason: 'not-mapped', pte: e, level };
      table = Number(e & FRAME);
    }
    return { ok: false, reason: 'not-mapped' };
  }

  private leaf(va: bigint, e: bigint, size: number, transition: boolean): Translation {
    const base = Number(e & FRAME & ~BigInt(size - 1));
    const pa = base + Number(va & BigInt(size - 1));
    if (!this.physical.isPresent(Math.floor(pa / PAGE))) return { ok: false, reason: 'page-absent', pa: pa - (pa % PAGE), pte: e };
    return { ok: true, pa, pageSize: size, transition, pte: e };
  }

  readInto(va: bigint, length: number, into: Buffer, at: number): boolean {
    const b = this.read(va, length);
    return b !== undefined && b.copy(into, at) === length;
  }
  read(va: bigint, length: number): Buffer | undefined {
    const out = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const cur = va + BigInt(done);
      const t = this.translate(cur);
      if (!t.ok) return undefined;
      const off = t.pa % PAGE;
      const n = Math.min(PAGE - off, length - done);
      this.physical.readPage(Math.floor(t.pa / PAGE))!.copy(out, done, off, off + n);
      done += n;
    }
    return out;
  }
  readU64(va: bigint): bigint | undefined {
    return this.read(va, 8)?.readBigUInt64LE(0);
  }
  readU32(va: bigint): number | undefined {
    return this.read(va, 4)?.readUInt32LE(0);
  }

  walk(start: bigint, end: bigint, maxEntries = 1 << 22): { pages: MappedPage[]; truncated: boolean } {
    const pages: MappedPage[] = [];
    let truncated = false;
    const rec = (table: number, level: number, base: bigint): void => {
      for (let i = 0; i < 512 && !truncated; i++) {
        const va = sext(base + BigInt(i) * LEVEL_SPAN[level]);
        const span = LEVEL_SPAN[level];
        if (va + span <= start || va >= end) continue;
        const e = this.entry(table, i);
        if (e === undefined) {
          pages.push({ va: sext(base), pageSize: Number(LEVEL_SPAN[level + 1] ?? 0n), translation: { ok: false, reason: 'table-absent', pa: table, level } });
          return;
        }
        if (e === 0n) continue;
        const present = (e & 1n) === 1n;
        const large = (level === 2 || level === 3) && (e & 0x80n) !== 0n;
        if (level === 1 || (present && large)) {
          if (pages.length >= maxEntries) {
            truncated = true;
            return;
          }
          pages.push({ va, pageSize: Number(span), translation: this.translate(va) });
          continue;
        }
        if (!present) continue;
        rec(Number(e & FRAME), level - 1, va);
      }
    };
    rec(this.dtb, 4, 0n);
    return { pages, truncated };
  }
}

function sext(va: bigint): bigint {
  va &= (1n << 64n) - 1n;
  return va & (1n << 47n) ? va | 0xffff000000000000n : va;
}

/** Builds page tables and content. Physical pages are handed out from `nextPfn` upwards. */
export class FakeMachine {
  readonly phys: FakePhysical;
  nextPfn: number;
  readonly kernelDtb: number;
  constructor(opts: { firstPfn?: number } = {}) {
    this.phys = new FakePhysical(0);
    this.nextPfn = opts.firstPfn ?? 0x100;
    this.kernelDtb = this.alloc() * PAGE;
  }
  alloc(): number {
    const pfn = this.nextPfn++;
    this.phys.page(pfn);
    return pfn;
  }
  /** A new address space sharing the kernel half (PML4 entries 256..511) of the kernel DTB. */
  newSpace(): number {
    const pml4 = this.alloc();
    const k = this.phys.page(this.kernelDtb / PAGE);
    k.copy(this.phys.page(pml4), 256 * 8, 256 * 8, 512 * 8);
    return pml4 * PAGE;
  }
  /** The real x64 translation layer over the fake physical memory. */
  vm(dtb = this.kernelDtb): X64VirtualMemory {
    return new X64VirtualMemory(this.phys, dtb);
  }
  /** The PTE slot (physical address) for va at `level` (1 = PT), creating tables on the way. */
  slot(dtb: number, va: bigint, level = 1): number {
    let table = dtb;
    for (let l = 4; l > level; l--) {
      const pa = table + idx(va, l) * 8;
      const page = this.phys.page(Math.floor(pa / PAGE));
      let e = page.readBigUInt64LE(pa % PAGE);
      if ((e & 1n) === 0n) {
        e = (BigInt(this.alloc() * PAGE) | 0x7n);
        page.writeBigUInt64LE(e, pa % PAGE);
        // Kernel half shared: keep new kernel PML4 entries in the kernel DTB too.
      }
      table = Number(e & FRAME);
    }
    return table + idx(va, level) * 8;
  }
  setEntry(dtb: number, va: bigint, value: bigint, level = 1): void {
    const pa = this.slot(dtb, va, level);
    this.phys.page(Math.floor(pa / PAGE)).writeBigUInt64LE(value, pa % PAGE);
  }
  /** Maps one 4 KiB page va → pfn (allocating the pfn when omitted). Returns the pfn. */
  map(dtb: number, va: bigint, pfn?: number, flags = 0x3n): number {
    const f = pfn ?? this.alloc();
    this.setEntry(dtb, va, (BigInt(f) << 12n) | flags | (va < 0x800000000000n ? 0x4n : 0n));
    return f;
  }
  /** Writes bytes at va through dtb, mapping missing pages. */
  writeVirt(dtb: number, va: bigint, bytes: Buffer): void {
    let done = 0;
    const vm = new FakeVirtual(this.phys, dtb);
    while (done < bytes.length) {
      const cur = va + BigInt(done);
      let t = vm.translate(cur);
      if (!t.ok) {
        this.map(dtb, cur & ~0xfffn);
        t = vm.translate(cur);
        if (!t.ok) throw new Error(`cannot map ${cur.toString(16)}`);
      }
      const off = t.pa % PAGE;
      const n = Math.min(PAGE - off, bytes.length - done);
      this.phys.write(t.pa, bytes.subarray(done, done + n));
      done += n;
    }
  }
}

/** `inner` with some of its methods replaced (every other member answers as `inner` does). */
export function physicalWith(inner: PhysicalMemory, replaced: Partial<Pick<PhysicalMemory, 'readPage' | 'forEachChunk'>>): PhysicalMemory {
  return {
    get pageLimit() {
      return inner.pageLimit;
    },
    get presentPages() {
      return inner.presentPages;
    },
    get missing() {
      return inner.missing;
    },
    runs: () => inner.runs(),
    isPresent: (pfn) => inner.isPresent(pfn),
    readPage: (pfn) => inner.readPage(pfn),
    readPageInto: (pfn, into) => inner.readPageInto(pfn, into),
    read: (pa, length) => inner.read(pa, length),
    forEachChunk: (visit, chunkBytes, idle) => inner.forEachChunk(visit, chunkBytes, idle),
    close: () => inner.close(),
    ...replaced,
  };
}
