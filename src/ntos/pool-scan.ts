// Pool scan for process objects: every present physical page is searched for POOL_HEADERs tagged
// 'Proc' (or 'Pro\xe3', the protected-tag form); each hit must then pass the POOL_HEADER,
// OBJECT_HEADER and EPROCESS checks before it counts as a process. A tag alone is never enough:
// dumps hold decoy strings, freed blocks and attacker-made look-alikes.
import type { PhysicalMemory, VirtualMemory } from '../dump/types.ts';
import { PAGE_SIZE } from '../dump/types.ts';
import type { KernelLayout } from './layout.ts';
import { decodeEprocess, eprocessSize, implausibilities, isKernelPointer, ObjectBytes, readEprocess, type EprocessInfo, type ReadProcessOptions } from './process.ts';

/** Bytes of optional OBJECT_HEADER_* info blocks selected by InfoMask bits 0..7 (x64, Windows 10+). */
const INFO_SIZES = [0x20, 0x20, 0x10, 0x20, 0x10, 0x10, 0x10, 0x04];
const MAX_OPTIONAL = INFO_SIZES.reduce((a, b) => a + b, 0);

export function optionalHeaderBytes(infoMask: number): number {
  let n = 0;
  for (let i = 0; i < 8; i++) if (infoMask & (1 << i)) n += INFO_SIZES[i];
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

export interface ScanHit {
  /** Physical address of the EPROCESS body. */
  readonly pa: number;
  /** Physical address of its POOL_HEADER. */
  readonly poolPa: number;
  readonly tag: string;
  /** Kernel VA of the body when it could be established (and checked by translating back). */
  readonly va: bigint | null;
  readonly vaMethod: 'list' | 'neighbour-flink' | 'neighbour-blink' | 'self-link' | 'empty-list-head' | 'page-tables' | null;
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
}

export const DEFAULT_MAX_HITS = 65536;
export const DEFAULT_MAX_CANDIDATES = 4_000_000;
/** Rejection reason for objects that look like processes as far as the dump holds them. */
export const PARTLY_ABSENT = 'object partly absent from the dump';
/** Pool blocks crossing a page that wait for the page-table lookup. */
const MAX_DEFERRED = 65536;

const PRO = Buffer.from('Pro', 'latin1');

export function scanProcesses(pm: PhysicalMemory, layout: KernelLayout, opts: ScanOptions = {}): ScanResult {
  const maxHits = opts.maxHits ?? DEFAULT_MAX_HITS;
  const maxCandidates = opts.maxCandidates ?? DEFAULT_MAX_CANDIDATES;
  const typeIndex: TypeIndexCheck = opts.typeIndex ?? { kind: 'unchecked', reason: 'no ObHeaderCookie and no listed process to derive the key from' };
  const size = eprocessSize(layout);
  const ohSize = layout.sizes._OBJECT_HEADER ? Math.min(layout.sizes._OBJECT_HEADER, layout.fields['OBJECT_HEADER.Body']?.offset ?? 0x30) : 0x30;
  const bodyOff = layout.fields['OBJECT_HEADER.Body']?.offset ?? 0x30;
  const tiOff = layout.fields['OBJECT_HEADER.TypeIndex']?.offset ?? 0x18;
  const imOff = layout.fields['OBJECT_HEADER.InfoMask']?.offset ?? 0x1a;
  const bsP = layout.fields['POOL_HEADER.BlockSize'] ?? { offset: 2, size: 2, bitPosition: 0, bitLength: 8 };
  const linksOff = BigInt(layout.fields['EPROCESS.ActiveProcessLinks']?.offset ?? 0);
  const readOpts: ReadProcessOptions = { kernel: opts.kernel, vmForDtb: opts.vmForDtb };

  const hits: ScanHit[] = [];
  const seen = new Set<number>();
  const deferred: { poolPa: number; blockBytes: number; tag: string }[] = [];
  const rejected: Record<string, number> = {};
  const reject = (why: string) => (rejected[why] = (rejected[why] ?? 0) + 1);
  const capsHit: { cap: string; limit: number }[] = [];
  let candidates = 0;
  let pagesScanned = 0;
  let bytesScanned = 0;
  let stop = false;

  const examine = (chunk: Buffer, chunkPa: number, tagOff: number) => {
    const poolPa = chunkPa + tagOff - 4;
    const hdr = chunk.subarray(tagOff - 4, tagOff + 12);
    const tag = hdr[7] === 0x63 ? 'Proc' : 'Pro\\xe3';
    const raw16 = hdr.readUInt16LE(bsP.offset);
    const blockBytes = ((raw16 >> (bsP.bitPosition ?? 0)) & ((1 << (bsP.bitLength ?? 8)) - 1)) * 16;
    // The block must hold a pool header, an object header and a whole EPROCESS, with bounded slack.
    if (blockBytes < 16 + ohSize + size || blockBytes > 16 + MAX_OPTIONAL + 0x40 + bodyOff + size + 0x100) return reject('pool block size');
    const headLen = Math.min(blockBytes, 16 + MAX_OPTIONAL + 0x40 + bodyOff);
    const block = pm.read(poolPa, headLen);
    if (examineBlock(block.data, block.absentPages, poolPa, null, blockBytes, tag)) return;
    // The block continues past its first page, whose virtual neighbour may be elsewhere physically:
    // decide once the page tables have told us the block's VA.
    if ((poolPa % PAGE_SIZE) + blockBytes > PAGE_SIZE && opts.kernel && opts.reverseMap !== false) {
      if (deferred.length < MAX_DEFERRED) deferred.push({ poolPa, blockBytes, tag });
      else if (!capsHit.some((c) => c.cap === 'scan.deferred')) capsHit.push({ cap: 'scan.deferred', limit: MAX_DEFERRED });
      return;
    }
    reject('object/EPROCESS checks');
  };

  /**
   * Looks for an OBJECT_HEADER + EPROCESS in a pool block. `head` holds the block's first bytes,
   * read physically (poolVa null: pages assumed contiguous) or virtually (poolVa known).
   */
  const examineBlock = (head: Buffer, absentPages: readonly number[], poolPa: number, poolVa: bigint | null, blockBytes: number, tag: string): boolean => {
    partlyAbsent = false;
    // Optional info blocks lie between the pool header and the OBJECT_HEADER: try each position.
    for (let d = 16; d <= 16 + MAX_OPTIONAL + 0x30; d += 8) {
      if (d + bodyOff > blockBytes - size || d + bodyOff > head.length) break;
      const hPa = poolPa + d;
      if (poolVa === null && absentPages.includes(Math.floor(hPa / PAGE_SIZE))) break;
      const infoMask = head[d + imOff];
      const opt = optionalHeaderBytes(infoMask);
      if (opt > d - 16 || d - 16 - opt >= 0x40) continue;
      const pointerCount = head.readBigInt64LE(d);
      const handleCount = head.readBigInt64LE(d + 8);
      if (pointerCount < 0n || pointerCount >= 1n << 48n || handleCount < 0n || handleCount >= 1n << 32n) continue;
      const storedTi = head[d + tiOff];
      // Byte 1 of the header's VA: its low nibble is the PA's (same page offset); all of it once the VA is known.
      const hVa = poolVa === null ? null : poolVa + BigInt(d);
      if (typeIndex.kind === 'key') {
        const implied = (storedTi ^ typeIndex.key) & 0xff;
        if (hVa !== null ? implied !== Number((hVa >> 8n) & 0xffn) : (implied & 0xf) !== ((hPa >> 8) & 0xf)) continue;
      }
      let bodyPa: number;
      if (hVa !== null) {
        const t = opts.kernel!.translate(hVa + BigInt(bodyOff));
        if (!t.ok) continue;
        bodyPa = t.pa;
      } else bodyPa = hPa + bodyOff;
      if (seen.has(bodyPa)) return true;
      let resolved: { va: bigint; method: NonNullable<ScanHit['vaMethod']> } | null = hVa !== null ? { va: hVa + BigInt(bodyOff), method: 'page-tables' } : null;
      let info: EprocessInfo;
      if (resolved === null) {
        // Physically the object may continue on a page that is not its virtual neighbour: judge the
        // first page's fields at once, the rest through the page tables once the VA is known.
        const phys = ObjectBytes.fromPhysical(pm, bodyPa, size);
        const firstLen = Math.min(size, PAGE_SIZE - (bodyPa % PAGE_SIZE));
        const first = phys.clip(firstLen);
        const headInfo = decodeEprocess(first, layout, { va: null, pa: bodyPa });
        if (implausibilities(headInfo, { allowNullLinks: true, oneBadLink: true, lenient: true }).length > 0) continue;
        const va0 = opts.knownVaByPa?.get(bodyPa);
        resolved = va0 !== undefined ? { va: va0, method: 'list' } : opts.kernel ? resolveVa(opts.kernel, headInfo, first, bodyPa, linksOff) : null;
        if (resolved && typeIndex.kind === 'key' && ((storedTi ^ typeIndex.key) & 0xff) !== Number(((resolved.va - BigInt(bodyOff)) >> 8n) & 0xffn)) continue;
        if (!resolved) {
          info = decodeEprocess(phys, layout, { va: null, pa: bodyPa }, readOpts);
          if (implausibilities(info, { allowNullLinks: true, oneBadLink: true }).length > 0) continue; // maybe deferred by the caller
          seen.add(bodyPa);
          addHit({ pa: bodyPa, poolPa, tag, va: null, vaMethod: null, info });
          return true;
        }
      }
      const v = readEprocess(opts.kernel!, layout, resolved.va, readOpts);
      if (implausibilities(v, { allowNullLinks: true, oneBadLink: true }).length > 0) {
        // Plausible as far as it goes, but pages of it are not in the dump: say so, do not guess.
        if (implausibilities(v, { allowNullLinks: true, oneBadLink: true, lenient: true }).length === 0) partlyAbsent = true;
        continue;
      }
      info = { ...v, pa: bodyPa };
      seen.add(bodyPa);
      addHit({ pa: bodyPa, poolPa, tag, va: resolved.va, vaMethod: resolved.method, info });
      return true;
    }
    return false;
  };

  let partlyAbsent = false;
  const addHit = (h: ScanHit) => {
    if (hits.length >= maxHits) return;
    hits.push(h);
    if (hits.length >= maxHits) {
      capsHit.push({ cap: 'scan.hits', limit: maxHits });
      stop = true;
    }
  };

  const markers = opts.markers ?? [];
  const markerHits: number[][] = markers.map(() => []);
  const total = pm.presentPages;
  pm.forEachChunk((basePage, chunk) => {
    if (stop) return;
    const chunkPa = basePage * PAGE_SIZE;
    markers.forEach((mk, mi) => {
      for (let at = chunk.indexOf(mk); at >= 0 && markerHits[mi].length < 16; at = chunk.indexOf(mk, at + 1)) markerHits[mi].push(chunkPa + at);
    });
    let pos = 4;
    while (!stop) {
      const i = chunk.indexOf(PRO, pos);
      if (i < 0) break;
      pos = i + 1;
      if ((i & 15) !== 4 || i + 12 > chunk.length) continue;
      const c = chunk[i + 3];
      if (c !== 0x63 && c !== 0xe3) continue;
      if (++candidates > maxCandidates) {
        capsHit.push({ cap: 'scan.candidates', limit: maxCandidates });
        stop = true;
        break;
      }
      examine(chunk, chunkPa, i);
    }
    pagesScanned += chunk.length / PAGE_SIZE;
    bytesScanned += chunk.length;
    opts.onProgress?.(pagesScanned, total);
  }, opts.chunkBytes);

  // Hits still without a VA, and objects whose later pages need their VA: ask the kernel's page tables.
  if (opts.kernel && opts.reverseMap !== false && (deferred.length > 0 || hits.some((h) => h.va === null))) {
    const k = opts.kernel;
    const pending = hits.filter((h) => h.va === null);
    // Pages already seen around listed objects answer most of these without walking the page tables.
    const fromKnown = (pa: number) => {
      const pageVa = opts.knownPageVas?.get(Math.floor(pa / PAGE_SIZE));
      return pageVa === undefined ? undefined : pageVa + BigInt(pa % PAGE_SIZE);
    };
    const unknown = [...pending.map((h) => h.pa), ...deferred.map((d) => d.poolPa)].filter((pa) => fromKnown(pa) === undefined);
    const found = unknown.length ? reverseMapKernel(k, unknown) : { vas: new Map<number, bigint>(), capHit: false, limit: 0 };
    for (const pa of [...pending.map((h) => h.pa), ...deferred.map((d) => d.poolPa)]) {
      const va = fromKnown(pa);
      if (va !== undefined) found.vas.set(pa, va);
    }
    if (found.capHit) capsHit.push({ cap: 'scan.reverse-map-entries', limit: found.limit });
    for (const h of pending) {
      const va = found.vas.get(h.pa);
      if (va === undefined) continue;
      const v = readEprocess(k, layout, va, readOpts);
      const info = implausibilities(v, { allowNullLinks: true, oneBadLink: true }).length === 0 ? { ...v, pa: h.pa } : h.info;
      hits[hits.indexOf(h)] = { ...h, va, vaMethod: 'page-tables', info };
    }
    for (const d of deferred) {
      const poolVa = found.vas.get(d.poolPa);
      const head = poolVa === undefined ? undefined : k.read(poolVa, Math.min(d.blockBytes, 16 + MAX_OPTIONAL + 0x40 + bodyOff));
      if (poolVa === undefined || !head || !examineBlock(head, [], d.poolPa, poolVa, d.blockBytes, d.tag)) reject(partlyAbsent ? PARTLY_ABSENT : 'object/EPROCESS checks');
    }
  }
  return { hits, stats: { pagesScanned, bytesScanned, candidates: Math.min(candidates, maxCandidates), rejected }, typeIndex, capsHit, markerHits };
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
  const bodyOff = BigInt(layout.fields['OBJECT_HEADER.Body']?.offset ?? 0x30);
  const tiOff = BigInt(layout.fields['OBJECT_HEADER.TypeIndex']?.offset ?? 0x18);
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

/**
 * The TypeIndex key from the kernel itself: ObHeaderCookie (a byte) and the index of the type named
 * "Process" in ObTypeIndexTable. Undefined when either cannot be read.
 */
export function typeIndexKeyFromCookie(vm: VirtualMemory, layout: KernelLayout, kernelBase: bigint): { key: number; cookie: number; processIndex: number } | undefined {
  const cookieRva = layout.symbols.ObHeaderCookie;
  const tableRva = layout.symbols.ObTypeIndexTable;
  const nameP = layout.fields['OBJECT_TYPE.Name'];
  if (cookieRva === undefined || tableRva === undefined || !nameP) return undefined;
  const cookie = vm.read(kernelBase + BigInt(cookieRva), 1)?.[0];
  if (cookie === undefined) return undefined;
  const table = vm.read(kernelBase + BigInt(tableRva), 256 * 8);
  if (!table) return undefined;
  for (let i = 2; i < 256; i++) {
    const t = table.readBigUInt64LE(i * 8);
    if (t === 0n) break;
    if (!isKernelPointer(t)) continue;
    const hdr = vm.read(t + BigInt(nameP.offset), 16);
    if (!hdr) continue;
    const len = hdr.readUInt16LE(0);
    const buf = hdr.readBigUInt64LE(8);
    if (len !== 14 || !isKernelPointer(buf & ~7n)) continue;
    const name = vm.read(buf, 14);
    if (name && name.toString('utf16le') === 'Process') return { key: cookie ^ i, cookie, processIndex: i };
  }
  return undefined;
}
