// Kernel discovery: the page-table root (DTB), the kernel image base, its PDB identity (CodeView
// RSDS record naming ntkrnlmp.pdb), the build, and the kernel globals the analysis starts from.
//   Crash dumps: DTB, PsActiveProcessHead, PsLoadedModuleList and KdDebuggerDataBlock from the
//   header; the KDBG block (decoded by the dump writer) gives KernBase; else PsLoadedModuleList's
//   first entry (ntoskrnl) gives it; else a scan as for raw images.
//   Triage dumps: no physical memory — the KDBG copy and the driver list give the base; the RSDS
//   is read only if the dump saved the kernel's debug directory among its virtual-memory blocks.
//   Raw images: the DTB from the low stub (PROCESSOR_START_BLOCK in the first MiB), else a
//   self-referencing PML4 whose kernel half maps the kernel; the kernel by scanning kernel VA
//   0xFFFFF800'00000000..0xFFFFF807'FFFFFFFF for a PE whose RSDS names a kernel PDB.
// Every value read from the dump is checked before use; every step says what it saw (evidence)
// or why it could not (problems). Symbol-dependent values are filled later by applySymbols().
import { BadInputError } from '../errors.ts';
import { PAGE_SIZE, type Dump, type PhysicalMemory, type VirtualMemory } from '../dump/types.ts';
import { X64VirtualMemory } from '../dump/x64.ts';
import { CANONICAL_KERNEL_MIN, hex, pageTableRoot, U64_MASK } from '../dump/numbers.ts';
import { EXPECTED_LOW_STUB_JMP, LOW_STUB_CR3, LOW_STUB_JMP_MASK, LOW_STUB_KERNEL_ENTRY, lowStubEntryPlausible } from '../dump/low-stub.ts';
import { ASSUMED_FIELDS, type KernelLayout } from './layout.ts';
import { readPeDebugInfo, type PeDebugInfo, type ReadAt } from './pe.ts';
import type { PdbIdentity } from './symbol-store.ts';

export const KERNEL_SCAN_START = 0xfffff80000000000n;
/** Exclusive end: the kernel image lies below 0xFFFFF808'00000000 (formats.md §3). */
export const KERNEL_SCAN_END = 0xfffff80800000000n;
/** KUSER_SHARED_DATA's fixed kernel VA, and NtBuildNumber in it (0x260 in all 213 table kernels). */
export const KUSER_SHARED_DATA = 0xfffff78000000000n;
export const KUSER_NT_BUILD_NUMBER = 0x260;
/** KDDEBUGGER_DATA64 header fields (formats.md §1). */
const KDBG_TAG = 0x10;
const KDBG_SIZE = 0x14;
const KDBG_KERNBASE = 0x18;
const KDBG_PSLOADEDMODULELIST = 0x48;
const KDBG_PSACTIVEPROCESSHEAD = 0x50;
/** Bytes of KDDEBUGGER_DATA64 read: the header through PsActiveProcessHead. */
const KDBG_READ_BYTES = KDBG_PSACTIVEPROCESSHEAD + 8;
/** Discovery runs before a layout is chosen: the assumed x64 place of LDR_DATA_TABLE_ENTRY.DllBase. */
const LDR_DLLBASE = ASSUMED_FIELDS['LDR_DATA_TABLE_ENTRY.DllBase'].offset;

export const DISCOVERY_LIMITS = {
  /** Pages of the first MiB searched for the low stub. */
  lowStubPages: 256,
  /** Self-referencing PML4 candidates validated before giving up. */
  selfMapCandidates: 16,
  /** Pages scanned for self-referencing PML4s. */
  selfMapPages: 1 << 22,
  /** 4 KiB-granularity PE probes after the 2 MiB pass finds nothing. */
  pageProbes: 1 << 16,
  /** Mapped kernel leaves enumerated for the scan. */
  walkEntries: 1 << 20,
  /** Largest kernel image we accept (ntoskrnl is ~16 MiB). */
  maxImageSize: 256 * 1024 * 1024,
} as const;

const KERNEL_PDB_NAMES = /^(ntkrnlmp|ntoskrnl|ntkrnlpa|ntkrpamp|ntkrla57)\.pdb$/i;

export function isKernelPdbName(name: string): boolean {
  return KERNEL_PDB_NAMES.test(name);
}

export interface KernelPeInfo {
  readonly timeDateStamp: number;
  readonly sizeOfImage: number;
  /** Symbol-server key of the image itself: `ntoskrnl.exe/<TIMESTAMP %08X><SIZEOFIMAGE %x>/ntoskrnl.exe`. */
  readonly imageStorePath: string;
}

export interface KernelDiscovery {
  /** Physical address of the page-table root used for kernel VAs. */
  readonly dtb: number;
  readonly kernelBase?: bigint;
  readonly kernelSize?: number;
  /** From the kernel's RSDS record; undefined when it could not be read. */
  readonly pdb?: PdbIdentity;
  readonly pe?: KernelPeInfo;
  readonly build?: number;
  readonly psActiveProcessHead?: bigint;
  readonly psLoadedModuleList?: bigint;
  readonly kdbg?: bigint;
  /** How the kernel was found, e.g. `crash-header+kdbg`, `raw:low-stub+pe-scan`. */
  readonly method: string;
  /** What was seen, one sentence each. */
  readonly evidence: readonly string[];
  /** What could not be read and why, one sentence each. */
  readonly problems: readonly string[];
  /** Kernel address space (undefined for triage dumps, which hold no physical memory). */
  readonly vm?: VirtualMemory;
}

function isKernelVa(v: bigint): boolean {
  return v >= CANONICAL_KERNEL_MIN && v <= U64_MASK;
}

function sane(v: bigint | undefined): v is bigint {
  return v !== undefined && v !== 0n && isKernelVa(v);
}

/** A plausible NT build number (Windows 2000 = 2195 … well below 65536). */
function plausibleBuild(n: number | undefined): n is number {
  return n !== undefined && Number.isInteger(n) && n >= 2195 && n < 65536;
}

interface KdbgBlock {
  size: number;
  kernBase: bigint;
  psLoadedModuleList: bigint;
  psActiveProcessHead: bigint;
}

function parseKdbg(b: Buffer | undefined): KdbgBlock | undefined {
  if (!b || b.length < KDBG_READ_BYTES || b.toString('latin1', KDBG_TAG, KDBG_TAG + 4) !== 'KDBG') return undefined;
  return {
    size: b.readUInt32LE(KDBG_SIZE),
    kernBase: b.readBigUInt64LE(KDBG_KERNBASE),
    psLoadedModuleList: b.readBigUInt64LE(KDBG_PSLOADEDMODULELIST),
    psActiveProcessHead: b.readBigUInt64LE(KDBG_PSACTIVEPROCESSHEAD),
  };
}

/** A ReadAt over virtual memory from `base`, page by page so one absent page fails only its read. */
function vaReader(read: (va: bigint, len: number) => Buffer | undefined, base: bigint): ReadAt {
  return (offset, length) => {
    if (offset < 0 || length <= 0 || length > 1 << 20) return undefined;
    return read(base + BigInt(offset), length);
  };
}

export type PeProbe =
  | { kind: 'kernel'; base: bigint; pe: PeDebugInfo }
  | { kind: 'other-pe'; base: bigint; pdbName?: string }
  | { kind: 'no-rsds'; base: bigint; pe: PeDebugInfo }
  | { kind: 'not-pe' };

/** Is there a kernel image at `base`? Reads the headers and the RSDS record in memory layout. */
export function probeKernelPe(read: (va: bigint, len: number) => Buffer | undefined, base: bigint): PeProbe {
  const mz = read(base, 2);
  if (!mz || mz[0] !== 0x4d || mz[1] !== 0x5a) return { kind: 'not-pe' };
  let pe: PeDebugInfo;
  try {
    pe = readPeDebugInfo(vaReader(read, base), 'memory');
  } catch {
    return { kind: 'not-pe' };
  }
  if (pe.machine !== 0x8664 || !pe.is64) return { kind: 'other-pe', base };
  if (!pe.codeView) return { kind: 'no-rsds', base, pe };
  if (!isKernelPdbName(pe.codeView.pdbName)) return { kind: 'other-pe', base, pdbName: pe.codeView.pdbName };
  return { kind: 'kernel', base, pe };
}

function peInfo(pe: PeDebugInfo): KernelPeInfo {
  const key = `${pe.timeDateStamp.toString(16).toUpperCase().padStart(8, '0')}${pe.sizeOfImage.toString(16)}`;
  return { timeDateStamp: pe.timeDateStamp, sizeOfImage: pe.sizeOfImage, imageStorePath: `ntoskrnl.exe/${key}/ntoskrnl.exe` };
}

function identityOf(pe: PeDebugInfo): PdbIdentity | undefined {
  const cv = pe.codeView;
  return cv ? { name: cv.pdbName.toLowerCase(), guid: cv.guid, age: cv.age } : undefined;
}

interface ScanResult {
  found?: { base: bigint; pe: PeDebugInfo };
  probes: number;
  others: string[];
  noRsds: bigint[];
  capped: boolean;
}

/**
 * Scans the kernel image range for a PE whose RSDS names a kernel PDB: every mapped 2 MiB-aligned
 * VA first (where Windows loads ntoskrnl), then 4 KiB-aligned pages that start a mapped region,
 * then other pages, up to DISCOVERY_LIMITS.pageProbes.
 */
export function scanForKernel(vm: VirtualMemory, start = KERNEL_SCAN_START, end = KERNEL_SCAN_END): ScanResult {
  const r: ScanResult = { probes: 0, others: [], noRsds: [], capped: false };
  const { pages, truncated } = vm.walk(start, end, DISCOVERY_LIMITS.walkEntries);
  if (truncated) r.capped = true;
  const mapped: bigint[] = [];
  for (const p of pages) {
    if (!p.translation.ok) continue;
    // A large page is one leaf: probe each 4 KiB step of it only at 2 MiB boundaries (below).
    mapped.push(p.va);
  }
  const read = (va: bigint, len: number) => vm.read(va, len);
  const TWO_MIB = 0x200000n;
  const tryAt = (va: bigint): boolean => {
    r.probes++;
    const p = probeKernelPe(read, va);
    if (p.kind === 'kernel') {
      r.found = { base: va, pe: p.pe };
      return true;
    }
    if (p.kind === 'other-pe' && r.others.length < 8) r.others.push(`${hex(va)}${p.pdbName ? ` (${p.pdbName})` : ''}`);
    if (p.kind === 'no-rsds' && r.noRsds.length < 8) r.noRsds.push(va);
    return false;
  };
  // Pass 1: 2 MiB boundaries, including those inside large pages.
  const aligned = new Set<bigint>();
  for (const p of pages) {
    if (!p.translation.ok) continue;
    const first = ((p.va + TWO_MIB - 1n) / TWO_MIB) * TWO_MIB;
    for (let va = first; va < p.va + BigInt(p.pageSize); va += TWO_MIB) aligned.add(va);
  }
  for (const va of [...aligned].sort((a, b) => (a < b ? -1 : 1))) if (tryAt(va)) return r;
  // Pass 2: 4 KiB pages, region starts first.
  const set = new Set(mapped.map((v) => v));
  const starts = mapped.filter((v) => v % TWO_MIB !== 0n && !set.has(v - 0x1000n));
  const rest = mapped.filter((v) => v % TWO_MIB !== 0n && set.has(v - 0x1000n));
  for (const va of [...starts, ...rest]) {
    if (r.probes >= DISCOVERY_LIMITS.pageProbes) {
      r.capped = true;
      break;
    }
    if (tryAt(va)) return r;
  }
  return r;
}

/** PROCESSOR_START_BLOCK in the first MiB (MemProcFS's test): its CR3 at +0xA0 and kernel entry at +0x70. */
export function findLowStub(physical: PhysicalMemory): { pfn: number; cr3: number; entry: bigint } | undefined {
  const limit = Math.min(DISCOVERY_LIMITS.lowStubPages, physical.pageLimit);
  for (let pfn = 0; pfn < limit; pfn++) {
    const page = physical.readPage(pfn);
    if (!page) continue;
    const q0 = page.readBigUInt64LE(0);
    if ((q0 & LOW_STUB_JMP_MASK) !== EXPECTED_LOW_STUB_JMP) continue;
    const entry = page.readBigUInt64LE(LOW_STUB_KERNEL_ENTRY);
    if (!lowStubEntryPlausible(entry)) continue;
    const cr3 = page.readBigUInt64LE(LOW_STUB_CR3);
    const dtb = pageTableRoot(cr3);
    if (dtb === 0 || (cr3 & 0x7ff0000000000000n) !== 0n) continue; // bits 52..62 must be clear
    if (dtb / PAGE_SIZE >= physical.pageLimit || !physical.isPresent(dtb / PAGE_SIZE)) continue;
    return { pfn, cr3: dtb, entry };
  }
  return undefined;
}

/**
 * Pages that look like a PML4 with Windows's self-map: an entry in the kernel half (256..511)
 * that is present, not a large page, and whose frame is the page itself. Lowest address first.
 */
export function* selfMapCandidates(physical: PhysicalMemory): Generator<{ pa: number; index: number }> {
  let seen = 0;
  for (const run of physical.runs()) {
    for (let pfn = run.basePage; pfn < run.basePage + run.pageCount; pfn++) {
      if (++seen > DISCOVERY_LIMITS.selfMapPages) return;
      const page = physical.readPage(pfn);
      if (!page) continue;
      const pa = pfn * PAGE_SIZE;
      const lo = pa % 2 ** 32;
      const hi = Math.floor(pa / 2 ** 32);
      for (let i = 256; i < 512; i++) {
        const elo = page.readUInt32LE(i * 8);
        if ((elo & 0xfffff000) >>> 0 !== lo || (elo & 0x81) !== 0x01) continue;
        if ((page.readUInt32LE(i * 8 + 4) & 0xfffff) !== hi) continue;
        yield { pa, index: i };
        break;
      }
    }
  }
}

/** NtBuildNumber from KUSER_SHARED_DATA (high bits carry checked/free flags on some builds). */
export function readKuserBuild(vm: VirtualMemory): number | undefined {
  const v = vm.readU32(KUSER_SHARED_DATA + BigInt(KUSER_NT_BUILD_NUMBER));
  if (v === undefined) return undefined;
  const b = v & 0xffff;
  return plausibleBuild(b) ? b : undefined;
}

/** The dump's kernel, or BadInputError when a raw image holds no Windows x64 kernel. */
export function discoverKernel(dump: Dump): KernelDiscovery {
  if (dump.format === 'crash-triage') return discoverTriage(dump);
  if (dump.header && dump.physical) return discoverCrash(dump, dump.physical);
  if (dump.physical) return discoverRaw(dump.physical);
  throw new BadInputError(`${dump.formatName}: no physical memory and no crash header, so no kernel to find`, 'kernel.none');
}

class Notes {
  evidence: string[] = [];
  problems: string[] = [];
  saw(s: string): void {
    this.evidence.push(s);
  }
  lack(s: string): void {
    this.problems.push(s);
  }
}

/** Reads the kernel PE at `base` and records what it says. */
function readKernelImage(
  read: (va: bigint, len: number) => Buffer | undefined,
  base: bigint,
  n: Notes,
  why = 'is not readable in the dump',
): { pdb?: PdbIdentity; pe?: KernelPeInfo; size?: number } {
  const p = probeKernelPe(read, base);
  switch (p.kind) {
    case 'kernel': {
      const id = identityOf(p.pe)!;
      n.saw(`kernel PE at ${hex(base)}: SizeOfImage ${hex(p.pe.sizeOfImage)}, RSDS names ${id.name} ${id.guid}-${id.age}`);
      return { pdb: id, pe: peInfo(p.pe), size: p.pe.sizeOfImage };
    }
    case 'no-rsds':
      n.saw(`kernel PE header at ${hex(base)}: TimeDateStamp ${hex(p.pe.timeDateStamp)}, SizeOfImage ${hex(p.pe.sizeOfImage)}`);
      n.lack(`the kernel's debug directory (CodeView RSDS record) ${why}, so its PDB GUID/age are unknown`);
      return { pe: peInfo(p.pe), size: p.pe.sizeOfImage };
    case 'other-pe':
      n.lack(`the PE at ${hex(base)} names ${p.pdbName ?? 'no kernel PDB'}, not a kernel PDB`);
      return {};
    case 'not-pe': {
      const reason = read(base, 2) === undefined ? 'its page is not in the dump' : 'no MZ/PE header there';
      n.lack(`no PE image readable at kernel base ${hex(base)}: ${reason}`);
      return {};
    }
  }
}

function discoverCrash(dump: Dump, physical: PhysicalMemory): KernelDiscovery {
  const h = dump.header!;
  const n = new Notes();
  const dtb = pageTableRoot(h.directoryTableBase);
  n.saw(`DTB ${hex(dtb)} from the crash dump header`);
  if (dtb === 0 || dtb / PAGE_SIZE >= physical.pageLimit) throw new BadInputError(`crash dump header DirectoryTableBase ${hex(h.directoryTableBase)} is outside physical memory`, 'kernel.bad-dtb');
  const vm = new X64VirtualMemory(physical, dtb);
  const read = (va: bigint, len: number) => vm.read(va, len);
  const build = plausibleBuild(h.minorVersion) ? h.minorVersion : undefined;
  if (build) n.saw(`build ${build} from the header's MinorVersion`);
  let psActiveProcessHead = sane(h.psActiveProcessHead) ? h.psActiveProcessHead : undefined;
  let psLoadedModuleList = sane(h.psLoadedModuleList) ? h.psLoadedModuleList : undefined;
  const kdbgVa = sane(h.kdDebuggerDataBlock) ? h.kdDebuggerDataBlock : undefined;
  if (!psActiveProcessHead) n.lack(`header PsActiveProcessHead ${hex(h.psActiveProcessHead)} is not a kernel address`);
  const methods: string[] = ['crash-header'];

  let kernelBase: bigint | undefined;
  if (kdbgVa) {
    const k = parseKdbg(vm.read(kdbgVa, KDBG_READ_BYTES));
    if (!k) n.lack(`KdDebuggerDataBlock at ${hex(kdbgVa)} is ${vm.read(kdbgVa, KDBG_READ_BYTES) ? 'not tagged KDBG (encoded or damaged)' : 'not in the dump'}`);
    else {
      n.saw(`KDBG at ${hex(kdbgVa)}: OwnerTag KDBG, Size ${hex(k.size)}, KernBase ${hex(k.kernBase)}`);
      if (psActiveProcessHead && k.psActiveProcessHead !== psActiveProcessHead) n.lack(`KDBG PsActiveProcessHead ${hex(k.psActiveProcessHead)} differs from the header's ${hex(psActiveProcessHead)}`);
      else if (psActiveProcessHead) n.saw('KDBG PsActiveProcessHead equals the header\'s');
      if (!psActiveProcessHead && sane(k.psActiveProcessHead)) psActiveProcessHead = k.psActiveProcessHead;
      if (!psLoadedModuleList && sane(k.psLoadedModuleList)) psLoadedModuleList = k.psLoadedModuleList;
      if (sane(k.kernBase) && k.kernBase % 0x1000n === 0n) {
        kernelBase = k.kernBase;
        methods.push('kdbg');
      }
    }
  }
  if (!kernelBase && psLoadedModuleList) {
    const first = vm.readU64(psLoadedModuleList);
    const base = sane(first) ? vm.readU64(first + BigInt(LDR_DLLBASE)) : undefined;
    if (sane(base) && base % 0x1000n === 0n) {
      kernelBase = base;
      methods.push('module-list');
      n.saw(`PsLoadedModuleList's first entry ${hex(first!)} has DllBase ${hex(base)} (ntoskrnl)`);
    } else n.lack(`PsLoadedModuleList ${hex(psLoadedModuleList)} does not lead to a readable first module`);
  }
  let image: ReturnType<typeof readKernelImage> = {};
  if (kernelBase) image = readKernelImage(read, kernelBase, n);
  if (!image.pdb) {
    const s = scanForKernel(vm);
    if (s.found && s.found.base !== kernelBase) {
      n.saw(`kernel image found by scanning kernel VA (${s.probes} probes)`);
      kernelBase = s.found.base;
      methods.push('pe-scan');
      image = readKernelImage(read, kernelBase, n);
    } else if (!s.found && !kernelBase) n.lack(`no kernel PE found by scanning ${hex(KERNEL_SCAN_START)}..${hex(KERNEL_SCAN_END)} (${s.probes} probes)`);
  }
  if (kernelBase && vm.translate(kernelBase).ok) n.saw(`the DTB translates the kernel base`);
  const kbuild = readKuserBuild(vm);
  if (kbuild !== undefined && build !== undefined && kbuild !== build) n.lack(`the header says build ${build} but KUSER_SHARED_DATA.NtBuildNumber says ${kbuild}; the header's is used`);
  return {
    dtb,
    kernelBase,
    kernelSize: image.size,
    pdb: image.pdb,
    pe: image.pe,
    build: build ?? kbuild,
    psActiveProcessHead,
    psLoadedModuleList,
    kdbg: kdbgVa,
    method: methods.join('+'),
    evidence: n.evidence,
    problems: n.problems,
    vm,
  };
}

function discoverTriage(dump: Dump): KernelDiscovery {
  const h = dump.header!;
  const n = new Notes();
  const t = dump.triage;
  const dtb = pageTableRoot(h.directoryTableBase);
  n.saw(`DTB ${hex(dtb)} from the crash dump header (a triage dump holds no physical memory to translate with)`);
  const build = plausibleBuild(h.minorVersion) ? h.minorVersion : undefined;
  if (build) n.saw(`build ${build} from the header's MinorVersion`);
  let psActiveProcessHead = sane(h.psActiveProcessHead) ? h.psActiveProcessHead : undefined;
  let psLoadedModuleList = sane(h.psLoadedModuleList) ? h.psLoadedModuleList : undefined;
  const methods = ['triage-header'];
  let kernelBase: bigint | undefined;
  let kernelSize: number | undefined;
  if (t?.kdbg && sane(t.kdbg.kernBase)) {
    kernelBase = t.kdbg.kernBase;
    methods.push('kdbg');
    n.saw(`KDBG copy in the triage dump: KernBase ${hex(kernelBase)}`);
    if (psActiveProcessHead && t.kdbg.psActiveProcessHead === psActiveProcessHead) n.saw('KDBG PsActiveProcessHead equals the header\'s');
    psActiveProcessHead ??= sane(t.kdbg.psActiveProcessHead) ? t.kdbg.psActiveProcessHead : undefined;
    psLoadedModuleList ??= sane(t.kdbg.psLoadedModuleList) ? t.kdbg.psLoadedModuleList : undefined;
  }
  const nt = t?.drivers.find((d) => /(^|\\)(ntoskrnl|ntkrnlmp|ntkrnlpa|ntkrpamp|ntkrla57)\.exe$/i.test(d.name ?? '')) ?? t?.drivers[0];
  if (nt && sane(nt.dllBase)) {
    n.saw(`driver list entry ${nt.index} ${nt.name ?? '(unnamed)'}: DllBase ${hex(nt.dllBase)}, SizeOfImage ${hex(nt.sizeOfImage)}`);
    if (kernelBase === undefined) {
      kernelBase = nt.dllBase;
      methods.push('driver-list');
    } else if (kernelBase !== nt.dllBase) n.lack(`the driver list's ntoskrnl base ${hex(nt.dllBase)} differs from KDBG KernBase ${hex(kernelBase)}`);
    if (nt.dllBase === kernelBase) kernelSize = nt.sizeOfImage;
  }
  let pdb: PdbIdentity | undefined;
  let pe: KernelPeInfo | undefined;
  if (kernelBase !== undefined) {
    const blocks = t?.memory;
    if (!blocks) n.lack('a triage dump holds no physical memory and this one saved no virtual-memory blocks: the kernel\'s RSDS record cannot be read');
    else {
      const img = readKernelImage((va, len) => blocks.read(va, len), kernelBase, n, `is not among the ${blocks.blocks} virtual-memory blocks this triage dump saved (it holds no physical memory)`);
      pdb = img.pdb;
      pe = img.pe;
    }
  } else n.lack('neither a KDBG copy nor the driver list names the kernel base');
  return {
    dtb,
    kernelBase,
    kernelSize: kernelSize ?? pe?.sizeOfImage,
    pdb,
    pe,
    build,
    psActiveProcessHead,
    psLoadedModuleList,
    kdbg: sane(h.kdDebuggerDataBlock) ? h.kdDebuggerDataBlock : undefined,
    method: methods.join('+'),
    evidence: n.evidence,
    problems: n.problems,
  };
}

function discoverRaw(physical: PhysicalMemory): KernelDiscovery {
  const n = new Notes();
  const tryDtb = (dtb: number): { vm: X64VirtualMemory; scan: ScanResult } => {
    const vm = new X64VirtualMemory(physical, dtb);
    return { vm, scan: scanForKernel(vm) };
  };
  let chosen: { vm: X64VirtualMemory; scan: ScanResult; how: string } | undefined;
  const stub = findLowStub(physical);
  if (stub) {
    n.saw(`low stub (PROCESSOR_START_BLOCK) at physical ${hex(stub.pfn * PAGE_SIZE)}: CR3 ${hex(stub.cr3)}, kernel entry ${hex(stub.entry)}`);
    const t = tryDtb(stub.cr3);
    if (t.scan.found) chosen = { ...t, how: 'low-stub' };
    else n.lack(`the low stub's CR3 ${hex(stub.cr3)} maps no kernel image`);
  }
  if (!chosen) {
    let tried = 0;
    for (const c of selfMapCandidates(physical)) {
      if (tried++ >= DISCOVERY_LIMITS.selfMapCandidates) {
        n.lack(`gave up after ${DISCOVERY_LIMITS.selfMapCandidates} self-referencing PML4 candidates`);
        break;
      }
      const t = tryDtb(c.pa);
      if (t.scan.found) {
        n.saw(`PML4 at physical ${hex(c.pa)} maps itself at index ${c.index} (${hex(0xffff000000000000n | (BigInt(c.index) << 39n))}) and maps the kernel`);
        chosen = { ...t, how: 'self-map' };
        break;
      }
    }
  }
  if (!chosen) throw new BadInputError('no Windows x64 kernel found: no page-table root (low stub or self-referencing PML4) maps a PE whose RSDS names ntkrnlmp.pdb', 'kernel.not-found');
  const { vm, scan } = chosen;
  const base = scan.found!.base;
  const read = (va: bigint, len: number) => vm.read(va, len);
  const image = readKernelImage(read, base, n);
  n.saw(`kernel found by scanning kernel VA from ${hex(KERNEL_SCAN_START)} (${scan.probes} probes)`);
  const build = readKuserBuild(vm);
  if (build !== undefined) n.saw(`build ${build} from KUSER_SHARED_DATA.NtBuildNumber`);
  else n.lack('KUSER_SHARED_DATA is not readable: build unknown');
  n.lack('a raw image has no header: PsActiveProcessHead and PsLoadedModuleList come from symbols (kernel base + RVA) or inference');
  return {
    dtb: vm.dtb,
    kernelBase: base,
    kernelSize: image.size,
    pdb: image.pdb,
    pe: image.pe,
    build,
    method: `raw:${chosen.how}+pe-scan`,
    evidence: n.evidence,
    problems: n.problems,
    vm,
  };
}

/**
 * Fills kernel globals the dump did not give from the layout's symbol RVAs (kernel base + RVA),
 * only when the layout is this kernel's own (exact) and the base is known.
 */
export function applySymbols(k: KernelDiscovery, layout: KernelLayout, exact: boolean): KernelDiscovery {
  if (!exact || k.kernelBase === undefined) return k;
  const at = (rva: number | undefined) => (rva === undefined ? undefined : k.kernelBase! + BigInt(rva));
  const evidence = [...k.evidence];
  const fill = (name: string, have: bigint | undefined, rva: number | undefined): bigint | undefined => {
    if (have !== undefined) {
      const want = at(rva);
      if (want !== undefined && want !== have) evidence.push(`${name}: the dump says ${hex(have)}, base + symbol RVA gives ${hex(want)}`);
      return have;
    }
    const v = at(rva);
    if (v !== undefined) evidence.push(`${name} ${hex(v)} = kernel base + RVA ${hex(rva!)} from symbols`);
    return v;
  };
  return {
    ...k,
    psActiveProcessHead: fill('PsActiveProcessHead', k.psActiveProcessHead, layout.symbols.PsActiveProcessHead),
    psLoadedModuleList: fill('PsLoadedModuleList', k.psLoadedModuleList, layout.symbols.PsLoadedModuleList),
    kdbg: fill('KdDebuggerDataBlock', k.kdbg, layout.symbols.KdDebuggerDataBlock),
    evidence,
  };
}

/** Symbol RVAs the dump itself gives (global VA − kernel base), for matching the built-in table without a GUID. */
export function observedRvas(k: KernelDiscovery): Partial<Record<'PsActiveProcessHead' | 'PsLoadedModuleList' | 'KdDebuggerDataBlock', number>> {
  const out: Partial<Record<'PsActiveProcessHead' | 'PsLoadedModuleList' | 'KdDebuggerDataBlock', number>> = {};
  if (k.kernelBase === undefined) return out;
  const lim = BigInt(k.kernelSize ?? DISCOVERY_LIMITS.maxImageSize);
  const put = (name: keyof typeof out, va: bigint | undefined) => {
    if (va === undefined) return;
    const d = va - k.kernelBase!;
    if (d > 0n && d < lim) out[name] = Number(d);
  };
  put('PsActiveProcessHead', k.psActiveProcessHead);
  put('PsLoadedModuleList', k.psLoadedModuleList);
  put('KdDebuggerDataBlock', k.kdbg);
  return out;
}
