// Offsets for a kernel no symbol source knows, derived from the dump itself. Only the few the
// process list needs: EPROCESS.UniqueProcessId, ActiveProcessLinks, ImageFileName,
// InheritedFromUniqueProcessId, CreateTime, Protection, KPROCESS.DirectoryTableBase, and the secure-process marker only
// when the data confirms it. Every value found this way is marked inferred (KernelLayout.inferred,
// source kind 'inferred'); a field we cannot confirm is left out and named in `refused`.
//
// Anchors, each checked rather than assumed:
//   - System is the first entry of PsActiveProcessHead (from the crash header, or for a raw image
//     found by its name "System" in physical memory with links whose neighbours point back at it);
//   - its KPROCESS starts with a DISPATCHER_HEADER of Type 3 (ProcessObject), and holds a
//     page-aligned DirectoryTableBase that translates the kernel image as the dump's DTB does;
//   - UniqueProcessId = 4 sits in System's EPROCESS; ImageFileName "System";
//   - the second entry's name is "Registry", "smss.exe", "Secure System" or "MemCompression";
//   - the whole list walks back to PsActiveProcessHead with plausible PIDs and names.
import { PAGE_SIZE, type VirtualMemory } from '../dump/types.ts';
import { X64VirtualMemory } from '../dump/x64.ts';
import type { KernelDiscovery } from './kernel.ts';
import { ASSUMED_FIELDS, type FieldPlace, type KernelLayout, type LayoutFieldKey } from './layout.ts';
import { IMAGE_FILE_NAME_BYTES, imageFileNameBytes, knownTrustlet, SECOND_LIST_ENTRIES, SECURE_SYSTEM, SYSTEM_PROCESS } from './process-names.ts';
import { CANONICAL_KERNEL_MIN, filetimeSane, hex } from '../dump/numbers.ts';
import { inferProtection } from './infer-protection.ts';

/** OBJECT_HEADER places before any layout is known: the assumed x64 ones (layout.ts ASSUMED_FIELDS). */
const OH_BODY = ASSUMED_FIELDS['OBJECT_HEADER.Body'].offset;
const OH_POINTER_COUNT = ASSUMED_FIELDS['OBJECT_HEADER.PointerCount'].offset;
const OH_HANDLE_COUNT = ASSUMED_FIELDS['OBJECT_HEADER.HandleCount'].offset;

export const INFER_LIMITS = {
  /** Processes walked to confirm the offsets. */
  maxProcesses: 4096,
  /** "System" strings examined when a raw image gives no list head. */
  maxNameHits: 512,
  /** Physical pages scanned for them. */
  maxScanPages: 1 << 22,
  /** Largest EPROCESS we consider (the biggest table kernel's is 0xbc0). */
  maxEprocess: 0x1000,
} as const;


export interface InferredProcess {
  readonly eprocess: bigint;
  readonly pid: number;
  readonly name: string;
}

export interface Inference {
  /** Undefined when the offsets could not be derived (see `failure`). */
  readonly layout?: KernelLayout;
  readonly psActiveProcessHead?: bigint;
  readonly systemEprocess?: bigint;
  /** The list walked with the inferred offsets (bounded). */
  readonly processes: readonly InferredProcess[];
  readonly evidence: readonly string[];
  /** Fields deliberately not guessed, each with why (the secure-process marker above all). */
  readonly refused: readonly string[];
  readonly failure?: string;
}

/** System's ImageFileName field as stored: the anchor of both the offset search and the raw-image scan. */
const SYSTEM_NAME = imageFileNameBytes(SYSTEM_PROCESS);
const isKernelVa = (v: bigint | undefined): v is bigint => v !== undefined && v >= CANONICAL_KERNEL_MIN;

function cString(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.subarray(0, nul < 0 ? b.length : nul).toString('latin1');
}

function printableName(s: string): boolean {
  return s.length > 0 && /^[\x20-\x7e]+$/.test(s);
}

/** Derives the layout from the dump's data. Never throws for bad data: returns `failure`. */
export function inferLayout(k: KernelDiscovery): Inference {
  const evidence: string[] = [];
  const refused: string[] = [];
  const fail = (failure: string): Inference => ({ processes: [], evidence, refused, failure });
  const vm = k.vm;
  if (!vm) return fail('no memory to infer from (a triage dump holds no physical memory)');
  if (k.kernelBase === undefined) return fail('kernel base unknown, so no DTB can be checked against it');
  const kernelPa = vm.translate(k.kernelBase);
  if (!kernelPa.ok) return fail(`the kernel base ${hex(k.kernelBase)} does not translate with the DTB`);

  // 1. System's ActiveProcessLinks address and the list head.
  let head = k.psActiveProcessHead;
  let sysLinks: bigint | undefined;
  if (head !== undefined) {
    sysLinks = vm.readU64(head);
    if (!isKernelVa(sysLinks)) return fail(`PsActiveProcessHead ${hex(head)}'s Flink is ${sysLinks === undefined ? 'unreadable' : hex(sysLinks)}`);
    evidence.push(`list head ${hex(head)} from the dump; its first entry ${hex(sysLinks)} is taken as System's ActiveProcessLinks`);
  } else {
    const found = findSystemLinks(vm, k);
    if (!found) return fail('no "System" process with consistent list links found in physical memory, and the dump names no PsActiveProcessHead');
    ({ head, links: sysLinks } = found);
    evidence.push(`"System" found at physical ${hex(found.namePa)}; its links ${hex(sysLinks)} are pointed back at by both neighbours; list head ${hex(head)} (its Blink) lies in the kernel image`);
  }
  if (vm.readU64(sysLinks + 8n) !== head) return fail(`System's Blink is not the list head ${hex(head)}`);

  // 2. The EPROCESS start: DISPATCHER_HEADER Type 3 followed (within 0x100) by a DTB that maps the kernel.
  const window = vm.read(sysLinks - BigInt(INFER_LIMITS.maxEprocess - 0x10), INFER_LIMITS.maxEprocess - 0x10 + 16);
  if (!window) return fail(`System's EPROCESS around ${hex(sysLinks)} is not readable`);
  const winBase = sysLinks - BigInt(INFER_LIMITS.maxEprocess - 0x10);
  const linksInWin = Number(sysLinks - winBase);
  const dtbOk = new Map<bigint, boolean>();
  const dtbMapsKernel = (v: bigint): boolean => {
    if (v === 0n || (v & 0xfffn) !== 0n || v >= BigInt(vm.physical.pageLimit) * BigInt(PAGE_SIZE)) return false;
    if (!dtbOk.has(v)) {
      const t = new X64VirtualMemory(vm.physical, v).translate(k.kernelBase!);
      dtbOk.set(v, t.ok && t.pa === kernelPa.pa);
    }
    return dtbOk.get(v)!;
  };
  type Cand = { start: number; dtbOff: number; score: number; why: string[] };
  const cands: Cand[] = [];
  for (let start = linksInWin - 0x80; start >= 0; start -= 8) {
    if (window[start] !== 3) continue; // DISPATCHER_HEADER.Type = ProcessObject
    for (let d = 0x18; d <= 0x100 && start + d + 8 <= linksInWin; d += 8) {
      if (!dtbMapsKernel(window.readBigUInt64LE(start + d))) continue;
      const va = winBase + BigInt(start);
      const why: string[] = [];
      let score = 0;
      // An empty wait list points at itself (KeInitializeProcess); synthetic dumps may leave it zero.
      if (window.readBigUInt64LE(start + 8) === va + 8n && window.readBigUInt64LE(start + 16) === va + 8n) {
        score += 2;
        why.push('empty WaitListHead points at itself');
      }
      // The OBJECT_HEADER ends where the body starts: its counts at the assumed x64 places (layout.ts).
      const header = start - OH_BODY;
      if (header >= 0) {
        const ptrCount = window.readBigInt64LE(header + OH_POINTER_COUNT);
        const handleCount = window.readBigInt64LE(header + OH_HANDLE_COUNT);
        if (ptrCount > 0n && ptrCount < 1n << 32n && handleCount >= 0n && handleCount < 1n << 32n) {
          score += 1;
          why.push('OBJECT_HEADER counts before it are plausible');
        }
      }
      const tagAt = window.subarray(Math.max(0, start - 0x100), start).indexOf(Buffer.from('Pro', 'latin1'));
      if (tagAt >= 0) {
        score += 1;
        why.push('pool tag Proc before it');
      }
      cands.push({ start, dtbOff: d, score, why });
    }
  }
  if (cands.length === 0) return fail('no DISPATCHER_HEADER (Type 3) with a kernel-mapping DirectoryTableBase before System\'s links');
  cands.sort((a, b) => b.score - a.score || a.dtbOff - b.dtbOff);
  if (cands.length > 1 && cands[0].score === cands[1].score) {
    return fail(`ambiguous EPROCESS start: ${cands.filter((c) => c.score === cands[0].score).length} candidates fit equally (e.g. DTB offsets ${cands.slice(0, 2).map((c) => hex(c.dtbOff)).join(', ')})`);
  }
  const best = cands[0];
  const sysEp = winBase + BigInt(best.start);
  const ep = window.subarray(best.start);
  const oLinks = linksInWin - best.start;
  evidence.push(
    `System EPROCESS at ${hex(sysEp)}: DISPATCHER_HEADER Type 3, DirectoryTableBase at +${hex(best.dtbOff)} translates the kernel like the dump's DTB${best.why.length ? '; ' + best.why.join('; ') : ''}`,
  );

  // 3. UniqueProcessId = 4: the u64 just before the links on every known build; else a unique 4.
  let oPid: number | undefined;
  if (ep.readBigUInt64LE(oLinks - 8) === 4n) oPid = oLinks - 8;
  else {
    const fours: number[] = [];
    for (let o = 0x80; o + 8 <= oLinks; o += 8) if (ep.readBigUInt64LE(o) === 4n) fours.push(o);
    if (fours.length === 1) oPid = fours[0];
    else return fail(`UniqueProcessId: ${fours.length} places hold 4 in System's EPROCESS`);
  }

  // 4. ImageFileName "System" (15 bytes) after the links.
  const full = vm.read(sysEp, INFER_LIMITS.maxEprocess);
  if (!full) return fail(`System's EPROCESS ${hex(sysEp)} (+${hex(INFER_LIMITS.maxEprocess)}) is not readable`);
  const names: number[] = [];
  for (let o = oLinks + 16; o + IMAGE_FILE_NAME_BYTES <= full.length; o += 8) {
    if (full.subarray(o, o + IMAGE_FILE_NAME_BYTES).equals(SYSTEM_NAME)) names.push(o);
  }
  if (names.length !== 1) return fail(`ImageFileName: ${names.length} places in System's EPROCESS hold "System"`);
  const oName = names[0];

  // 5. The second entry must be one of the processes Windows starts right after System.
  const second = vm.readU64(sysLinks);
  if (!isKernelVa(second) || second === head) return fail('System is the only entry of the process list');
  const secondName = cString(vm.read(second - BigInt(oLinks) + BigInt(oName), 15) ?? Buffer.alloc(0));
  if (!SECOND_LIST_ENTRIES.has(secondName)) return fail(`the second list entry is named ${JSON.stringify(secondName)}, not one of ${[...SECOND_LIST_ENTRIES].join(', ')}`);
  evidence.push(`offsets: UniqueProcessId +${hex(oPid)}, ActiveProcessLinks +${hex(oLinks)}, ImageFileName +${hex(oName)}; second entry "${secondName}"`);

  // 6. Walk the list with these offsets.
  const procs: { ep: bigint; pid: number; name: string; bytes: Buffer }[] = [];
  const seen = new Set<bigint>();
  let cur = sysLinks;
  let prev = head;
  let closed = false;
  let bad = 0;
  while (procs.length < INFER_LIMITS.maxProcesses) {
    if (cur === head) {
      closed = true;
      break;
    }
    if (!isKernelVa(cur) || seen.has(cur)) break;
    seen.add(cur);
    const e = cur - BigInt(oLinks);
    const bytes = vm.read(e, Math.min(INFER_LIMITS.maxEprocess, oName + 16));
    if (!bytes) break;
    if (bytes.readBigUInt64LE(oLinks + 8) !== prev) bad++;
    const pid = bytes.readBigUInt64LE(oPid);
    const name = cString(bytes.subarray(oName, oName + 15));
    if (pid % 4n !== 0n || pid > 0xffffffffn || !printableName(name)) bad++;
    procs.push({ ep: e, pid: Number(pid & 0xffffffffn), name, bytes });
    prev = cur;
    cur = bytes.readBigUInt64LE(oLinks);
  }
  if (bad > Math.max(1, procs.length / 10)) return fail(`${bad} of ${procs.length} list entries are implausible with the inferred offsets`);
  evidence.push(`the list walks ${closed ? 'back to PsActiveProcessHead' : 'but does not close'} over ${procs.length} processes (${bad} implausible)`);

  const fields: Partial<Record<LayoutFieldKey, FieldPlace>> = {
    'EPROCESS.UniqueProcessId': { offset: oPid, size: 8 },
    'EPROCESS.ActiveProcessLinks': { offset: oLinks, size: 16 },
    'EPROCESS.ImageFileName': { offset: oName, size: 15 },
    'KPROCESS.DirectoryTableBase': { offset: best.dtbOff, size: 8 },
    // x64 LIST_ENTRY: Flink then Blink (the walk above just used them).
    'LIST_ENTRY.Flink': { offset: 0, size: 8 },
    'LIST_ENTRY.Blink': { offset: 8, size: 8 },
  };

  // 7. Every other process's DTB must be a page-aligned root that maps the kernel.
  const dtbBad = procs.filter((p) => !dtbMapsKernel(p.bytes.readBigUInt64LE(best.dtbOff) & ~0xfffn)).length;
  if (dtbBad > 0) evidence.push(`${dtbBad} process(es) have a DirectoryTableBase that does not map the kernel (exited or damaged)`);

  // 8. InheritedFromUniqueProcessId: 0 for System, 4 for the second, other PIDs for the rest.
  const pids = new Set(procs.map((p) => p.pid));
  const ppidCands: number[] = [];
  for (let o = oLinks + 16; o + 8 <= oName; o += 8) {
    if (procs[0].bytes.readBigUInt64LE(o) !== 0n || procs[1]?.bytes.readBigUInt64LE(o) !== 4n) continue;
    const rest = procs.slice(2).map((p) => p.bytes.readBigUInt64LE(o));
    if (rest.some((v) => v % 4n !== 0n || v > 0xffffffffn)) continue;
    const known = rest.filter((v) => pids.has(Number(v))).length;
    if (rest.length >= 2 && known < rest.length * 0.6) continue;
    ppidCands.push(o);
  }
  if (ppidCands.length === 1) {
    fields['EPROCESS.InheritedFromUniqueProcessId'] = { offset: ppidCands[0], size: 8 };
    evidence.push(`InheritedFromUniqueProcessId +${hex(ppidCands[0])}: 0 for System, 4 for "${secondName}", a listed PID for most others`);
  } else refused.push(`parent PID: ${ppidCands.length === 0 ? 'no offset' : `${ppidCands.length} offsets`} fit (0 for System, 4 for the second process, PIDs for the rest): not reported`);

  // 9. CreateTime: the one offset holding a plausible FILETIME for every listed process, in list
  //    (creation) order — System first, as early as any. Anything less than one unique fit: not reported.
  const ct = inferCreateTime(procs, oName);
  if (ct.offset !== undefined) {
    fields['EPROCESS.CreateTime'] = { offset: ct.offset, size: 8 };
    evidence.push(ct.reason);
  } else refused.push(ct.reason);

  // 10. The secure-process marker, only when confirmed by the processes that must (not) have it.
  const marker = inferSecureMarker(procs, oPid, k.build);
  if (marker.field) {
    fields[marker.field.key] = { offset: marker.field.offset, size: 8 };
    evidence.push(marker.reason);
  } else refused.push(marker.reason);
  // 11. Protection: the one byte whose values are the signers Windows gives System, smss, csrss, wininit, services, lsass.
  const prot = inferProtection(vm, procs, oName, INFER_LIMITS.maxEprocess);
  if (prot.offset !== undefined) {
    fields['EPROCESS.Protection'] = { offset: prot.offset, size: 1 };
    evidence.push(prot.reason);
  } else refused.push(prot.reason);
  refused.push('ExitTime, Peb, Session, VadRoot and sizeof(_EPROCESS) are not inferred: those columns stay empty and the pool scan cannot size process objects');

  const inferredKeys = Object.keys(fields) as LayoutFieldKey[];
  const layout: KernelLayout = {
    pdb: k.pdb,
    build: k.build,
    source: { kind: 'inferred', method: k.psActiveProcessHead !== undefined ? 'process list from the dump\'s PsActiveProcessHead' : 'System found in physical memory' },
    fields,
    sizes: {},
    symbols: {},
    inferred: inferredKeys,
  };
  return {
    layout,
    psActiveProcessHead: head,
    systemEprocess: sysEp,
    processes: procs.map((p) => ({ eprocess: p.ep, pid: p.pid, name: p.name })),
    evidence,
    refused,
  };
}

/** List order may invert processes created at the same moment on two processors: this many inversions are tolerated. */
const MAX_CREATE_ORDER_INVERSIONS = (n: number) => 1 + Math.floor(n / 50);
/** Fewest processes (and distinct times) for a CreateTime offset to be believed. */
const MIN_CREATE_TIME_PROCESSES = 4;

/**
 * EPROCESS.CreateTime: an 8-aligned offset before ImageFileName whose value is a sane FILETIME
 * (1990..2200) for every listed process, never earlier than System's, in list order (processes are
 * appended when created) up to a few inversions, with several distinct values. Exactly one offset
 * must fit; otherwise nothing is reported.
 */
function inferCreateTime(procs: readonly { bytes: Buffer }[], oName: number): { offset?: number; reason: string } {
  if (procs.length < MIN_CREATE_TIME_PROCESSES) return { reason: `CreateTime: ${procs.length} listed processes are too few to tell a time from chance` };
  const fits: number[] = [];
  for (let o = 0; o + 8 <= oName; o += 8) {
    const v = procs.map((p) => (o + 8 <= p.bytes.length ? p.bytes.readBigUInt64LE(o) : 0n));
    if (!v.every(filetimeSane)) continue;
    if (v.some((x) => x < v[0]!)) continue;
    let inversions = 0;
    for (let i = 1; i < v.length; i++) if (v[i]! < v[i - 1]!) inversions++;
    if (inversions > MAX_CREATE_ORDER_INVERSIONS(v.length)) continue;
    if (new Set(v).size < MIN_CREATE_TIME_PROCESSES) continue;
    fits.push(o);
  }
  if (fits.length === 1) return { offset: fits[0], reason: `CreateTime +${hex(fits[0]!)}: the only offset holding a plausible FILETIME for all ${procs.length} listed processes, in list order, none before System's` };
  return { reason: `CreateTime: ${fits.length === 0 ? 'no offset' : `${fits.length} offsets`} hold plausible FILETIMEs in list order for every process: not reported` };
}

/**
 * A KPROCESS offset that is non-zero for "Secure System" (and, 17763+, has bit 0 SecureProcess set),
 * zero for System and every process that carries no trustlet name, and unique in the KPROCESS
 * range. Trustlet-named processes are not required to have it: an impostor must stay detectable.
 */
function inferSecureMarker(
  procs: { pid: number; name: string; bytes: Buffer }[],
  oPid: number,
  build: number | undefined,
): { field?: { key: 'KPROCESS.SecureState' | 'KPROCESS.SecurePid'; offset: number }; reason: string } {
  const key = build !== undefined && build < 17763 ? ('KPROCESS.SecurePid' as const) : ('KPROCESS.SecureState' as const);
  const secureSystem = procs.filter((p) => p.name === SECURE_SYSTEM);
  const trustlets = procs.filter((p) => knownTrustlet(p.name));
  const ordinary = procs.filter((p) => p.name !== SECURE_SYSTEM && !knownTrustlet(p.name));
  const prefix = 'secure-process marker not inferred';
  if (secureSystem.length === 0 && trustlets.length === 0) {
    return { reason: `${prefix}: no "Secure System" or trustlet-named process to confirm it against (VSM may be off); secure flags are not reported` };
  }
  if (ordinary.length < 3) return { reason: `${prefix}: only ${ordinary.length} ordinary processes to check it is zero elsewhere` };
  const needBit0 = key === 'KPROCESS.SecureState';
  const fits: number[] = [];
  for (let o = 0x18; o + 8 <= oPid; o += 8) {
    const v = (p: { bytes: Buffer }) => p.bytes.readBigUInt64LE(o);
    if (!ordinary.every((p) => v(p) === 0n)) continue;
    const anchors = secureSystem.length ? secureSystem : trustlets;
    if (!anchors.every((p) => v(p) !== 0n && (!needBit0 || (v(p) & 1n) === 1n))) continue;
    fits.push(o);
  }
  if (fits.length !== 1) {
    return {
      reason: `${prefix}: ${fits.length === 0 ? 'no KPROCESS offset' : `${fits.length} KPROCESS offsets`} ${fits.length === 1 ? 'is' : 'are'} non-zero for ${secureSystem.length ? '"Secure System"' : 'the trustlet-named processes'} and zero for System and the ${ordinary.length - 1} other ordinary processes; secure flags are not reported`,
    };
  }
  const o = fits[0];
  const secureNamed = [...secureSystem, ...trustlets].map((p) => `${p.name}(${p.pid})=${p.bytes.readBigUInt64LE(o) !== 0n ? 'set' : 'clear'}`);
  return {
    field: { key, offset: o },
    reason: `${key} +${hex(o)} confirmed: the only KPROCESS offset ${needBit0 ? 'with bit 0 set' : 'non-zero'} for ${secureSystem.length ? '"Secure System"' : 'the trustlet-named processes'} and zero for all ${ordinary.length} ordinary processes (${secureNamed.join(', ')})`,
  };
}

/** Scans physical memory for "System" with consistent links (raw images without symbols). */
function findSystemLinks(vm: VirtualMemory, k: KernelDiscovery): { head: bigint; links: bigint; namePa: number } | undefined {
  const physical = vm.physical;
  const inKernel = (v: bigint) => k.kernelBase !== undefined && v >= k.kernelBase && v < k.kernelBase + BigInt(k.kernelSize ?? 0x4000000);
  let hits = 0;
  let pages = 0;
  for (const run of physical.runs()) {
    for (let pfn = run.basePage; pfn < run.basePage + run.pageCount; pfn++) {
      if (++pages > INFER_LIMITS.maxScanPages) return undefined;
      const page = physical.readPage(pfn);
      if (!page) continue;
      for (let at = page.indexOf(SYSTEM_NAME); at >= 0; at = page.indexOf(SYSTEM_NAME, at + 8)) {
        if (at % 8 !== 0) continue;
        if (++hits > INFER_LIMITS.maxNameHits) return undefined;
        // Links lie before the name in every known build, within the same EPROCESS.
        for (let d = 0x10; d <= 0x400 && at - d - 8 >= 0; d += 8) {
          if (page.readBigUInt64LE(at - d - 8) !== 4n) continue;
          const flink = page.readBigUInt64LE(at - d);
          const blink = page.readBigUInt64LE(at - d + 8);
          if (!isKernelVa(flink) || !isKernelVa(blink) || !inKernel(blink)) continue;
          const self = vm.readU64(flink + 8n); // next entry's Blink = our links VA
          if (!isKernelVa(self)) continue;
          const t = vm.translate(self);
          if (!t.ok || t.pa !== pfn * PAGE_SIZE + at - d) continue;
          if (vm.readU64(blink) !== self) continue; // the head's Flink is System
          return { head: blink, links: self, namePa: pfn * PAGE_SIZE + at };
        }
      }
    }
  }
  return undefined;
}
