// x64 4-level paging over PhysicalMemory: `new X64VirtualMemory(physical, dtb)` (stable API).
// translate() returns the physical address or why not (src/dump/types.ts Translation): 4 KiB,
// 2 MiB and 1 GiB pages; Windows software PTEs when not present — transition (bit 11 set, bit 10
// clear: still in RAM at the frame, read it), prototype (bit 10), page file (PageFileHigh, bits
// 32..63, non-zero), otherwise demand-zero. A paging-structure page absent from the dump is
// 'table-absent', never an empty table. walk() enumerates every non-empty leaf in a range,
// skipping empty upper entries and never re-entering a table already on its path (the Windows
// self-map PML4 entry points at the PML4 itself).
import { BadInputError } from '../errors.ts';
import { MAX_READ_BYTES } from './physical.ts';
import { CANONICAL_USER_END, isCanonical, pageTableRoot } from './numbers.ts';
import { PAGE_SIZE, type MappedPage, type PhysicalMemory, type Translation, type VirtualMemory } from './types.ts';

const TWO32 = 2 ** 32;
const VA_BITS_SPACE = 2 ** 48;
const HALF = 2 ** 47;
const KERNEL_SIGN = 0xffff000000000000n;
/** Span covered by one entry at each level (index = level). */
const SPAN = [0, 2 ** 12, 2 ** 21, 2 ** 30, 2 ** 39];

const BIT_PRESENT = 0x1;
const BIT_PS = 0x80;
const BIT_PROTOTYPE = 0x400;
const BIT_TRANSITION = 0x800;

/**
 * Translations remembered per 4 KiB virtual page (a TLB): walks read many fields of one structure,
 * each a 4-level table walk otherwise. The dump never changes, so a translation never goes stale;
 * the table is emptied when it reaches this size (memory stays bounded on any dump).
 */
export const MAX_TLB_ENTRIES = 8192;

/** Default bound on paging-structure pages one walk() visits (hostile tables can fan out). */
export const DEFAULT_MAX_TABLES = 1 << 18;

/** State of one paging entry, decoded from its two 32-bit halves. */
export type EntryState = 'empty' | 'present' | 'transition' | 'prototype' | 'pagefile' | 'demand-zero';

export function entryState(lo: number, hi: number): EntryState {
  if (lo & BIT_PRESENT) return 'present';
  if (lo === 0 && hi === 0) return 'empty';
  if (lo & BIT_PROTOTYPE) return 'prototype';
  if (lo & BIT_TRANSITION) return 'transition';
  if (hi !== 0) return 'pagefile';
  return 'demand-zero';
}

/** Physical address of the frame in bits 12..51. */
function frameOf(lo: number, hi: number): number {
  return (hi & 0xfffff) * TWO32 + ((lo & 0xfffff000) >>> 0);
}

function pteOf(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

/** Canonical VA → 48-bit linear number; undefined when not canonical. */
function linear(va: bigint): number | undefined {
  if (!isCanonical(va)) return undefined;
  return va < CANONICAL_USER_END ? Number(va) : Number(va - KERNEL_SIGN);
}

/** Whether this machine stores a Uint32Array's elements little-endian, as paging entries are. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * A table page as 1024 32-bit words (entry i is words 2i, 2i + 1): walks test every entry of every
 * table, and a typed-array read costs far less than Buffer.readUInt32LE's call. A view of the page
 * when it is 4-byte aligned on a little-endian machine, else its words decoded one by one.
 */
function entryWords(page: Buffer): Uint32Array {
  if (LITTLE_ENDIAN && page.byteOffset % 4 === 0) return new Uint32Array(page.buffer, page.byteOffset, PAGE_SIZE / 4);
  const words = new Uint32Array(PAGE_SIZE / 4);
  for (let i = 0; i < words.length; i++) words[i] = page.readUInt32LE(i * 4);
  return words;
}

/** Whether [lin, lin + length) lies within one canonical half of the address space. */
function sameHalf(lin: number, length: number): boolean {
  const last = lin + length - 1;
  return last < VA_BITS_SPACE && (lin < HALF) === (last < HALF);
}

function canonical(lin: number): bigint {
  const v = BigInt(lin);
  return lin >= HALF ? v | KERNEL_SIGN : v;
}

/** A successful translation of one 4 KiB virtual page: its frame, as translate() found it. */
interface TlbEntry {
  readonly pagePa: number;
  readonly pageSize: number;
  readonly transition: boolean;
  readonly pte: bigint;
}

export class X64VirtualMemory implements VirtualMemory {
  readonly dtb: number;
  private readonly tlb = new Map<number, TlbEntry>();

  /** `dtb` is CR3: low 12 bits (PCID) and bit 63 are ignored. */
  constructor(
    readonly physical: PhysicalMemory,
    dtb: number | bigint,
    private readonly tlbLimit = MAX_TLB_ENTRIES,
  ) {
    this.dtb = pageTableRoot(dtb);
  }

  /** Translations remembered now (never more than the TLB's limit). */
  get tlbEntries(): number {
    return this.tlb.size;
  }

  /** The 8-byte entry `index` of the table page at `tablePa`, or undefined if that page is absent. */
  private entry(tablePa: number, index: number): [number, number] | undefined {
    const page = this.physical.readPage(tablePa / PAGE_SIZE);
    if (!page) return undefined;
    return [page.readUInt32LE(index * 8), page.readUInt32LE(index * 8 + 4)];
  }

  translate(va: bigint): Translation {
    const lin = linear(va);
    if (lin === undefined) return { ok: false, reason: 'non-canonical' };
    const inPage = lin % PAGE_SIZE;
    const vpn = (lin - inPage) / PAGE_SIZE;
    const hit = this.tlb.get(vpn);
    if (hit) return { ok: true, pa: hit.pagePa + inPage, pageSize: hit.pageSize, transition: hit.transition, pte: hit.pte };
    const t = this.walkTables(lin);
    if (t.ok) this.remember(vpn, t.pa - inPage, t);
    return t;
  }

  private remember(vpn: number, pagePa: number, t: { readonly pageSize: number; readonly transition: boolean; readonly pte: bigint }): TlbEntry {
    if (this.tlb.size >= this.tlbLimit) this.tlb.clear();
    const e: TlbEntry = { pagePa, pageSize: t.pageSize, transition: t.transition, pte: t.pte };
    this.tlb.set(vpn, e);
    return e;
  }

  /**
   * The evidence page holding linear address `lin` (as translate() finds it, through the TLB), or
   * undefined when it cannot be read: read()'s step, without building a Translation per page.
   */
  private pageAt(lin: number): Buffer | undefined {
    const vpn = Math.floor(lin / PAGE_SIZE);
    let e = this.tlb.get(vpn);
    if (!e) {
      const t = this.walkTables(vpn * PAGE_SIZE);
      if (!t.ok) return undefined;
      e = this.remember(vpn, t.pa, t);
    }
    return this.physical.readPage(e.pagePa / PAGE_SIZE);
  }

  /** translate() without the TLB: the 4-level walk for linear address `lin`. */
  private walkTables(lin: number): Translation {
    let table = this.dtb;
    for (let level = 4; level >= 1; level--) {
      const span = SPAN[level]!;
      const index = Math.floor(lin / span) % 512;
      const e = this.entry(table, index);
      if (!e) return { ok: false, reason: 'table-absent', pa: table, level };
      const [lo, hi] = e;
      const state = entryState(lo, hi);
      const isLeaf = level === 1 || (state === 'present' && level <= 3 && (lo & BIT_PS) !== 0);
      if (isLeaf || level === 1) {
        return this.leaf(lin, lo, hi, state, level);
      }
      switch (state) {
        case 'present':
        case 'transition': // a paging-structure page in transition is still in RAM at its frame
          table = frameOf(lo, hi);
          continue;
        case 'pagefile':
          return { ok: false, reason: 'pagefile', pte: pteOf(lo, hi), level };
        default:
          return { ok: false, reason: 'not-mapped', pte: pteOf(lo, hi), level };
      }
    }
    /* c8 ignore next */
    return { ok: false, reason: 'not-mapped' };
  }

  /** The translation of a leaf entry (PTE, or a large-page PDE/PDPTE) for linear address `lin`. */
  private leaf(lin: number, lo: number, hi: number, state: EntryState, level: number): Translation {
    const pte = pteOf(lo, hi);
    const pageSize = SPAN[level]!;
    switch (state) {
      case 'present':
      case 'transition': {
        let base = frameOf(lo, hi);
        if (level === 3) base -= base % (2 ** 30); // bits 29..13 hold PAT/reserved on a 1 GiB entry
        if (level === 2) base -= base % (2 ** 21);
        const pa = base + (lin % pageSize);
        const transition = state === 'transition';
        if (!this.physical.isPresent(Math.floor(pa / PAGE_SIZE))) return { ok: false, reason: 'page-absent', pa: pa - (pa % PAGE_SIZE), pte, level };
        return { ok: true, pa, pageSize, transition, pte };
      }
      case 'prototype':
        return { ok: false, reason: 'prototype', pte, level };
      case 'pagefile':
        return { ok: false, reason: 'pagefile', pte, level };
      default:
        return { ok: false, reason: 'demand-zero', pte, level };
    }
  }

  read(va: bigint, length: number): Buffer | undefined {
    if (!Number.isSafeInteger(length) || length < 0 || length > MAX_READ_BYTES) {
      throw new BadInputError(`virtual read of ${length} bytes is out of bounds`, 'dump.read-bounds');
    }
    const out = Buffer.allocUnsafe(length);
    return this.readInto(va, length, out, 0) ? out : undefined;
  }

  readInto(va: bigint, length: number, into: Buffer, at: number): boolean {
    if (!Number.isSafeInteger(length) || length < 0 || length > MAX_READ_BYTES || !Number.isSafeInteger(at) || at < 0 || at + length > into.length) {
      throw new BadInputError(`virtual read of ${length} bytes is out of bounds`, 'dump.read-bounds');
    }
    if (length === 0) return true;
    const lin = linear(va);
    // A range that leaves its canonical half (or the address space) has a non-canonical page.
    if (lin === undefined || !sameHalf(lin, length)) return false;
    let done = 0;
    while (done < length) {
      const inPage = (lin + done) % PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - inPage, length - done);
      const page = this.pageAt(lin + done);
      if (!page) return false;
      page.copy(into, at + done, inPage, inPage + n);
      done += n;
    }
    return true;
  }

  // Scalars are read from their page in place (no copy), unless they span two pages.
  readU64(va: bigint): bigint | undefined {
    const lin = linear(va);
    if (lin === undefined) return undefined;
    const at = lin % PAGE_SIZE;
    if (at > PAGE_SIZE - 8) return this.read(va, 8)?.readBigUInt64LE(0);
    return this.pageAt(lin)?.readBigUInt64LE(at);
  }

  readU32(va: bigint): number | undefined {
    const lin = linear(va);
    if (lin === undefined) return undefined;
    const at = lin % PAGE_SIZE;
    if (at > PAGE_SIZE - 4) return this.read(va, 4)?.readUInt32LE(0);
    return this.pageAt(lin)?.readUInt32LE(at);
  }

  /**
   * Every non-empty leaf in [start, end) (see VirtualMemory.walk). A 2 MiB / 1 GiB page is one
   * entry whose translation is that of its first 4 KiB frame; translate() each 4 KiB VA inside it
   * to classify its frames one by one. An absent paging-structure page is one 'table-absent' entry
   * covering the span its parent entry maps. `maxTables` bounds the table pages visited.
   */
  walk(start: bigint, end: bigint, maxEntries = 1_000_000, maxTables = DEFAULT_MAX_TABLES): { pages: MappedPage[]; truncated: boolean } {
    const lo = clampLinear(start, 'start');
    const hi = clampLinear(end, 'end');
    const pages: MappedPage[] = [];
    if (hi <= lo) return { pages, truncated: false };
    let tables = 0;
    let truncated = false;
    const path: number[] = [this.dtb];

    const emit = (lin: number, pageSize: number, translation: Translation): boolean => {
      if (pages.length >= maxEntries) {
        truncated = true;
        return false;
      }
      pages.push({ va: canonical(lin), pageSize, translation });
      return true;
    };

    // Returns false to stop the whole walk.
    const visit = (level: number, tablePa: number, base: number): boolean => {
      if (++tables > maxTables) {
        truncated = true;
        return false;
      }
      const page = this.physical.readPage(tablePa / PAGE_SIZE);
      if (!page) return emit(base, SPAN[level + 1] ?? VA_BITS_SPACE, { ok: false, reason: 'table-absent', pa: tablePa, level });
      // Read in place: a page the cache drops while we recurse keeps its bytes (readPage's contract).
      const words = entryWords(page);
      const span = SPAN[level]!;
      const i0 = Math.max(0, Math.floor((lo - base) / span));
      const i1 = Math.min(511, Math.floor((hi - 1 - base) / span));
      for (let i = i0; i <= i1; i++) {
        const elo = words[i * 2]!;
        const ehi = words[i * 2 + 1]!;
        if (elo === 0 && ehi === 0) continue;
        const va = base + i * span;
        const state = entryState(elo, ehi);
        const isLeaf = level === 1 || (state === 'present' && level <= 3 && (elo & BIT_PS) !== 0);
        if (isLeaf) {
          if (!emit(va, span, this.leaf(va, elo, ehi, state, level))) return false;
          continue;
        }
        if (state === 'present' || state === 'transition') {
          const child = frameOf(elo, ehi);
          if (path.includes(child)) continue; // self-map or a loop: the tables are already on this path
          path.push(child);
          const go = visit(level - 1, child, va);
          path.pop();
          if (!go) return false;
        } else if (state === 'pagefile') {
          if (!emit(va, span, { ok: false, reason: 'pagefile', pte: pteOf(elo, ehi), level })) return false;
        }
        // demand-zero / prototype upper entries map nothing yet: not a leaf, nothing to list.
      }
      return true;
    };
    visit(4, this.dtb, 0);
    return { pages, truncated };
  }
}

/** A bound of a walk range as a 48-bit linear number; the non-canonical hole clamps to its top. */
function clampLinear(va: bigint, what: string): number {
  if (va < 0n) throw new BadInputError(`walk ${what} is negative`, 'dump.walk-range');
  if (va >= 0x10000000000000000n) return VA_BITS_SPACE;
  const l = linear(va);
  if (l !== undefined) return l;
  return HALF; // inside the hole: user range ends, kernel range starts, at linear 2^47
}
