// Physical memory with explicit holes, read from the evidence file through a bounded page cache.
// Two indexes over the file:
//   RunPhysicalMemory    — sorted segments {basePage, pageCount, fileOffset} (full dumps, RDMP, raw);
//   BitmapPhysicalMemory — a page bitmap plus a rank table (one Uint32 prefix count per 2048 bits),
//                          so a 64 GiB dump costs a 2 MiB bitmap + 32 KiB of ranks, not a Map of pages.
// Truncation: pages the format promises beyond the end of the file are absent, and listed in
// `missing`; they never read as zeros. Memory use is bounded by the cache, not by dump size.
import { BadInputError } from '../errors.ts';
import type { EvidenceFile } from './evidence-file.ts';
import { PAGE_SHIFT, PAGE_SIZE, type IdleWork, type MissingRange, type PhysicalMemory, type PhysicalRead, type PhysicalRun } from './types.ts';

/** Present pages that are consecutive both in physical memory and in the file. */
export interface FileSegment {
  readonly basePage: number;
  readonly pageCount: number;
  readonly fileOffset: number;
}

/** x64 physical addresses have at most 52 bits: 2^40 pages. */
export const MAX_PFN = 2 ** 40;
/** Longest single read() we serve (a caller bug or hostile length otherwise). */
export const MAX_READ_BYTES = 256 * 1024 * 1024;
/** How many missing ranges are listed individually; the rest are counted. */
export const MAX_MISSING_RANGES = 1024;
const DEFAULT_CACHE_PAGES = 2048; // 8 MiB
export const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024;

/** Common part: page cache, read(), forEachChunk(). Subclasses say where a page lives. */
export abstract class FilePhysicalMemory implements PhysicalMemory {
  abstract readonly pageLimit: number;
  abstract readonly presentPages: number;
  abstract readonly missing: readonly MissingRange[];
  /** Pages missing in total (missing may list only the first MAX_MISSING_RANGES ranges). */
  abstract readonly missingPages: number;
  private readonly cache = new Map<number, Buffer>();

  constructor(
    /** The evidence file the pages are read from (the evidence pass reads it too). */
    readonly file: EvidenceFile,
    private readonly cachePages = DEFAULT_CACHE_PAGES,
  ) {}

  /** File offset of page `pfn`, or -1 when the page is absent. */
  abstract locate(pfn: number): number;
  /** Present pages in increasing page order, grouped where file offsets are contiguous. */
  abstract segments(): Iterable<FileSegment>;

  runs(): Iterable<PhysicalRun> {
    return mergeRuns(this.segments());
  }

  /** Pages held in the cache now (never more than its capacity). */
  get cachedPages(): number {
    return this.cache.size;
  }

  isPresent(pfn: number): boolean {
    return this.locate(pfn) >= 0;
  }

  readPage(pfn: number): Buffer | undefined {
    const hit = this.cache.get(pfn);
    if (hit) {
      // LRU: move to the back.
      this.cache.delete(pfn);
      this.cache.set(pfn, hit);
      return hit;
    }
    const off = this.locate(pfn);
    if (off < 0) return undefined;
    const page = Buffer.allocUnsafeSlow(PAGE_SIZE);
    if (this.file.readInto(page, 0, PAGE_SIZE, off) !== PAGE_SIZE) return undefined;
    if (this.cache.size >= this.cachePages) {
      const oldest = this.cache.keys().next().value as number;
      this.cache.delete(oldest);
    }
    this.cache.set(pfn, page);
    return page;
  }

  readPageInto(pfn: number, into: Buffer): boolean {
    const hit = this.cache.get(pfn);
    if (hit) return hit.copy(into, 0, 0, PAGE_SIZE) === PAGE_SIZE;
    const off = this.locate(pfn);
    return off >= 0 && this.file.readInto(into, 0, PAGE_SIZE, off) === PAGE_SIZE;
  }

  read(pa: number, length: number): PhysicalRead {
    if (!Number.isSafeInteger(pa) || pa < 0 || !Number.isSafeInteger(length) || length < 0 || length > MAX_READ_BYTES) {
      throw new BadInputError(`physical read of 0x${length.toString(16)} bytes at 0x${pa.toString(16)} is out of bounds`, 'dump.read-bounds');
    }
    const data = Buffer.alloc(length);
    const absentPages: number[] = [];
    let done = 0;
    while (done < length) {
      const addr = pa + done;
      const pfn = Math.floor(addr / PAGE_SIZE);
      const inPage = addr % PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - inPage, length - done);
      const page = this.readPage(pfn);
      if (page) page.copy(data, done, inPage, inPage + n);
      else absentPages.push(pfn);
      done += n;
    }
    return { data, absentPages };
  }

  /** Reads as fast as the file gives its pages: nothing to wait for, so `idle` work is left to its owner. */
  forEachChunk(visit: (basePage: number, data: Buffer) => void, chunkBytes = DEFAULT_CHUNK_BYTES, _idle?: IdleWork): void {
    const pagesPerChunk = Math.max(1, Math.floor(chunkBytes / PAGE_SIZE));
    const buf = Buffer.allocUnsafeSlow(pagesPerChunk * PAGE_SIZE);
    for (const seg of this.segments()) {
      for (let i = 0; i < seg.pageCount; i += pagesPerChunk) {
        const pages = Math.min(pagesPerChunk, seg.pageCount - i);
        const want = pages * PAGE_SIZE;
        const got = this.file.readInto(buf, 0, want, seg.fileOffset + i * PAGE_SIZE);
        const whole = Math.floor(got / PAGE_SIZE);
        if (whole > 0) visit(seg.basePage + i, buf.subarray(0, whole * PAGE_SIZE));
        if (got < want) return; // the file shrank under us; segments were clipped to its size at open
      }
    }
  }

  close(): void {
    this.cache.clear();
    this.file.close();
  }
}

/** Merges pfn-adjacent segments into runs. */
export function* mergeRuns(segs: Iterable<FileSegment>): Iterable<PhysicalRun> {
  let cur: { basePage: number; pageCount: number } | undefined;
  for (const s of segs) {
    if (cur && cur.basePage + cur.pageCount === s.basePage) {
      cur.pageCount += s.pageCount;
      continue;
    }
    if (cur) yield cur;
    cur = { basePage: s.basePage, pageCount: s.pageCount };
  }
  if (cur) yield cur;
}

// ---------------------------------------------------------------------------------------------

/**
 * Run-based physical memory. `segments` are as the format describes them (file order); they are
 * clipped to the file here: pages past the end of the file become `missing`.
 */
export class RunPhysicalMemory extends FilePhysicalMemory {
  readonly pageLimit: number;
  readonly presentPages: number;
  readonly missing: MissingRange[] = [];
  readonly missingPages: number = 0;
  private readonly base: Float64Array;
  private readonly count: Float64Array;
  private readonly offset: Float64Array;

  constructor(file: EvidenceFile, described: readonly FileSegment[], cachePages?: number) {
    super(file, cachePages);
    const present: FileSegment[] = [];
    let missingPages = 0;
    for (const s of described) {
      const fits = Math.max(0, Math.min(s.pageCount, Math.floor((file.size - s.fileOffset) / PAGE_SIZE)));
      if (fits > 0) present.push({ basePage: s.basePage, pageCount: fits, fileOffset: s.fileOffset });
      if (fits < s.pageCount) {
        missingPages += s.pageCount - fits;
        if (this.missing.length < MAX_MISSING_RANGES) {
          this.missing.push({
            basePage: s.basePage + fits,
            pageCount: s.pageCount - fits,
            reason: `file ends at 0x${file.size.toString(16)}; these pages would be at file offset 0x${(s.fileOffset + fits * PAGE_SIZE).toString(16)}`,
          });
        }
      }
    }
    this.missingPages = missingPages;
    present.sort((a, b) => a.basePage - b.basePage);
    for (let i = 1; i < present.length; i++) {
      const p = present[i - 1]!;
      if (p.basePage + p.pageCount > present[i]!.basePage) {
        throw new BadInputError(`physical runs overlap at page 0x${present[i]!.basePage.toString(16)}`, 'dump.runs-overlap');
      }
    }
    this.base = Float64Array.from(present, (s) => s.basePage);
    this.count = Float64Array.from(present, (s) => s.pageCount);
    this.offset = Float64Array.from(present, (s) => s.fileOffset);
    this.presentPages = present.reduce((a, s) => a + s.pageCount, 0);
    let limit = 0;
    for (const s of described) limit = Math.max(limit, s.basePage + s.pageCount);
    this.pageLimit = limit;
  }

  locate(pfn: number): number {
    // Last segment with base <= pfn.
    let lo = 0;
    let hi = this.base.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.base[mid]! <= pfn) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0) return -1;
    const rel = pfn - this.base[found]!;
    if (rel >= this.count[found]!) return -1;
    return this.offset[found]! + rel * PAGE_SIZE;
  }

  *segments(): Iterable<FileSegment> {
    for (let i = 0; i < this.base.length; i++) yield { basePage: this.base[i]!, pageCount: this.count[i]!, fileOffset: this.offset[i]! };
  }
}

// ---------------------------------------------------------------------------------------------

const RANK_BITS = 2048; // one prefix count per 2048 pages (64 words)
const RANK_WORDS = RANK_BITS / 32;

/** Trailing zeros of a non-zero 32-bit value. */
function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

function popcount32(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/**
 * Bitmap-indexed physical memory (DumpType 5/6): bit n set = page n stored; stored pages follow
 * `firstPage` in increasing page order. `storedInFile` caps the pages the file really holds.
 */
export class BitmapPhysicalMemory extends FilePhysicalMemory {
  readonly pageLimit: number;
  readonly presentPages: number;
  readonly missing: MissingRange[] = [];
  readonly missingPages: number;
  /** Set bits in the bitmap (pages the format promises). */
  readonly setBits: number;
  private readonly words: Uint32Array;
  private readonly rank: Uint32Array;

  constructor(
    file: EvidenceFile,
    bitmap: Buffer,
    readonly bitCount: number,
    private readonly firstPage: number,
    cachePages?: number,
  ) {
    super(file, cachePages);
    const nwords = Math.ceil(bitCount / 32);
    this.words = new Uint32Array(nwords);
    const whole = Math.min(Math.floor(bitmap.length / 4), nwords);
    for (let i = 0; i < whole; i++) this.words[i] = bitmap.readUInt32LE(i * 4);
    if (whole < nwords) {
      // A bitmap whose byte length is not a multiple of 4.
      let w = 0;
      for (let b = whole * 4; b < bitmap.length; b++) w |= bitmap[b]! << (8 * (b - whole * 4));
      this.words[whole] = w >>> 0;
    }
    // Bits past bitCount in the last word are not pages.
    const tail = bitCount % 32;
    if (tail && nwords > 0) this.words[nwords - 1]! &= (2 ** tail - 1) >>> 0;
    this.rank = new Uint32Array(Math.ceil(nwords / RANK_WORDS) + 1);
    let total = 0;
    for (let i = 0; i < nwords; i++) {
      if (i % RANK_WORDS === 0) this.rank[i / RANK_WORDS] = total;
      total += popcount32(this.words[i]!);
    }
    this.rank[this.rank.length - 1] = total;
    this.setBits = total;
    const stored = Math.max(0, Math.floor((file.size - firstPage) / PAGE_SIZE));
    this.presentPages = Math.min(total, stored);
    this.missingPages = total - this.presentPages;
    this.pageLimit = bitCount;
    if (this.missingPages > 0) this.collectMissing();
  }

  /** Number of set bits below `pfn`. */
  private rankOf(pfn: number): number {
    const w = pfn >>> 5;
    let r = this.rank[Math.floor(w / RANK_WORDS)]!;
    for (let i = w - (w % RANK_WORDS); i < w; i++) r += popcount32(this.words[i]!);
    const bit = pfn & 31;
    if (bit) r += popcount32(this.words[w]! & ((1 << bit) - 1 >>> 0));
    return r;
  }

  locate(pfn: number): number {
    if (!(pfn >= 0 && pfn < this.bitCount)) return -1;
    if (((this.words[pfn >>> 5]! >>> (pfn & 31)) & 1) === 0) return -1;
    const r = this.rankOf(pfn);
    if (r >= this.presentPages) return -1;
    return this.firstPage + r * PAGE_SIZE;
  }

  /** Runs of set bits, in page order, with their stored index (rank). Jumps bit runs with ctz. */
  private *setRuns(): Iterable<{ basePage: number; pageCount: number; rank: number }> {
    const words = this.words;
    let rank = 0;
    let start = -1;
    for (let w = 0; w < words.length; w++) {
      const v = words[w]!;
      if (start < 0 ? v === 0 : v === 0xffffffff) continue;
      let b = 0;
      while (b < 32) {
        // Next bit at or after b that ends the current state (a set bit when outside a run, a clear bit inside one).
        const rest = (start < 0 ? v : ~v) >>> b;
        if (rest === 0) break;
        b += ctz32(rest);
        const pfn = w * 32 + b;
        if (start < 0) start = pfn;
        else {
          yield { basePage: start, pageCount: pfn - start, rank };
          rank += pfn - start;
          start = -1;
        }
      }
    }
    if (start >= 0) yield { basePage: start, pageCount: this.bitCount - start, rank };
  }

  *segments(): Iterable<FileSegment> {
    for (const r of this.setRuns()) {
      if (r.rank >= this.presentPages) return;
      const n = Math.min(r.pageCount, this.presentPages - r.rank);
      yield { basePage: r.basePage, pageCount: n, fileOffset: this.firstPage + r.rank * PAGE_SIZE };
    }
  }

  private collectMissing(): void {
    const fileEnd = this.file.size;
    for (const r of this.setRuns()) {
      if (r.rank + r.pageCount <= this.presentPages) continue;
      if (this.missing.length >= MAX_MISSING_RANGES) break;
      const skip = Math.max(0, this.presentPages - r.rank);
      this.missing.push({
        basePage: r.basePage + skip,
        pageCount: r.pageCount - skip,
        reason: `file ends at 0x${fileEnd.toString(16)}; stored pages ${r.rank + skip}..${r.rank + r.pageCount - 1} are past it`,
      });
    }
  }
}

/** Converts a page count / address from a header (bigint) to a number, or undefined if it exceeds `limit`. */
export function boundedNumber(v: bigint, limit: number): number | undefined {
  return v >= 0n && v <= BigInt(limit) ? Number(v) : undefined;
}

export { PAGE_SHIFT };
