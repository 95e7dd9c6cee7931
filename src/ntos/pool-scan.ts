// Pool scan for process objects: every present physical page is searched for POOL_HEADERs tagged
// 'Proc' (or 'Pro\xe3', the protected-tag form); each hit must then pass the POOL_HEADER,
// OBJECT_HEADER and EPROCESS checks before it counts as a process. A tag alone is never enough:
// dumps hold decoy strings, freed blocks and attacker-made look-alikes.
//
// Steps (ProcessScan): scanGeometry (offsets from the layout, assumed values where it lacks them)
// → visitChunk (tag candidates at pool alignment, markers) → examineCandidate (pool header, block
// size) → findObject (OBJECT_HEADER positions in the block → identifyAt: EPROCESS checks, VA) →
// resolveLate (blocks and hits that need the kernel's page tables) → result.
import type { IdleWork, PhysicalMemory, VirtualMemory } from '../dump/types.ts';
import { PAGE_SIZE } from '../dump/types.ts';
import { ASSUMED_OBJECT_INFO_SIZES, ASSUMED_POOL_GRANULARITY, fieldOrAssumed, objectInfoSizes, sizeOrAssumed, type AssumedFieldKey, type FieldPlace, type KernelLayout } from './layout.ts';
import { decodeEprocess, eprocessSize, implausibilities, isKernelPointer, ObjectBytes, readEprocess, type EprocessInfo, type ReadProcessOptions } from './process.ts';

/** Bytes of optional OBJECT_HEADER_* info blocks selected by InfoMask bits 0..7 (sizes by bit: objectInfoSizes). */
export function optionalHeaderBytes(infoMask: number, sizes: readonly number[] = ASSUMED_OBJECT_INFO_SIZES): number {
  let n = 0;
  for (let i = 0; i < 8; i++) if (infoMask & (1 << i)) n += sizes[i]!;
  return n;
}

/**
 * How OBJECT_HEADER.TypeIndex is checked. On Windows 10+ the stored byte is
 * `index ^ ObHeaderCookie ^ byte 1 of the header's VA`, so `stored ^ key` (key = cookie ^ Process
 * type index) must equal byte 1 of the header's VA; from a physical address only its low nibble
 * (VA bits 8..11 = PA bits 8..11) can be checked.
 */
export type TypeIndexCheck =
  | { readonly kind: 'key'; readonly key: number; readonly source: 'cookie' | 'list' }
  | { readonly kind: 'unchecked'; readonly reason: string };

export type VaMethod = 'list' | 'neighbour-flink' | 'neighbour-blink' | 'self-link' | 'empty-list-head' | 'page-tables';

export interface ScanHit {
  /** Physical address of the EPROCESS body. */
  readonly pa: number;
  /** Physical address of its POOL_HEADER. */
  readonly poolPa: number;
  readonly tag: string;
  /** Kernel VA of the body when it could be established (and checked by translating back). */
  readonly va: bigint | null;
  readonly vaMethod: VaMethod | null;
  readonly info: EprocessInfo;
}

export interface ScanStats {
  readonly pagesScanned: number;
  readonly bytesScanned: number;
  /** Aligned tag matches examined. */
  readonly candidates: number;
  /** Candidates rejected, by first failed check. */
  readonly rejected: Readonly<Record<string, number>>;
}

export interface ScanResult {
  readonly hits: readonly ScanHit[];
  readonly stats: ScanStats;
  readonly typeIndex: TypeIndexCheck;
  /** Caps that stopped the scan early. */
  readonly capsHit: readonly { cap: string; limit: number }[];
  /** For each of `markers`, the physical addresses where it was seen (first few). */
  readonly markerHits: readonly number[][];
}

export interface ScanOptions extends Omit<ReadProcessOptions, 'kernel'> {
  readonly kernel?: VirtualMemory;
  readonly typeIndex?: TypeIndexCheck;
  /** EPROCESS body PA → VA already known (from the list walk). */
  readonly knownVaByPa?: ReadonlyMap<number, bigint>;
  /** Physical page number → kernel VA of that page, where already known (pages around listed objects). */
  readonly knownPageVas?: ReadonlyMap<number, bigint>;
  readonly maxHits?: number;
  readonly maxCandidates?: number;
  readonly chunkBytes?: number;
  /** Byte strings to note while the pages go by (e.g. an image's PDB name); the first few PAs of each are returned. */
  readonly markers?: readonly Buffer[];
  /** Reverse-map unresolved hits through the kernel's page tables (default true). */
  readonly reverseMap?: boolean;
  /** Called after each chunk with pages done so far (for progress bars). */
  readonly onProgress?: (pagesDone: number, pagesTotal: number) => void;
  /** The caller's queued work, run where reading the pages waits (see PhysicalMemory.forEachChunk). */
  readonly idle?: IdleWork;
}

export const DEFAULT_MAX_HITS = 65536;
export const DEFAULT_MAX_CANDIDATES = 4_000_000;
/** Rejection reason for objects that look like processes as far as the dump holds them. */
export const PARTLY_ABSENT = 'object partly absent from the dump';
const REJECT_BLOCK_SIZE = 'pool block size';
const REJECT_OBJECT = 'object/EPROCESS checks';
/** Pool blocks crossing a page that wait for the page-table lookup. */
const MAX_DEFERRED = 65536;
/** PAs noted per marker. */
const MAX_MARKER_HITS = 16;
/** Most bytes allowed between the optional info blocks and the OBJECT_HEADER (padding, unknown blocks). */
const MAX_HEADER_GAP = 0x40;
/** How far past the optional info blocks an OBJECT_HEADER is looked for (8-byte steps). */
const HEADER_SEARCH_SLACK = 0x30;
/** Most bytes a pool block may hold past the end of its EPROCESS. */
const MAX_TAIL_SLACK = 0x100;
/** Plausibility bounds on OBJECT_HEADER.PointerCount / HandleCount (exclusive). */
const MAX_POINTER_COUNT = 1n << 48n;
const MAX_HANDLE_COUNT = 1n << 32n;
/** The tag's first three bytes; the fourth is 'c' (0x63) or, with the protected bit, 0xe3. */
const PRO = Buffer.from('Pro', 'latin1');
const TAG_LAST = 0x63;
const TAG_LAST_PROTECTED = 0xe3;

/** Offsets and sizes the scan reads, resolved once from the layout (assumed values where it lacks them). */
export interface ScanGeometry {
  readonly poolHeaderSize: number;
  /** Pool headers sit on multiples of this; BlockSize counts units of it. */
  readonly granularity: number;
  readonly tagOffset: number;
  readonly blockSize: FieldPlace;
  readonly pointerCountOffset: number;
  readonly handleCountOffset: number;
  readonly typeIndexOffset: number;
  readonly infoMaskOffset: number;
  /** OBJECT_HEADER.Body: the EPROCESS starts this far into the object header. */
  readonly bodyOffset: number;
  /** Object-header bytes before the body. */
  readonly objectHeaderSize: number;
  /** Optional OBJECT_HEADER_* block sizes by InfoMask bit, and all of them together. */
  readonly infoSizes: readonly number[];
  readonly maxOptional: number;
  readonly eprocessSize: number;
  readonly linksOffset: bigint;
  /** Smallest and largest believable pool block for an EPROCESS. */
  readonly minBlockBytes: number;
  readonly maxBlockBytes: number;
  /** Bytes of a block read to look for its object header. */
  readonly headBytes: number;
  /** Fields the layout lacks, for which assumed values (src/ntos/layout.ts) are used. */
  readonly assumed: readonly AssumedFieldKey[];
}

export function scanGeometry(layout: KernelLayout): ScanGeometry {
  const assumed: AssumedFieldKey[] = [];
  const place = (key: AssumedFieldKey): FieldPlace => {
    const p = fieldOrAssumed(layout, key);
    if (p.assumed) assumed.push(key);
    return p;
  };
  const poolHeaderSize = sizeOrAssumed(layout, '_POOL_HEADER');
  const bodyOffset = place('OBJECT_HEADER.Body').offset;
  const objectHeaderSize = Math.min(sizeOrAssumed(layout, '_OBJECT_HEADER'), bodyOffset);
  const size = eprocessSize(layout);
  const infoSizes = objectInfoSizes(layout);
  const maxOptional = infoSizes.reduce((a, b) => a + b, 0);
  return {
    poolHeaderSize,
    granularity: ASSUMED_POOL_GRANULARITY,
    tagOffset: place('POOL_HEADER.PoolTag').offset,
    blockSize: place('POOL_HEADER.BlockSize'),
    pointerCountOffset: place('OBJECT_HEADER.PointerCount').offset,
    handleCountOffset: place('OBJECT_HEADER.HandleCount').offset,
    typeIndexOffset: place('OBJECT_HEADER.TypeIndex').offset,
    infoMaskOffset: place('OBJECT_HEADER.InfoMask').offset,
    bodyOffset,
    objectHeaderSize,
    infoSizes,
    maxOptional,
    eprocessSize: size,
    linksOffset: BigInt(layout.fields['EPROCESS.ActiveProcessLinks']?.offset ?? 0),
    // The block must hold a pool header, an object header and a whole EPROCESS, with bounded slack.
    minBlockBytes: poolHeaderSize + objectHeaderSize + size,
    maxBlockBytes: poolHeaderSize + maxOptional + MAX_HEADER_GAP + bodyOffset + size + MAX_TAIL_SLACK,
    headBytes: poolHeaderSize + maxOptional + MAX_HEADER_GAP + bodyOffset,
    assumed,
  };
}

/** The block size a POOL_HEADER states, in bytes (BlockSize × granularity). */
export function poolBlockBytes(header: Buffer, g: ScanGeometry): number {
  const f = g.blockSize;
  const raw = header.readUIntLE(f.offset, f.size);
  const bits = f.bitLength ?? f.size * 8;
  return Math.floor(raw / 2 ** (f.bitPosition ?? 0)) % 2 ** bits * g.granularity;
}

/** A pool block tagged as a process: where it is and how big its header says it is. */
interface Candidate {
  readonly poolPa: number;
  readonly blockBytes: number;
  readonly tag: string;
}

/** The first bytes of a block, read physically (poolVa null: pages assumed contiguous) or virtually. */
interface BlockView {
  readonly head: Buffer;
  /** Pages of the physical read absent from the dump (empty for virtual reads). */
  readonly absentPages: readonly number[];
  readonly poolVa: bigint | null;
}

/** What a block holds: a new process, one already found, or none (maybe because parts are absent). */
type BlockOutcome = { readonly kind: 'hit' | 'seen' } | { readonly kind: 'none'; readonly partlyAbsent: boolean };
/** What one OBJECT_HEADER position in a block gives. */
type PositionOutcome = { readonly kind: 'hit' | 'seen' } | { readonly kind: 'skip'; readonly partlyAbsent: boolean };

const SKIP: PositionOutcome = { kind: 'skip', partlyAbsent: false };

export function scanProcesses(pm: PhysicalMemory, layout: KernelLayout, opts: ScanOptions = {}): ScanResult {
  const scan = new ProcessScan(pm, layout, opts);
  pm.forEachChunk((basePage, chunk) => scan.visitChunk(basePage, chunk), opts.chunkBytes, opts.idle);
  scan.resolveLate();
  return scan.result();
}

/** One pool scan: its inputs, fixed at construction, and what it has found so far. */
class ProcessScan {
  private readonly g: ScanGeometry;
  private readonly maxHits: number;
  private readonly maxCandidates: number;
  private readonly typeIndex: TypeIndexCheck;
  private readonly readOpts: ReadProcessOptions;
  private readonly markers: readonly Buffer[];
  private readonly hits: ScanHit[] = [];
  private readonly seen = new Set<number>();
  private readonly deferred: Candidate[] = [];
  private readonly rejected: Record<string, number> = {};
  private readonly capsHit: { cap: string; limit: number }[] = [];
  private readonly markerHits: number[][];
  private candidates = 0;
  private pagesScanned = 0;
  private bytesScanned = 0;
  private stop = false;

  constructor(
    private readonly pm: PhysicalMemory,
    private readonly layout: KernelLayout,
    private readonly opts: ScanOptions,
  ) {
    this.g = scanGeometry(layout);
    this.maxHits = opts.maxHits ?? DEFAULT_MAX_HITS;
    this.maxCandidates = opts.maxCandidates ?? DEFAULT_MAX_CANDIDATES;
    this.typeIndex = opts.typeIndex ?? { kind: 'unchecked', reason: 'no ObHeaderCookie and no listed process to derive the key from' };
    this.readOpts = { kernel: opts.kernel, vmForDtb: opts.vmForDtb };
    this.markers = opts.markers ?? [];
    this.markerHits = this.markers.map(() => []);
  }

  /** Step 1: a chunk of consecutive present pages: markers, then pool-aligned tag candidates. */
  visitChunk(basePage: number, chunk: Buffer): void {
    if (this.stop) return;
    const chunkPa = basePage * PAGE_SIZE;
    this.markers.forEach((mk, mi) => {
      const found = this.markerHits[mi]!;
      for (let at = chunk.indexOf(mk); at >= 0 && found.length < MAX_MARKER_HITS; at = chunk.indexOf(mk, at + 1)) found.push(chunkPa + at);
    });
    const { tagOffset, granularity, poolHeaderSize } = this.g;
    let pos = tagOffset;
    while (!this.stop) {
      const i = chunk.indexOf(PRO, pos);
      if (i < 0) break;
      pos = i + 1;
      if (i % granularity !== tagOffset || i - tagOffset + poolHeaderSize > chunk.length) continue;
      const c = chunk[i + 3];
      if (c !== TAG_LAST && c !== TAG_LAST_PROTECTED) continue;
      if (++this.candidates > this.maxCandidates) {
        this.capsHit.push({ cap: 'scan.candidates', limit: this.maxCandidates });
        this.stop = true;
        break;
      }
      this.examineCandidate(chunk.subarray(i - tagOffset, i - tagOffset + poolHeaderSize), chunkPa + i - tagOffset);
    }
    this.pagesScanned += chunk.length / PAGE_SIZE;
    this.bytesScanned += chunk.length;
    this.opts.onProgress?.(this.pagesScanned, this.pm.presentPages);
  }

  /** Step 2: the pool header's block size, then the object in the block (or defer it to the page tables). */
  private examineCandidate(header: Buffer, poolPa: number): void {
    const g = this.g;
    const tag = header[g.tagOffset + 3] === TAG_LAST ? 'Proc' : 'Pro\\xe3';
    const blockBytes = poolBlockBytes(header, g);
    if (blockBytes < g.minBlockBytes || blockBytes > g.maxBlockBytes) return this.reject(REJECT_BLOCK_SIZE);
    const cand: Candidate = { poolPa, blockBytes, tag };
    const block = this.pm.read(poolPa, Math.min(blockBytes, g.headBytes));
    if (this.findObject(cand, { head: block.data, absentPages: block.absentPages, poolVa: null }).kind !== 'none') return;
    // The block continues past its first page, whose virtual neighbour may be elsewhere physically:
    // decide once the page tables have told us the block's VA.
    if ((poolPa % PAGE_SIZE) + blockBytes > PAGE_SIZE && this.opts.kernel && this.opts.reverseMap !== false) {
      if (this.deferred.length < MAX_DEFERRED) this.deferred.push(cand);
      else if (!this.capsHit.some((c) => c.cap === 'scan.deferred')) this.capsHit.push({ cap: 'scan.deferred', limit: MAX_DEFERRED });
      return;
    }
    this.reject(REJECT_OBJECT);
  }

  /** Step 3: optional info blocks lie between the pool header and the OBJECT_HEADER: try each position. */
  private findObject(cand: Candidate, view: BlockView): BlockOutcome {
    const g = this.g;
    let partlyAbsent = false;
    for (let d = g.poolHeaderSize; d <= g.poolHeaderSize + g.maxOptional + HEADER_SEARCH_SLACK; d += 8) {
      if (d + g.bodyOffset > cand.blockBytes - g.eprocessSize || d + g.bodyOffset > view.head.length) break;
      if (view.poolVa === null && view.absentPages.includes(Math.floor((cand.poolPa + d) / PAGE_SIZE))) break;
      const r = this.identifyAt(cand, view, d);
      if (r.kind !== 'skip') return r;
      partlyAbsent ||= r.partlyAbsent;
    }
    return { kind: 'none', partlyAbsent };
  }

  /** Whether an OBJECT_HEADER of a process can sit `d` bytes into the block (counts, InfoMask, TypeIndex). */
  private objectHeaderAt(view: BlockView, d: number, hPa: number, hVa: bigint | null): boolean {
    const g = this.g;
    const head = view.head;
    const opt = optionalHeaderBytes(head[d + g.infoMaskOffset]!, g.infoSizes);
    if (opt > d - g.poolHeaderSize || d - g.poolHeaderSize - opt >= MAX_HEADER_GAP) return false;
    const pointerCount = head.readBigInt64LE(d + g.pointerCountOffset);
    const handleCount = head.readBigInt64LE(d + g.handleCountOffset);
    if (pointerCount < 0n || pointerCount >= MAX_POINTER_COUNT || handleCount < 0n || handleCount >= MAX_HANDLE_COUNT) return false;
    if (this.typeIndex.kind !== 'key') return true;
    // Byte 1 of the header's VA: its low nibble is the PA's (same page offset); all of it once the VA is known.
    const implied = (head[d + g.typeIndexOffset]! ^ this.typeIndex.key) & 0xff;
    return hVa !== null ? implied === Number((hVa >> 8n) & 0xffn) : (implied & 0xf) === ((hPa >> 8) & 0xf);
  }

  /** Step 4: the EPROCESS behind a header position: checked, its VA resolved, recorded as a hit. */
  private identifyAt(cand: Candidate, view: BlockView, d: number): PositionOutcome {
    const g = this.g;
    const hPa = cand.poolPa + d;
    const hVa = view.poolVa === null ? null : view.poolVa + BigInt(d);
    if (!this.objectHeaderAt(view, d, hPa, hVa)) return SKIP;
    let bodyPa: number;
    if (hVa !== null) {
      const t = this.opts.kernel!.translate(hVa + BigInt(g.bodyOffset));
      if (!t.ok) return SKIP;
      bodyPa = t.pa;
    } else bodyPa = hPa + g.bodyOffset;
    if (this.seen.has(bodyPa)) return { kind: 'seen' };
    let resolved: { va: bigint; method: VaMethod } | null = hVa !== null ? { va: hVa + BigInt(g.bodyOffset), method: 'page-tables' } : null;
    if (resolved === null) {
      const phys = this.physicalCandidate(bodyPa, view.head[d + g.typeIndexOffset]!);
      if (phys.kind === 'implausible') return SKIP;
      if (phys.kind === 'no-va') {
        if (implausibilities(phys.info, { allowNullLinks: true, oneBadLink: true }).length > 0) return SKIP; // maybe deferred by the caller
        this.record(bodyPa, { pa: bodyPa, poolPa: cand.poolPa, tag: cand.tag, va: null, vaMethod: null, info: phys.info });
        return { kind: 'hit' };
      }
      resolved = phys.resolved;
    }
    const v = readEprocess(this.opts.kernel!, this.layout, resolved.va, this.readOpts);
    if (implausibilities(v, { allowNullLinks: true, oneBadLink: true }).length > 0) {
      // Plausible as far as it goes, but pages of it are not in the dump: say so, do not guess.
      return { kind: 'skip', partlyAbsent: implausibilities(v, { allowNullLinks: true, oneBadLink: true, lenient: true }).length === 0 };
    }
    this.record(bodyPa, { pa: bodyPa, poolPa: cand.poolPa, tag: cand.tag, va: resolved.va, vaMethod: resolved.method, info: { ...v, pa: bodyPa } });
    return { kind: 'hit' };
  }

  /**
   * An object found physically, whose later pages may not be its virtual neighbours: its first
   * page's fields judged at once, then its VA (from the list walk or its own links), checked
   * against the TypeIndex; without a VA, the whole object decoded physically.
   */
  private physicalCandidate(bodyPa: number, storedTi: number): { kind: 'implausible' } | { kind: 'va'; resolved: { va: bigint; method: VaMethod } } | { kind: 'no-va'; info: EprocessInfo } {
    const g = this.g;
    const phys = ObjectBytes.fromPhysical(this.pm, bodyPa, g.eprocessSize);
    const first = phys.clip(Math.min(g.eprocessSize, PAGE_SIZE - (bodyPa % PAGE_SIZE)));
    const headInfo = decodeEprocess(first, this.layout, { va: null, pa: bodyPa });
    if (implausibilities(headInfo, { allowNullLinks: true, oneBadLink: true, lenient: true }).length > 0) return { kind: 'implausible' };
    const va0 = this.opts.knownVaByPa?.get(bodyPa);
    const resolved = va0 !== undefined ? { va: va0, method: 'list' as const } : this.opts.kernel ? resolveVa(this.opts.kernel, headInfo, first, bodyPa, g.linksOffset) : null;
    if (resolved === null) return { kind: 'no-va', info: decodeEprocess(phys, this.layout, { va: null, pa: bodyPa }, this.readOpts) };
    if (this.typeIndex.kind === 'key' && ((storedTi ^ this.typeIndex.key) & 0xff) !== Number(((resolved.va - BigInt(g.bodyOffset)) >> 8n) & 0xffn)) return { kind: 'implausible' };
    return { kind: 'va', resolved };
  }

  private record(bodyPa: number, h: ScanHit): void {
    this.seen.add(bodyPa);
    if (this.hits.length >= this.maxHits) return;
    this.hits.push(h);
    if (this.hits.length >= this.maxHits) {
      this.capsHit.push({ cap: 'scan.hits', limit: this.maxHits });
      this.stop = true;
    }
  }

  private reject(why: string): void {
    this.rejected[why] = (this.rejected[why] ?? 0) + 1;
  }

  /** Step 5: hits still without a VA, and blocks whose later pages need their VA: ask the kernel's page tables. */
  resolveLate(): void {
    const k = this.opts.kernel;
    if (!k || this.opts.reverseMap === false || (this.deferred.length === 0 && !this.hits.some((h) => h.va === null))) return;
    const pending = this.hits.filter((h) => h.va === null);
    const vas = this.vasOf([...pending.map((h) => h.pa), ...this.deferred.map((d) => d.poolPa)], k);
    for (const h of pending) {
      const va = vas.get(h.pa);
      if (va === undefined) continue;
      const v = readEprocess(k, this.layout, va, this.readOpts);
      const info = implausibilities(v, { allowNullLinks: true, oneBadLink: true }).length === 0 ? { ...v, pa: h.pa } : h.info;
      this.hits[this.hits.indexOf(h)] = { ...h, va, vaMethod: 'page-tables', info };
    }
    for (const d of this.deferred) {
      const poolVa = vas.get(d.poolPa);
      const head = poolVa === undefined ? undefined : k.read(poolVa, Math.min(d.blockBytes, this.g.headBytes));
      const outcome: BlockOutcome = poolVa === undefined || !head ? { kind: 'none', partlyAbsent: false } : this.findObject(d, { head, absentPages: [], poolVa });
      if (outcome.kind === 'none') this.reject(outcome.partlyAbsent ? PARTLY_ABSENT : REJECT_OBJECT);
    }
  }

  /** Kernel VAs of physical addresses: pages already seen around listed objects first, then the page tables. */
  private vasOf(pas: readonly number[], k: VirtualMemory): Map<number, bigint> {
    const fromKnown = (pa: number) => {
      const pageVa = this.opts.knownPageVas?.get(Math.floor(pa / PAGE_SIZE));
      return pageVa === undefined ? undefined : pageVa + BigInt(pa % PAGE_SIZE);
    };
    const unknown = pas.filter((pa) => fromKnown(pa) === undefined);
    const found = unknown.length ? reverseMapKernel(k, unknown) : { vas: new Map<number, bigint>(), capHit: false, limit: 0 };
    for (const pa of pas) {
      const va = fromKnown(pa);
      if (va !== undefined) found.vas.set(pa, va);
    }
    if (found.capHit) this.capsHit.push({ cap: 'scan.reverse-map-entries', limit: found.limit });
    return found.vas;
  }

  /** Step 6: what the scan found. */
  result(): ScanResult {
    return {
      hits: this.hits,
      stats: { pagesScanned: this.pagesScanned, bytesScanned: this.bytesScanned, candidates: Math.min(this.candidates, this.maxCandidates), rejected: this.rejected },
      typeIndex: this.typeIndex,
      capsHit: this.capsHit,
      markerHits: this.markerHits,
    };
  }
}

/**
 * The VA of a scanned object, checked by translating it back to `pa`: from its own list links
 * (self-linked when unlinked, else a neighbour pointing back at it) or an empty list head inside it.
 */
function resolveVa(k: VirtualMemory, info: EprocessInfo, obj: ObjectBytes, pa: number, linksOff: bigint): { va: bigint; method: NonNullable<ScanHit['vaMethod']> } | null {
  const tries: [bigint | undefined, NonNullable<ScanHit['vaMethod']>][] = [];
  if (info.flink !== undefined && isKernelPointer(info.flink)) {
    if (info.flink === info.blink) tries.push([info.flink, 'self-link']);
    tries.push([k.readU64(info.flink + 8n), 'neighbour-flink']);
  }
  if (info.blink !== undefined && isKernelPointer(info.blink)) tries.push([k.readU64(info.blink), 'neighbour-blink']);
  const selfVa = emptyListHeadVa(obj, pa);
  if (selfVa !== null) tries.push([selfVa + linksOff, 'empty-list-head']);
  for (const [link, method] of tries) {
    if (link === undefined || !isKernelPointer(link)) continue;
    const cand = link - linksOff;
    const t = k.translate(cand);
    if (t.ok && t.pa === pa) return { va: cand, method };
  }
  return null;
}

/** The VA of an object from a self-referencing (empty) LIST_ENTRY inside it, when one is found. */
function emptyListHeadVa(obj: ObjectBytes, pa: number): bigint | null {
  const d = obj.data;
  for (let o = 0; o + 16 <= d.length; o += 8) {
    if (!obj.has(o, 16)) continue;
    const fl = d.readBigUInt64LE(o);
    if (fl === 0n || fl !== d.readBigUInt64LE(o + 8) || !isKernelPointer(fl)) continue;
    // An empty list head points at itself: same page offset as where it lies.
    if (Number(fl & 0xfffn) !== (pa + o) % PAGE_SIZE) continue;
    return fl - BigInt(o);
  }
  return null;
}

export const DEFAULT_REVERSE_MAP_ENTRIES = 1 << 22;

/**
 * Finds kernel VAs that map the given physical addresses by walking the kernel half of the page
 * tables one PML4 slot at a time (bounded in total leaf entries).
 */
export function reverseMapKernel(vm: VirtualMemory, pas: readonly number[], maxEntries = DEFAULT_REVERSE_MAP_ENTRIES): { vas: Map<number, bigint>; capHit: boolean; limit: number } {
  const vas = new Map<number, bigint>();
  const want = new Map<number, number[]>(); // pfn → PAs on it
  for (const pa of pas) {
    const pfn = Math.floor(pa / PAGE_SIZE);
    const l = want.get(pfn);
    if (l) l.push(pa);
    else want.set(pfn, [pa]);
  }
  let budget = maxEntries;
  let capHit = false;
  const SLOT = 1n << 39n;
  for (let i = 256; i < 512 && want.size > 0 && !capHit; i++) {
    const start = 0xffff000000000000n | (BigInt(i) * SLOT);
    const r = vm.walk(start, start + SLOT, budget);
    budget -= r.pages.length;
    if (r.truncated || budget <= 0) capHit = true;
    for (const m of r.pages) {
      const t = m.translation;
      if (!t.ok) continue;
      const frames = Math.max(1, m.pageSize / PAGE_SIZE);
      const base = Math.floor(t.pa / PAGE_SIZE);
      for (let k = 0; k < frames; k++) {
        const list = want.get(base + k);
        if (!list) continue;
        for (const pa of list) vas.set(pa, m.va + BigInt(k * PAGE_SIZE + (pa % PAGE_SIZE)));
        want.delete(base + k);
      }
    }
  }
  return { vas, capHit, limit: maxEntries };
}

/** A pass over every present page noting where each needle occurs (first `limit` PAs of each). */
export function findMarkers(pm: PhysicalMemory, needles: readonly Buffer[], limit = 16): number[][] {
  const hits: number[][] = needles.map(() => []);
  pm.forEachChunk((basePage, chunk) => {
    needles.forEach((mk, mi) => {
      for (let at = chunk.indexOf(mk); at >= 0 && hits[mi].length < limit; at = chunk.indexOf(mk, at + 1)) hits[mi].push(basePage * PAGE_SIZE + at);
    });
  });
  return hits;
}

/**
 * The TypeIndex key (ObHeaderCookie ^ Process type index) from processes whose VA is known:
 * stored ^ byte1(header VA) must agree for all of them, else undefined.
 */
export function typeIndexKeyFromKnown(vm: VirtualMemory, layout: KernelLayout, eprocessVas: readonly bigint[]): number | undefined {
  const bodyOff = BigInt(fieldOrAssumed(layout, 'OBJECT_HEADER.Body').offset);
  const tiOff = BigInt(fieldOrAssumed(layout, 'OBJECT_HEADER.TypeIndex').offset);
  const counts = new Map<number, number>();
  for (const va of eprocessVas.slice(0, 256)) {
    const h = va - bodyOff;
    const b = vm.read(h + tiOff, 1);
    if (!b) continue;
    const key = b[0] ^ Number((h >> 8n) & 0xffn);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  let best: number | undefined;
  let bestN = 0;
  let total = 0;
  for (const [k, n] of counts) {
    total += n;
    if (n > bestN) [best, bestN] = [k, n];
  }
  // A clear majority, not a tie between garbage values.
  return best !== undefined && bestN * 2 > total ? best : undefined;
}

/** ObTypeIndexTable: a byte-indexed table of OBJECT_TYPE pointers; entries 0 and 1 are reserved (null, 0xbad0b0b0). */
const TYPE_TABLE_ENTRIES = 256;
const FIRST_TYPE_INDEX = 2;
const PROCESS_TYPE_NAME = Buffer.from('Process', 'utf16le');

/**
 * The TypeIndex key from the kernel itself: ObHeaderCookie (a byte) and the index of the type named
 * "Process" in ObTypeIndexTable. Undefined when either cannot be read.
 */
export function typeIndexKeyFromCookie(vm: VirtualMemory, layout: KernelLayout, kernelBase: bigint): { key: number; cookie: number; processIndex: number } | undefined {
  const cookieRva = layout.symbols.ObHeaderCookie;
  const tableRva = layout.symbols.ObTypeIndexTable;
  const nameP = layout.fields['OBJECT_TYPE.Name'];
  const lenP = layout.fields['UNICODE_STRING.Length'];
  const bufP = layout.fields['UNICODE_STRING.Buffer'];
  if (cookieRva === undefined || tableRva === undefined || !nameP || !lenP || !bufP) return undefined;
  const cookie = vm.read(kernelBase + BigInt(cookieRva), 1)?.[0];
  if (cookie === undefined) return undefined;
  const table = vm.read(kernelBase + BigInt(tableRva), TYPE_TABLE_ENTRIES * 8);
  if (!table) return undefined;
  for (let i = FIRST_TYPE_INDEX; i < TYPE_TABLE_ENTRIES; i++) {
    const t = table.readBigUInt64LE(i * 8);
    if (t === 0n) break;
    if (!isKernelPointer(t)) continue;
    const name = vm.read(t + BigInt(nameP.offset), Math.max(lenP.offset + 2, bufP.offset + 8));
    if (!name) continue;
    const len = name.readUInt16LE(lenP.offset);
    const buf = name.readBigUInt64LE(bufP.offset);
    if (len !== PROCESS_TYPE_NAME.length || !isKernelPointer(buf & ~7n)) continue;
    const text = vm.read(buf, PROCESS_TYPE_NAME.length);
    if (text && text.equals(PROCESS_TYPE_NAME)) return { key: cookie ^ i, cookie, processIndex: i };
  }
  return undefined;
}
