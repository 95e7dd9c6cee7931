// Builds a consistent x64 Windows machine in memory from a scenario and a real kernel layout, as a
// sequence of named steps over typed data; each kernel object has its own builder in builders/.
// Only meaningful pages are materialised; writers stream them over a filler background.
//
// Steps draw from one seeded generator (and forks of it), so their order is part of the output:
// physical plan → regions → kernel image → pool + cookie → object types → globals → sessions →
// processes → process list → loaded modules → KDBG → decoys → object namespace (\GLOBAL??) → flush →
// page-table inventory.
// A new builder takes its own fork (k.rng.fork('name')) so that it does not shift the others' draws.
import { IsfTypes, loadIsfFile } from '../src/ntos/isf.ts';
import { Rng } from './rng.ts';
import { AddressSpace, LARGE, PAGE, PTE, PhysMem, canonical, writeVa } from './memory.ts';
import { Layout } from './structs.ts';
import { Filler } from './filler.ts';
import type { Scenario } from './scenario.ts';
import { knownByGuidAge } from './kernels.ts';
import { KernelVm, filetime, type KernelCtx } from './builders/context.ts';
import { buildKernelImage } from './builders/kernel-image.ts';
import { createObjectSpace } from './builders/object.ts';
import { buildObjectTypes, PROCESS_TYPE_INDEX } from './builders/object-types.ts';
import { buildGlobals, buildKdbg } from './builders/globals.ts';
import { buildSessions } from './builders/sessions.ts';
import { CONSTANT_FILL, UserSpaceState } from './builders/user-space.ts';
import { buildProcess, type BuiltProcess, type ProcessDraft } from './builders/process.ts';
import { planSystemDlls, type ModuleRange } from './builders/address-map.ts';
import { FileObjects } from './builders/file-object.ts';
import { TidAllocator } from './builders/thread.ts';
import { buildHandles } from './builders/handles.ts';
import { linkProcessList } from './builders/process-list.ts';
import { buildLoadedModules } from './builders/loaded-modules.ts';
import { buildObjectNamespace } from './builders/object-namespace.ts';
import { buildDecoys, placeDecoys, type Decoy } from './builders/decoys.ts';

export { filetime, filetimeToIso } from './builders/context.ts';
export type { BuiltProcess } from './builders/process.ts';
export type { UserPte } from './builders/user-space.ts';
export type { Decoy } from './builders/decoys.ts';

export interface Machine {
  readonly scenario: Scenario;
  readonly seed: number;
  readonly layout: Layout;
  readonly isfPath: string;
  readonly pdb: { name: string; guid: string; age: number };
  readonly build: number;
  readonly version: string | null;
  readonly mem: PhysMem;
  readonly filler: Filler;
  readonly system: AddressSpace;
  readonly selfRefIndex: number;
  readonly kernelBase: bigint;
  readonly sizeOfImage: number;
  readonly psActiveProcessHead: bigint;
  readonly psLoadedModuleList: bigint;
  readonly kdDebuggerDataBlock: bigint;
  readonly mmPfnDatabase: bigint;
  readonly obHeaderCookie: number;
  readonly processTypeIndex: number;
  readonly processes: BuiltProcess[];
  /** PsLoadedModuleList in load order. */
  readonly modules: readonly ModuleRange[];
  readonly decoys: Decoy[];
  readonly crashTime: bigint;
  readonly bootTime: bigint;
  /** Physical pages holding kernel data, page tables and the large kernel regions (a kernel dump keeps these). */
  readonly kernelPfns: Set<number>;
  readonly constantFill: number;
}

export interface MachineOptions {
  scenario: Scenario;
  isfPath: string;
  sizeBytes: number;
  seed: number;
}

const isfCache = new Map<string, IsfTypes>();
/** ISF files take a second to decompress and parse; tests generate many dumps from the same few. */
function loadTypes(path: string): IsfTypes {
  let t = isfCache.get(path);
  if (!t) {
    t = new IsfTypes(loadIsfFile(path));
    isfCache.set(path, t);
  }
  return t;
}

/** Fewer pages than this and the fixed regions do not fit. */
const MIN_PAGES = 0x1000;
/** System's PML4 page: inside the window Volatility scans for a DTB in raw images. */
const SYSTEM_PML4_PFN = 0x1ad;

interface PhysicalPlan {
  readonly mem: PhysMem;
  readonly pageLimit: number;
  readonly vtl1: { base: number; count: number };
}

/** Step: physical memory with its holes (firmware, legacy video, PCI window, VTL1) and the DTB-scan windows kept free. */
function planPhysical(sizeBytes: number, rng: Rng): PhysicalPlan {
  const pageLimit = Math.floor(sizeBytes / PAGE);
  if (pageLimit < MIN_PAGES) throw new Error('size must be at least 16 MiB');
  const mem = new PhysMem(pageLimit, rng.fork('phys'));
  // Page 0 and the legacy VGA/BIOS window are not in Windows' memory runs;
  // the hypervisor keeps VTL1 (secure kernel and trustlet) memory out of VTL0's runs too.
  mem.addHole(0, 1, 'firmware');
  mem.addHole(0x9f, 0x100 - 0x9f, 'legacy-video-bios');
  if (pageLimit >= 0x100000 + 0x8000) mem.addHole(0xc0000, 0x20000, 'pci-mmio');
  const count = Math.min(0x4000, Math.max(0x100, Math.floor(pageLimit / 32 / 0x100) * 0x100));
  let base = Math.floor((pageLimit * 0.7) / 0x200) * 0x200;
  if (base >= 0xc0000 && base < 0xe0000 && pageLimit >= 0x108000) base = 0xe0000;
  mem.addHole(base, count, 'vtl1-reserved');
  // Volatility looks for the System DTB in these windows (automagic/windows.py): keep other PML4s out.
  mem.reserve(0x150, 0x150);
  mem.reserve(0x650, 0xa0);
  return { mem, pageLimit, vtl1: { base, count } };
}

/** Step: the builders' context — regions, the System space, the kernel image, times. */
function makeContext(opts: MachineOptions): KernelCtx {
  const { scenario, seed } = opts;
  const types = loadTypes(opts.isfPath);
  const layout = new Layout(types);
  const id = types.identity;
  if (!id) throw new Error(`${opts.isfPath}: ISF has no windows.pdb identity`);
  const known = knownByGuidAge(`${id.GUID.toUpperCase()}-${id.age}`);
  const rng = new Rng(seed);
  const { mem, pageLimit, vtl1 } = planPhysical(opts.sizeBytes, rng);
  const filler = new Filler(seed);
  const kernelPfns = new Set<number>();

  const pick = (lo: number, hi: number, avoid: number[]) => {
    for (;;) {
      const v = rng.int(lo, hi);
      if (!avoid.includes(v)) return v;
    }
  };
  const selfRefIndex = pick(0x100, 0x1ed, []);
  const poolIndex = pick(0x140, 0x1e0, [selfRefIndex]);
  const sessionIndex = pick(0x140, 0x1e0, [selfRefIndex, poolIndex]);
  const kernelBase = 0xfffff80000000000n + BigInt(rng.int(0x100, 0x3f00)) * BigInt(LARGE);
  const poolBase = canonical(BigInt(poolIndex) << 39n) + BigInt(rng.int(1, 0x1f0)) * 0x40000000n;
  const sessionBase = canonical(BigInt(sessionIndex) << 39n) + BigInt(rng.int(1, 0x1f0)) * 0x40000000n;

  // The two 2 MiB physical regions first, before page-table pages fragment small memories.
  const imagePhys = mem.alloc2M();
  const poolPhys = mem.alloc2M();
  const system = new AddressSpace(mem, selfRefIndex, mem.claim(SYSTEM_PML4_PFN));
  const kvm = new KernelVm(mem, system, kernelPfns);
  const { sizeOfImage } = buildKernelImage({ layout, rng, kvm, system, kernelPfns, pdbId: id, kernelBase, imagePhys });
  // Pool: a 2 MiB large page, then 4 KiB pages mapped on demand.
  for (let p = poolPhys; p < poolPhys + 512; p++) kernelPfns.add(p);
  system.map2m(poolBase, poolPhys);

  const bootMs = Date.parse(scenario.bootTime);
  const sym = (name: string) => kernelBase + BigInt(layout.rva(name));
  return {
    scenario,
    seed,
    isfPath: opts.isfPath,
    types,
    layout,
    pdbId: id,
    known,
    build: known?.build ?? 19041,
    rng,
    pageLimit,
    mem,
    filler,
    kernelPfns,
    system,
    kvm,
    selfRefIndex,
    poolIndex,
    sessionIndex,
    kernelBase,
    sizeOfImage,
    poolBase,
    sessionBase,
    bootMs,
    bootTime: filetime(bootMs),
    crashTime: filetime(Date.parse(scenario.crashTime)),
    vtl1,
    pick,
    sym,
    kwrite: (va, data) => kvm.write(va, data),
  };
}

export function buildMachine(opts: MachineOptions): Machine {
  const k = makeContext(opts);
  const { scenario, layout, mem } = k;
  const objects = createObjectSpace(k);
  buildObjectTypes(k, objects, scenario.processes.length);
  const globals = buildGlobals(k, objects);
  const sessions = buildSessions(k);
  const userSpace = new UserSpaceState(k, k.rng.fork('user'));
  const modules = buildLoadedModules(k, objects);
  const env = {
    objects,
    sessions,
    userSpace,
    files: new FileObjects(k, objects),
    dlls: planSystemDlls(k),
    kernelModules: modules.modules,
    tids: new TidAllocator(new Set(scenario.processes.map((p) => p.pid))),
  };
  const built: ProcessDraft[] = scenario.processes.map((spec, i) => buildProcess(k, env, spec, i));
  const psActiveProcessHead = linkProcessList(k, built);
  buildHandles(k, env, built);
  const kdDebuggerDataBlock = buildKdbg(k, { psActiveProcessHead, psLoadedModuleList: modules.head });
  const decoys = buildDecoys(k, objects);
  buildObjectNamespace(k, objects);

  // Flush pool objects into memory, then record physical addresses.
  for (const b of objects.pool.blocks) writeVa(k.system, b.headerVa, b.buf);
  for (const p of built) (p as { eprocessPa: number }).eprocessPa = k.system.translate(p.eprocessVa)!;
  placeDecoys(k, objects, decoys);

  // Every process shares the kernel half; collect page-table pages.
  for (const p of built) if (p.space !== k.system) p.space.shareKernel(k.system);
  for (const t of collectTables(mem, built)) k.kernelPfns.add(t);

  return {
    scenario,
    seed: k.seed,
    layout,
    isfPath: k.isfPath,
    pdb: { name: k.pdbId.database, guid: k.pdbId.GUID.toUpperCase(), age: k.pdbId.age },
    build: k.build,
    version: k.known?.version ?? null,
    mem,
    filler: k.filler,
    system: k.system,
    selfRefIndex: k.selfRefIndex,
    kernelBase: k.kernelBase,
    sizeOfImage: k.sizeOfImage,
    psActiveProcessHead,
    psLoadedModuleList: modules.head,
    kdDebuggerDataBlock,
    mmPfnDatabase: globals.mmPfnDatabase,
    obHeaderCookie: objects.obHeaderCookie,
    processTypeIndex: PROCESS_TYPE_INDEX,
    processes: built.map(({ obj: _o, ep: _e, space: _s, handleTable: _h, ...rest }) => rest),
    modules: modules.modules,
    decoys,
    crashTime: k.crashTime,
    bootTime: k.bootTime,
    kernelPfns: k.kernelPfns,
    constantFill: CONSTANT_FILL,
  };
}

/** Every paging-structure page reachable from the processes' PML4s (user halves and the shared kernel half). */
function collectTables(mem: PhysMem, procs: { space: AddressSpace }[]): Set<number> {
  const out = new Set<number>();
  const walk = (pfn: number, level: number, selfRef: number | null) => {
    if (out.has(pfn) && level !== 4) return;
    out.add(pfn);
    if (level === 1) return;
    const t = mem.pages.get(pfn);
    if (!t) return;
    for (let i = 0; i < 512; i++) {
      if (level === 4 && i === selfRef) continue;
      const e = t.readBigUInt64LE(i * 8);
      if (!(e & PTE.P) || (level < 4 && e & PTE.PS)) continue;
      walk(Number((e & PTE.FRAME) >> 12n), level - 1, null);
    }
  };
  for (const p of procs) walk(p.space.pml4, 4, p.space.selfRefIndex);
  return out;
}
