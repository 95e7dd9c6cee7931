// Builds a consistent x64 Windows machine in memory from a scenario and a real kernel layout:
// page tables, the kernel image with its CodeView record, kernel globals at the ISF's RVAs,
// pool-allocated EPROCESS objects linked on PsActiveProcessHead, user spaces, decoys.
// Only meaningful pages are materialised; writers stream them over a filler background.
import { IsfTypes, loadIsfFile } from '../src/ntos/isf.ts';
import { Rng } from './rng.ts';
import { AddressSpace, LARGE, PAGE, PTE, PhysMem, canonical, writeVa, type ContentClass } from './memory.ts';
import { Layout, StructWriter, utf16 } from './structs.ts';
import { Filler } from './filler.ts';
import type { Scenario, ScenarioProcess, SecurePages } from './scenario.ts';
import { knownByGuidAge } from './kernels.ts';

/** One user-range leaf entry of a process, with what its frame holds. */
export interface UserPte {
  readonly va: bigint;
  readonly kind: 'present' | 'transition' | 'pagefile' | 'demand-zero';
  readonly pfn?: number;
  readonly content?: ContentClass;
}

export interface BuiltProcess {
  readonly spec: ScenarioProcess;
  readonly eprocessVa: bigint;
  readonly eprocessPa: number;
  readonly poolHeaderVa: bigint;
  readonly objectHeaderVa: bigint;
  readonly dtb: number;
  readonly pebVa: bigint;
  readonly imageFileName: Buffer;
  readonly imagePath: string;
  readonly createTime: bigint;
  readonly exitTime: bigint;
  readonly sessionId: number | null;
  readonly protection: number;
  readonly secure: boolean;
  readonly securePages: SecurePages | null;
  readonly terminated: boolean;
  readonly linked: boolean;
  /** Reached from PsActiveProcessHead by following Flinks (false after a bad Flink). */
  reachableForward: boolean;
  readonly userPtes: UserPte[];
  readonly tablePfns: number[];
  readonly wow64: boolean;
  /** VAD ranges (first and last virtual page number, inclusive), as the VAD tree holds them. */
  readonly vads: { startVpn: bigint; endVpn: bigint }[];
}

export interface Decoy {
  readonly kind: 'tag-only' | 'small-block' | 'bad-pid' | 'physical-bad-pid';
  readonly va: bigint | null;
  readonly pa: number;
  readonly note: string;
}

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

const FILETIME_UNIX_EPOCH = 116444736000000000n;
export function filetime(ms: number): bigint {
  return BigInt(Math.round(ms)) * 10000n + FILETIME_UNIX_EPOCH;
}
export function filetimeToIso(ft: bigint): string | null {
  if (ft === 0n) return null;
  return new Date(Number((ft - FILETIME_UNIX_EPOCH) / 10000n)).toISOString();
}

const tag = (s: string) => Buffer.from(s, 'latin1').readUInt32LE(0);
const align = (n: number, a: number) => Math.ceil(n / a) * a;

/** Type names in ObTypeIndexTable order from index 2 (Windows 10: Process = 7). */
const OBJECT_TYPES: [string, string][] = [
  ['Type', 'ObjT'],
  ['Directory', 'Dire'],
  ['SymbolicLink', 'Symb'],
  ['Token', 'Toke'],
  ['Job', 'Job '],
  ['Process', 'Proc'],
  ['Thread', 'Thre'],
  ['Partition', 'Part'],
  ['UserApcReserve', 'User'],
  ['IoCompletionReserve', 'IoCo'],
  ['ActivityReference', 'Acti'],
  ['PsSiloContextPaged', 'PsSi'],
  ['PsSiloContextNonPaged', 'PsSi'],
  ['DebugObject', 'Debu'],
  ['Event', 'Even'],
];

/** Kernel VA ranges backed by 4 KiB pages allocated on first write. */
class KernelVm {
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

interface PoolBlock {
  readonly headerVa: bigint;
  readonly buf: Buffer;
}

/** Non-paged pool: a 2 MiB large-page region and a 4 KiB-mapped region whose pages are scattered in RAM. */
class Pool {
  private largeNext: bigint;
  private smallNext: bigint;
  private readonly largeEnd: bigint;
  private lastBlock = { va: -1n, size: 0 };
  readonly blocks: PoolBlock[] = [];

  constructor(
    readonly base: bigint,
    readonly kvm: KernelVm,
    private readonly rng: Rng,
  ) {
    this.largeNext = base + 0x1000n * BigInt(rng.int(1, 16));
    this.largeEnd = base + BigInt(LARGE);
    this.smallNext = base + BigInt(LARGE) + 0x1000n * BigInt(rng.int(0, 8)) + 0x40n;
  }

  /** Allocates a block of `bodySize` bytes after a POOL_HEADER; returns its header VA and a zeroed buffer for the whole block. */
  alloc(layout: Layout, bodySize: number, poolTag: string, region: 'large' | 'small', poolType = 2): PoolBlock {
    const total = align(0x10 + bodySize, 16);
    if (total > 0xff0) throw new Error(`pool block too large (${total})`);
    let va: bigint;
    if (region === 'large') {
      va = this.largeNext;
      // Small-pool blocks do not cross a page inside the large region.
      if ((va & 0xfffn) + BigInt(total) > 0x1000n) va = (va + 0xfffn) & ~0xfffn;
      if (va + BigInt(total) > this.largeEnd) return this.alloc(layout, bodySize, poolTag, 'small', poolType);
      this.largeNext = va + BigInt(total) + 16n * BigInt(this.rng.int(0, 6));
    } else {
      va = this.smallNext;
      this.smallNext = va + BigInt(total) + 16n * BigInt(this.rng.int(0, 6));
    }
    const buf = Buffer.alloc(total);
    const ph = new StructWriter(layout, '_POOL_HEADER', buf, 0);
    const samePage = this.lastBlock.va >= 0n && this.lastBlock.va >> 12n === va >> 12n;
    ph.set('PreviousSize', samePage ? this.lastBlock.size / 16 : 0);
    ph.set('PoolIndex', 0);
    ph.set('BlockSize', total / 16);
    ph.set('PoolType', poolType);
    ph.set('PoolTag', tag(poolTag));
    this.lastBlock = { va, size: total };
    this.kvm.ensure(va, total);
    const block = { headerVa: va, buf };
    this.blocks.push(block);
    return block;
  }
}

export function buildMachine(opts: MachineOptions): Machine {
  const { scenario, seed } = opts;
  const types = loadTypes(opts.isfPath);
  const layout = new Layout(types);
  const id = types.identity;
  if (!id) throw new Error(`${opts.isfPath}: ISF has no windows.pdb identity`);
  const guidAge = `${id.GUID.toUpperCase()}-${id.age}`;
  const known = knownByGuidAge(guidAge);
  const build = known?.build ?? 19041;
  const rng = new Rng(seed);
  const pageLimit = Math.floor(opts.sizeBytes / PAGE);
  if (pageLimit < 0x1000) throw new Error('size must be at least 16 MiB');
  const mem = new PhysMem(pageLimit, rng.fork('phys'));
  const filler = new Filler(seed);
  const kernelPfns = new Set<number>();

  // Physical holes: page 0 and the legacy VGA/BIOS window are not in Windows' memory runs;
  // the hypervisor keeps VTL1 (secure kernel and trustlet) memory out of VTL0's runs too.
  mem.addHole(0, 1, 'firmware');
  mem.addHole(0x9f, 0x100 - 0x9f, 'legacy-video-bios');
  if (pageLimit >= 0x100000 + 0x8000) mem.addHole(0xc0000, 0x20000, 'pci-mmio');
  const vtl1Count = Math.min(0x4000, Math.max(0x100, Math.floor(pageLimit / 32 / 0x100) * 0x100));
  let vtl1Base = Math.floor((pageLimit * 0.7) / 0x200) * 0x200;
  if (vtl1Base >= 0xc0000 && vtl1Base < 0xe0000 && pageLimit >= 0x108000) vtl1Base = 0xe0000;
  mem.addHole(vtl1Base, vtl1Count, 'vtl1-reserved');
  let vtl1Next = vtl1Base;
  // Volatility looks for the System DTB in these windows (automagic/windows.py): keep other PML4s out.
  mem.reserve(0x150, 0x150);
  mem.reserve(0x650, 0xa0);

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
  const systemPml4 = mem.claim(0x1ad);
  const system = new AddressSpace(mem, selfRefIndex, systemPml4);
  const kvm = new KernelVm(mem, system, kernelPfns);

  // --- kernel image: first 2 MiB on a large page, the rest 4 KiB-mapped where we write globals.
  for (let p = imagePhys; p < imagePhys + 512; p++) kernelPfns.add(p);
  system.map2m(kernelBase, imagePhys, { exec: true });
  const usedSymbols = ['PsActiveProcessHead', 'PsLoadedModuleList', 'KdDebuggerDataBlock', 'PsInitialSystemProcess', 'ObHeaderCookie', 'ObTypeIndexTable', 'NtBuildNumber', 'MmPfnDatabase', 'PspCidTable'];
  const maxRva = Math.max(...usedSymbols.map((s) => layout.rva(s)));
  const sizeOfImage = align(maxRva + 0x40000, 0x1000);
  const rsdsRva = 0x1c0000 + rng.int(0, 0x3000) * 16;
  writeKernelPe(kvm, kernelBase, sizeOfImage, rsdsRva, id, rng, layout);
  const sym = (name: string) => kernelBase + BigInt(layout.rva(name));
  const kwrite = (va: bigint, data: Buffer) => kvm.write(va, data);
  const u64 = (v: bigint) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt.asUintN(64, v));
    return b;
  };
  const u32 = (v: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    return b;
  };

  // --- pool
  for (let p = poolPhys; p < poolPhys + 512; p++) kernelPfns.add(p);
  system.map2m(poolBase, poolPhys);
  const pool = new Pool(poolBase, kvm, rng.fork('pool'));

  const obHeaderCookie = rng.int(1, 256);
  const processTypeIndex = 7;
  const bootMs = Date.parse(scenario.bootTime);
  const bootTime = filetime(bootMs);
  const crashTime = filetime(Date.parse(scenario.crashTime));

  /** An object in pool: POOL_HEADER, OBJECT_HEADER_QUOTA_INFO, OBJECT_HEADER, body. */
  const ohSize = layout.off('_OBJECT_HEADER', 'Body');
  const quotaSize = types.structSize('_OBJECT_HEADER_QUOTA_INFO') ?? 0x20;
  const allocObject = (bodySize: number, poolTag: string, typeIndex: number, region: 'large' | 'small') => {
    const block = pool.alloc(layout, quotaSize + ohSize + bodySize, poolTag, region);
    const ohOff = 0x10 + quotaSize;
    const ohVa = block.headerVa + BigInt(ohOff);
    const oh = new StructWriter(layout, '_OBJECT_HEADER', block.buf, ohOff);
    oh.set('PointerCount', rng.int(0x8, 0x40000));
    oh.set('HandleCount', rng.int(1, 0x40));
    // Windows 10: TypeIndex ^ ObHeaderCookie ^ second byte of the header's address (poolscanner/objects in vol3).
    oh.set('TypeIndex', (typeIndex ^ obHeaderCookie ^ Number((ohVa >> 8n) & 0xffn)) & 0xff);
    oh.set('InfoMask', 0x08);
    oh.set('SecurityDescriptor', poolBase + 0x1f0000n + BigInt(rng.int(0, 0x1000)) * 16n + 0xfn, true);
    const quota = new StructWriter(layout, '_OBJECT_HEADER_QUOTA_INFO', block.buf, 0x10);
    quota.set('PagedPoolCharge', 0x1000, true);
    quota.set('NonPagedPoolCharge', bodySize, true);
    return { block, ohVa, bodyVa: ohVa + BigInt(ohSize), bodyOff: ohOff + ohSize };
  };
  const unicodeString = (sw: StructWriter, path: string, bufVa: bigint, s: string) => {
    const len = Buffer.byteLength(s, 'utf16le');
    sw.set(`${path}.Length`, len);
    sw.set(`${path}.MaximumLength`, len + 2);
    sw.set(`${path}.Buffer`, bufVa);
  };
  /** A UNICODE_STRING's characters in their own pool block; returns their VA. */
  const poolString = (s: string, poolTag: string) => {
    const data = Buffer.concat([utf16(s), Buffer.alloc(2)]);
    const b = pool.alloc(layout, data.length, poolTag, 'large');
    data.copy(b.buf, 0x10);
    return b.headerVa + 0x10n;
  };

  // --- object types and ObTypeIndexTable
  const typeVas: bigint[] = [];
  const otSize = layout.size('_OBJECT_TYPE');
  OBJECT_TYPES.forEach(([name, key], i) => {
    const index = i + 2;
    const nameVa = poolString(name, 'ObNm');
    const o = allocObject(otSize, 'ObjT', 2, 'large');
    const ot = new StructWriter(layout, '_OBJECT_TYPE', o.block.buf, o.bodyOff);
    ot.set('TypeList.Flink', o.bodyVa + BigInt(layout.off('_OBJECT_TYPE', 'TypeList')));
    ot.set('TypeList.Blink', o.bodyVa + BigInt(layout.off('_OBJECT_TYPE', 'TypeList')));
    unicodeString(ot, 'Name', nameVa, name);
    ot.set('Index', index);
    ot.set('TotalNumberOfObjects', name === 'Process' ? scenario.processes.length : rng.int(1, 3000), true);
    ot.set('Key', tag(key), true);
    typeVas.push(o.bodyVa);
  });
  const typeTable = Buffer.alloc(8 * (typeVas.length + 3));
  typeTable.writeBigUInt64LE(0xbad0b0b0n, 8);
  typeVas.forEach((va, i) => typeTable.writeBigUInt64LE(va, 8 * (i + 2)));
  kwrite(sym('ObTypeIndexTable'), typeTable);
  kwrite(sym('ObHeaderCookie'), u32(obHeaderCookie));
  const processTypeVa = typeVas[processTypeIndex - 2];
  if (types.symbolRva('PsProcessType') !== undefined) kwrite(sym('PsProcessType'), u64(processTypeVa));

  // --- globals
  kwrite(sym('NtBuildNumber'), u32((0xf0000000 | build) >>> 0));
  const mmPfnDatabase = canonical(BigInt(pick(0x140, 0x1e0, [selfRefIndex, poolIndex, sessionIndex])) << 39n) | 0x8000000000n * BigInt(rng.int(0, 2));
  kwrite(sym('MmPfnDatabase'), u64(mmPfnDatabase));
  if (types.symbolRva('MmSystemRangeStart') !== undefined) kwrite(sym('MmSystemRangeStart'), u64(0xffff800000000000n));
  if (types.symbolRva('KeNumberProcessors') !== undefined) kwrite(sym('KeNumberProcessors'), u32(scenario.processors ?? 4));
  if (types.symbolRva('KdpDataBlockEncoded') !== undefined) kwrite(sym('KdpDataBlockEncoded'), Buffer.from([0]));
  for (const k of ['KiWaitNever', 'KiWaitAlways']) if (types.symbolRva(k) !== undefined) kwrite(sym(k), u64(rng.u64()));
  if (types.symbolRva('NtBuildLab') !== undefined) {
    const lab = known ? `${known.version.split('.').slice(2).join('.')}.amd64fre.release.000000-0000` : `${build}.1.amd64fre`;
    kwrite(sym('NtBuildLab'), Buffer.from(lab + '\0', 'latin1'));
  }
  // PspCidTable: an (empty) handle table object.
  const cid = pool.alloc(layout, layout.size('_HANDLE_TABLE'), 'Obtb', 'large');
  kwrite(sym('PspCidTable'), u64(cid.headerVa + 0x10n));

  // The low stub (PROCESSOR_START_BLOCK) at PA 0x1000, as MemProcFS finds it in raw images (formats.md §3):
  // a jmp at +0, the kernel entry at +0x70 and the boot CR3 at +0xA0.
  {
    const lowStub = mem.page(1);
    lowStub.writeBigUInt64LE(0x00000001000600e9n, 0);
    lowStub.writeBigUInt64LE(kernelBase + 0x3d4010n, 0x70);
    lowStub.writeBigUInt64LE(BigInt(system.dtb), 0xa0);
  }
  // KUSER_SHARED_DATA at its fixed kernel address.
  const kuserVa = 0xfffff78000000000n;
  const kuser = Buffer.alloc(layout.size('_KUSER_SHARED_DATA'));
  const ku = new StructWriter(layout, '_KUSER_SHARED_DATA', kuser, 0);
  ku.set('NtMajorVersion', 10);
  ku.set('NtMinorVersion', 0);
  ku.set('NtBuildNumber', build, true);
  ku.set('NtProductType', scenario.productType ?? 1, true);
  ku.set('ProductTypeIsValid', 1, true);
  ku.set('NumberOfPhysicalPages', pageLimit, true);
  ku.set('ActiveProcessorCount', scenario.processors ?? 4, true);
  ku.set('SystemTime.LowPart', Number(crashTime & 0xffffffffn), true);
  ku.set('SystemTime.High1Time', Number(crashTime >> 32n), true);
  ku.set('SystemTime.High2Time', Number(crashTime >> 32n), true);
  const upTime = crashTime - bootTime;
  ku.set('InterruptTime.LowPart', Number(upTime & 0xffffffffn), true);
  ku.set('InterruptTime.High1Time', Number(upTime >> 32n), true);
  ku.set('InterruptTime.High2Time', Number(upTime >> 32n), true);
  ku.bytes('NtSystemRoot', utf16('C:\\Windows\0'), true);
  kwrite(kuserVa, kuser);

  // --- sessions
  const sessions = new Map<number, bigint>();
  const sessionSize = layout.size('_MM_SESSION_SPACE');
  for (const sid of [...new Set(scenario.processes.map((p) => p.session).filter((s): s is number => typeof s === 'number'))].sort()) {
    const va = sessionBase + BigInt(sid) * 0x1000000n;
    const b = Buffer.alloc(sessionSize);
    const ss = new StructWriter(layout, '_MM_SESSION_SPACE', b, 0);
    ss.set('ReferenceCount', rng.int(2, 40), true);
    ss.set('SessionId', sid);
    const pl = layout.field('_MM_SESSION_SPACE', 'ProcessList');
    if (pl) {
      ss.set('ProcessList.Flink', va + BigInt(pl.offset));
      ss.set('ProcessList.Blink', va + BigInt(pl.offset));
    }
    kwrite(va, b);
    sessions.set(sid, va);
  }

  // --- processes
  const epSize = layout.size('_EPROCESS');
  const aplOff = layout.off('_EPROCESS', 'ActiveProcessLinks');
  const marker = layout.has('_KPROCESS', 'SecureState') ? 'SecureState' : layout.has('_KPROCESS', 'SecurePid') ? 'SecurePid' : null;
  const built: (BuiltProcess & { obj: ReturnType<typeof allocObject>; ep: StructWriter; space: AddressSpace })[] = [];
  const urng = rng.fork('user');
  const constantFill = 0xff;
  const fillerSeedBase = 0x4000000;
  let userContentCounter = 0;

  scenario.processes.forEach((spec, i) => {
    const isSystem = spec.pid === 4;
    const terminated = spec.exit !== undefined;
    const secure = !!spec.secure;
    const mode: SecurePages | null = secure ? (spec.securePages ?? scenario.securePages) : null;
    const space = isSystem ? system : new AddressSpace(mem, selfRefIndex, mem.alloc('kernel'));
    kernelPfns.add(space.pml4);
    const obj = allocObject(epSize, 'Proc', processTypeIndex, i % 3 === 1 ? 'small' : 'large');
    const epVa = obj.bodyVa;
    const ep = new StructWriter(layout, '_EPROCESS', obj.block.buf, obj.bodyOff);
    const imagePath = spec.path ?? defaultPath(spec.name);
    const dosPath = imagePath.replace(/^\\Device\\HarddiskVolume\d+/, 'C:');

    // User space.
    const userPtes: UserPte[] = [];
    const vads: { startVpn: bigint; endVpn: bigint }[] = [];
    const vad = (start: bigint, pages: number) => vads.push({ startVpn: start >> 12n, endVpn: (start >> 12n) + BigInt(pages) - 1n });
    let pebVa = 0n;
    const nUser = terminated ? 0 : (spec.userPages ?? 10);
    if (nUser > 0) {
      const pageFor = (n: number): { kind: UserPte['kind']; pfn?: number; content?: ContentClass }[] => {
        const out: { kind: UserPte['kind']; pfn?: number; content?: ContentClass }[] = [];
        for (let k = 0; k < n; k++) {
          let m: 'absent' | 'zero' | 'constant' | 'readable' = 'readable';
          if (mode && mode !== 'mixed') m = mode;
          if (mode === 'mixed') m = (['absent', 'zero', 'constant', 'readable'] as const)[(userContentCounter + k) % 4];
          if (m === 'absent') {
            if (vtl1Next >= vtl1Base + vtl1Count) throw new Error('VTL1 hole exhausted');
            out.push({ kind: 'present', pfn: vtl1Next++, content: 'readable' });
          } else {
            const pfn = mem.alloc('user');
            const content: ContentClass = m === 'zero' ? 'zero' : m === 'constant' ? 'constant' : 'readable';
            out.push({ kind: 'present', pfn, content });
          }
        }
        userContentCounter += n;
        return out;
      };
      const wow = !!spec.wow64;
      const region = BigInt(urng.int(0x10, 0xf0)) * 0x100000000n + BigInt(urng.int(0x100, 0xfff)) * 0x100000n;
      const heapBase = BigInt(urng.int(0x100, 0x2ff)) * 0x100000000n + BigInt(urng.int(0, 0x100)) * 0x100000n;
      const imageBase = wow ? BigInt(urng.int(0x40, 0xff0)) * 0x10000n : 0x7ff600000000n + BigInt(urng.int(0, 0xffff)) * 0x10000n;
      const hasPeb = !spec.noPeb;
      const imgPages = hasPeb ? Math.min(3, Math.max(1, nUser - 4)) : 0;
      const stackPages = hasPeb ? Math.min(2, Math.max(0, nUser - 1 - imgPages - 1)) : 0;
      const heapPages = Math.max(0, nUser - (hasPeb ? 1 : 0) - imgPages - stackPages);
      const pages = pageFor(nUser);
      let k = 0;
      const place = (va: bigint) => {
        const p = pages[k++];
        const content = p.content!;
        space.map4k(va, p.pfn!, { user: true });
        userPtes.push({ va, kind: 'present', pfn: p.pfn, content });
        return p;
      };
      const secureFill = (p: { pfn?: number; content?: ContentClass }) => {
        if (p.pfn === undefined || mem.isHole(p.pfn)) return false;
        if (p.content === 'zero') {
          mem.page(p.pfn).fill(0);
          return false;
        }
        if (p.content === 'constant') {
          mem.page(p.pfn).fill(constantFill);
          return false;
        }
        return true;
      };
      if (hasPeb) {
        pebVa = region + BigInt(urng.int(0, 0x20)) * 0x1000n;
        const pebPage = place(pebVa);
        vad(pebVa, 1);
        const paramsVa = heapBase + 0x1000n;
        if (secureFill(pebPage)) {
          const peb = Buffer.alloc(layout.size('_PEB'));
          const pw = new StructWriter(layout, '_PEB', peb, 0);
          pw.set('ImageBaseAddress', imageBase);
          pw.set('ProcessParameters', paramsVa);
          pw.set('OSMajorVersion', 10, true);
          pw.set('OSMinorVersion', 0, true);
          pw.set('OSBuildNumber', build, true);
          pw.set('OSPlatformId', 2, true);
          pw.set('NumberOfProcessors', scenario.processors ?? 4, true);
          pw.set('SessionId', spec.session ?? 0, true);
          pw.set('ImageSubsystem', 2, true);
          pw.set('ImageSubsystemMajorVersion', 10, true);
          writeVa(space, pebVa, peb);
        }
        for (let s = 0; s < stackPages; s++) {
          const p = place(region + 0x200000n - BigInt(stackPages - s) * 0x1000n);
          if (secureFill(p)) filler.write(fillerSeedBase + urng.int(0, 0x100000), mem.page(p.pfn!), 0);
        }
        // Stack guard page: demand-zero with protection, not resident; the reserve below it has no PTEs.
        const guard = region + 0x200000n - BigInt(stackPages + 1) * 0x1000n;
        space.setPte(guard, 0x104n << 5n);
        userPtes.push({ va: guard, kind: 'demand-zero' });
        vad(guard - 8n * 0x1000n, stackPages + 1 + 8);
        for (let s = 0; s < imgPages; s++) {
          const p = place(imageBase + BigInt(s) * 0x1000n);
          if (secureFill(p)) {
            const b = mem.page(p.pfn!);
            filler.write(fillerSeedBase + urng.int(0, 0x100000), b, 0);
            if (s === 0) writeUserPe(b, spec.name, wow);
          }
        }
        vad(imageBase, imgPages + 5);
      }
      for (let s = 0; s < heapPages; s++) {
        const p = place(heapBase + BigInt(s) * 0x1000n);
        if (secureFill(p)) {
          const b = mem.page(p.pfn!);
          filler.write(fillerSeedBase + urng.int(0, 0x100000), b, 0);
          b.write(secure ? 'LSAISO\0\0' : 'HEAP\0\0\0\0', 0x40, 'latin1');
        }
      }
      vad(heapBase, hasPeb ? 0x60 : heapPages + 16);
      if (hasPeb) {
        // RTL_USER_PROCESS_PARAMETERS on the second heap page.
        const pv = heapBase + 0x1000n;
        const p = userPtes.find((u) => u.va === (pv & ~0xfffn));
        if (p && p.pfn !== undefined && !mem.isHole(p.pfn) && p.content === 'readable') {
          const size = layout.size('_RTL_USER_PROCESS_PARAMETERS');
          const cmd = spec.commandLine ?? defaultCommandLine(dosPath);
          const imgStr = Buffer.concat([utf16(dosPath), Buffer.alloc(2)]);
          const cmdStr = Buffer.concat([utf16(cmd), Buffer.alloc(2)]);
          const b = Buffer.alloc(size + imgStr.length + cmdStr.length);
          const w = new StructWriter(layout, '_RTL_USER_PROCESS_PARAMETERS', b, 0);
          w.set('MaximumLength', b.length);
          w.set('Length', b.length);
          w.set('Flags', 1);
          imgStr.copy(b, size);
          cmdStr.copy(b, size + imgStr.length);
          unicodeString(w, 'ImagePathName', pv + BigInt(size), dosPath);
          unicodeString(w, 'CommandLine', pv + BigInt(size + imgStr.length), cmd);
          if (b.length <= 0x1000) writeVa(space, pv, b);
        }
        // A page still in RAM on the standby list (transition PTE) and two paged-out pages.
        const [t] = pageFor(1);
        const tva = heapBase + 0x40000n;
        if (secureFill(t)) filler.write(fillerSeedBase + urng.int(0, 0x100000), mem.page(t.pfn!), 0);
        space.setPte(tva, (BigInt(t.pfn!) << 12n) | PTE.TRANSITION | (4n << 5n));
        userPtes.push({ va: tva, kind: 'transition', pfn: t.pfn, content: t.content });
        for (let s = 0; s < 2; s++) {
          const va = heapBase + 0x50000n + BigInt(s) * 0x1000n;
          space.setPte(va, (BigInt(urng.int(0x100, 0xfffff)) << 32n) | (4n << 5n) | (1n << 1n));
          userPtes.push({ va, kind: 'pagefile' });
        }
      }
    }

    // Handle table, audit name, WoW64 block.
    let objectTable = 0n;
    if (!terminated) {
      const ht = pool.alloc(layout, layout.size('_HANDLE_TABLE'), 'Obtb', 'large');
      const hw = new StructWriter(layout, '_HANDLE_TABLE', ht.buf, 0x10);
      hw.set('NextHandleNeedingPool', 0x400 * urng.int(1, 8), true);
      hw.set('QuotaProcess', isSystem ? 0n : epVa, true);
      hw.set('UniqueProcessId', spec.pid, true);
      const hl = layout.field('_HANDLE_TABLE', 'HandleTableList');
      if (hl) {
        hw.set('HandleTableList.Flink', ht.headerVa + 0x10n + BigInt(hl.offset));
        hw.set('HandleTableList.Blink', ht.headerVa + 0x10n + BigInt(hl.offset));
      }
      objectTable = ht.headerVa + 0x10n;
    }
    const nameBody = Buffer.concat([Buffer.alloc(layout.size('_OBJECT_NAME_INFORMATION')), utf16(imagePath), Buffer.alloc(2)]);
    const ni = pool.alloc(layout, nameBody.length, 'SeAt', 'large');
    nameBody.copy(ni.buf, 0x10);
    const niVa = ni.headerVa + 0x10n;
    unicodeString(new StructWriter(layout, '_OBJECT_NAME_INFORMATION', ni.buf, 0x10), 'Name', niVa + BigInt(layout.size('_OBJECT_NAME_INFORMATION')), imagePath);
    let wowVa = 0n;
    if (spec.wow64) {
      const wsz = types.structSize('_EWOW64PROCESS') ?? 0x10;
      const wb = pool.alloc(layout, wsz, 'Wo64', 'large');
      const ww = new StructWriter(layout, '_EWOW64PROCESS', wb.buf, 0x10);
      ww.set('Peb', pebVa ? pebVa + 0x1000n : 0n, true);
      ww.set('Machine', 0x14c, true);
      wowVa = wb.headerVa + 0x10n;
    }

    // The VAD tree: MMVAD_SHORT nodes in pool, balanced by start address.
    const vadNodes = [...vads].sort((a, b) => (a.startVpn < b.startVpn ? -1 : 1)).map((v) => {
      const blk = pool.alloc(layout, layout.size('_MMVAD_SHORT'), 'VadS', 'large');
      return { v, blk, va: blk.headerVa + 0x10n, w: new StructWriter(layout, '_MMVAD_SHORT', blk.buf, 0x10) };
    });
    const buildTree = (lo: number, hi: number, parent: bigint): bigint => {
      if (lo > hi) return 0n;
      const mid = (lo + hi) >> 1;
      const n = vadNodes[mid];
      n.w.set('StartingVpn', n.v.startVpn & 0xffffffffn);
      n.w.set('EndingVpn', n.v.endVpn & 0xffffffffn);
      n.w.set('StartingVpnHigh', n.v.startVpn >> 32n, true);
      n.w.set('EndingVpnHigh', n.v.endVpn >> 32n, true);
      n.w.set('VadNode.ParentValue', parent, true);
      n.w.set('ReferenceCount', 1, true);
      n.w.set('u.VadFlags.Protection', 4, true);
      n.w.set('VadNode.Left', buildTree(lo, mid - 1, n.va));
      n.w.set('VadNode.Right', buildTree(mid + 1, hi, n.va));
      return n.va;
    };
    const vadRoot = buildTree(0, vadNodes.length - 1, 0n);

    // The EPROCESS body, field by field.
    const createTime = spec.pid === 4 ? bootTime : filetime(bootMs + spec.start * 1000);
    const exitTime = terminated ? filetime(bootMs + spec.exit! * 1000) : 0n;
    ep.set('Pcb.Header.Type', 3, true);
    ep.set('Pcb.Header.Size', Math.floor(layout.size('_KPROCESS') / 4) & 0xff, true);
    ep.set('Pcb.DirectoryTableBase', BigInt(space.dtb));
    ep.set('Pcb.UserDirectoryTableBase', 0n, true);
    const ready = layout.field('_EPROCESS', 'Pcb.ReadyListHead');
    if (ready) {
      ep.set('Pcb.ReadyListHead.Flink', epVa + BigInt(ready.offset));
      ep.set('Pcb.ReadyListHead.Blink', epVa + BigInt(ready.offset));
    }
    const kthreads = layout.field('_EPROCESS', 'Pcb.ThreadListHead');
    if (kthreads) {
      ep.set('Pcb.ThreadListHead.Flink', epVa + BigInt(kthreads.offset));
      ep.set('Pcb.ThreadListHead.Blink', epVa + BigInt(kthreads.offset));
    }
    if (secure && marker === 'SecureState') ep.set('Pcb.SecureState', (BigInt(urng.int(0x10, 0x3fffff)) << 2n) | 1n);
    if (secure && marker === 'SecurePid') ep.set('Pcb.SecurePid', BigInt(urng.int(0x100, 0x7fffffff)) * 4n);
    if (secure && layout.has('_EPROCESS', 'TrustletIdentity') && spec.trustletId !== undefined) ep.set('TrustletIdentity', spec.trustletId);
    ep.set('UniqueProcessId', spec.pid);
    ep.set('InheritedFromUniqueProcessId', spec.ppid);
    const imageFileName = Buffer.from(spec.name, 'latin1').subarray(0, 15);
    const ifn = Buffer.alloc(15);
    imageFileName.copy(ifn);
    ep.bytes('ImageFileName', ifn);
    ep.set('CreateTime', createTime);
    ep.set('ExitTime', exitTime);
    ep.set('ExitStatus', terminated ? 0 : 0x103, true);
    ep.set('Peb', pebVa);
    ep.set('SectionBaseAddress', pebVa ? imageBaseOf(userPtes, spec) : 0n, true);
    const sessionId = typeof spec.session === 'number' ? spec.session : null;
    ep.set('Session', sessionId !== null ? sessions.get(sessionId)! : 0n);
    const protection = Number(spec.protection ?? '0');
    ep.bytes('Protection', Buffer.from([protection]));
    ep.set('SeAuditProcessCreationInfo.ImageFileName', niVa);
    ep.set('ObjectTable', objectTable);
    if (!ep.set('WoW64Process', wowVa, true)) ep.set('Wow64Process', wowVa, true);
    const tl = layout.off('_EPROCESS', 'ThreadListHead');
    ep.set('ThreadListHead.Flink', epVa + BigInt(tl));
    ep.set('ThreadListHead.Blink', epVa + BigInt(tl));
    ep.set('ActiveThreads', terminated ? 0 : (spec.threads ?? 4), true);
    const spl = layout.field('_EPROCESS', 'SessionProcessLinks');
    if (spl) {
      ep.set('SessionProcessLinks.Flink', epVa + BigInt(spl.offset));
      ep.set('SessionProcessLinks.Blink', epVa + BigInt(spl.offset));
    }
    if (terminated) ep.set('ProcessExiting', 1, true);
    ep.set('ProcessInSession', sessionId !== null ? 1 : 0, true);
    ep.set('UniqueProcessKey', BigInt(spec.pid), true);
    ep.set('ImagePathHash', urng.u32(), true);
    ep.set('VadRoot.Root', vadRoot, true);
    ep.set('VadCount', vadNodes.length, true);

    built.push({
      spec,
      eprocessVa: epVa,
      eprocessPa: 0,
      poolHeaderVa: obj.block.headerVa,
      objectHeaderVa: obj.ohVa,
      dtb: space.dtb,
      pebVa,
      imageFileName,
      imagePath,
      createTime,
      exitTime,
      sessionId,
      protection,
      secure,
      securePages: mode,
      terminated,
      linked: !spec.unlinked,
      reachableForward: !spec.unlinked,
      userPtes,
      tablePfns: [space.pml4],
      wow64: !!spec.wow64,
      vads,
      obj,
      ep,
      space,
    });
  });

  // --- PsActiveProcessHead and the list.
  const head = sym('PsActiveProcessHead');
  const linked = built.filter((p) => p.linked);
  const linkVa = (p: (typeof built)[number]) => p.eprocessVa + BigInt(aplOff);
  const flinks = new Map<(typeof built)[number] | 'head', bigint>();
  const blinks = new Map<(typeof built)[number] | 'head', bigint>();
  linked.forEach((p, i) => {
    flinks.set(p, i + 1 < linked.length ? linkVa(linked[i + 1]) : head);
    blinks.set(p, i > 0 ? linkVa(linked[i - 1]) : head);
  });
  flinks.set('head', linked.length ? linkVa(linked[0]) : head);
  blinks.set('head', linked.length ? linkVa(linked[linked.length - 1]) : head);
  const lc = scenario.listCorruption;
  if (lc) {
    const at = linked.find((p) => p.spec.pid === lc.pid);
    if (!at) throw new Error(`list corruption at unknown/unlinked pid ${lc.pid}`);
    if (lc.kind === 'cycle') {
      const to = linked.find((p) => p.spec.pid === lc.toPid);
      if (!to) throw new Error(`cycle target pid ${lc.toPid} not linked`);
      flinks.set(at, linkVa(to));
      const ai = linked.indexOf(at);
      linked.slice(ai + 1).forEach((p) => (p.reachableForward = false));
    } else {
      flinks.set(at, BigInt(lc.value ?? '0xdeadbeefdeadbeef'));
      const ai = linked.indexOf(at);
      linked.slice(ai + 1).forEach((p) => (p.reachableForward = false));
    }
  }
  for (const p of built) {
    if (p.linked) {
      p.ep.set('ActiveProcessLinks.Flink', flinks.get(p)!);
      p.ep.set('ActiveProcessLinks.Blink', blinks.get(p)!);
    } else {
      // DKOM (FU-style): the hidden process's links point at itself.
      p.ep.set('ActiveProcessLinks.Flink', linkVa(p));
      p.ep.set('ActiveProcessLinks.Blink', linkVa(p));
    }
  }
  const headBuf = Buffer.alloc(16);
  headBuf.writeBigUInt64LE(flinks.get('head')!, 0);
  headBuf.writeBigUInt64LE(blinks.get('head')!, 8);
  kwrite(head, headBuf);
  kwrite(sym('PsInitialSystemProcess'), u64(built[0].eprocessVa));

  // --- PsLoadedModuleList: ntoskrnl.exe and hal.dll.
  const modHead = sym('PsLoadedModuleList');
  const ldrSize = layout.size('_LDR_DATA_TABLE_ENTRY');
  const mods = [
    { full: '\\SystemRoot\\system32\\ntoskrnl.exe', base: 'ntoskrnl.exe', dllBase: kernelBase, size: sizeOfImage },
    { full: '\\SystemRoot\\system32\\hal.dll', base: 'hal.dll', dllBase: kernelBase - 0x400000n * BigInt(rng.int(4, 64)), size: 0x69000 },
  ];
  const ldrBlocks = mods.map((m) => {
    const full = Buffer.concat([utf16(m.full), Buffer.alloc(2)]);
    const base = Buffer.concat([utf16(m.base), Buffer.alloc(2)]);
    const b = pool.alloc(layout, ldrSize + full.length + base.length, 'MmLd', 'large');
    const va = b.headerVa + 0x10n;
    const w = new StructWriter(layout, '_LDR_DATA_TABLE_ENTRY', b.buf, 0x10);
    full.copy(b.buf, 0x10 + ldrSize);
    base.copy(b.buf, 0x10 + ldrSize + full.length);
    w.set('DllBase', m.dllBase);
    w.set('EntryPoint', m.dllBase + 0x3b0000n + BigInt(rng.int(0, 0x1000)) * 16n, true);
    w.set('SizeOfImage', m.size);
    unicodeString(w, 'FullDllName', va + BigInt(ldrSize), m.full);
    unicodeString(w, 'BaseDllName', va + BigInt(ldrSize + full.length), m.base);
    w.set('Flags', 0x49104000, true);
    w.set('ObsoleteLoadCount', 1, true);
    w.set('LoadCount', 1, true);
    return { va, w };
  });
  const lo = layout.off('_LDR_DATA_TABLE_ENTRY', 'InLoadOrderLinks');
  ldrBlocks.forEach((m, i) => {
    m.w.set('InLoadOrderLinks.Flink', i + 1 < ldrBlocks.length ? ldrBlocks[i + 1].va + BigInt(lo) : modHead);
    m.w.set('InLoadOrderLinks.Blink', i > 0 ? ldrBlocks[i - 1].va + BigInt(lo) : modHead);
  });
  const mh = Buffer.alloc(16);
  mh.writeBigUInt64LE(ldrBlocks[0].va + BigInt(lo), 0);
  mh.writeBigUInt64LE(ldrBlocks[ldrBlocks.length - 1].va + BigInt(lo), 8);
  kwrite(modHead, mh);

  // --- KDBG (KDDEBUGGER_DATA64, decoded as a crash dump writer leaves it; wdbgexts.h layout).
  const kdbgVa = sym('KdDebuggerDataBlock');
  const kdbg = Buffer.alloc(0x368);
  const listHeadVa = kdbgVa + 0x380n;
  kdbg.writeBigUInt64LE(listHeadVa, 0x00);
  kdbg.writeBigUInt64LE(listHeadVa, 0x08);
  kdbg.write('KDBG', 0x10, 'latin1');
  kdbg.writeUInt32LE(0x368, 0x14);
  kdbg.writeBigUInt64LE(kernelBase, 0x18);
  kdbg.writeBigUInt64LE(kernelBase + 0x1f5000n, 0x20);
  kdbg.writeUInt16LE(0x130, 0x30);
  kdbg.writeUInt16LE(0x138, 0x32);
  kdbg.writeUInt16LE(0x158, 0x34);
  kdbg.writeBigUInt64LE(modHead, 0x48);
  kdbg.writeBigUInt64LE(head, 0x50);
  kdbg.writeBigUInt64LE(sym('PspCidTable'), 0x58);
  kdbg.writeBigUInt64LE(sym('ObTypeIndexTable'), 0xa0);
  kdbg.writeBigUInt64LE(sym('MmPfnDatabase'), 0xc0);
  kwrite(kdbgVa, kdbg);
  const kl = Buffer.alloc(16);
  kl.writeBigUInt64LE(kdbgVa, 0);
  kl.writeBigUInt64LE(kdbgVa, 8);
  kwrite(listHeadVa, kl);

  // --- decoys: 'Proc' tags that must not become processes.
  const decoys: Decoy[] = [];
  if (scenario.decoys) {
    const drng = rng.fork('decoys');
    const fakeBody = (pid: number, name: string) => {
      const b = Buffer.alloc(epSize);
      const w = new StructWriter(layout, '_EPROCESS', b, 0);
      w.set('Pcb.DirectoryTableBase', BigInt(mem.alloc('kernel')) * 0x1000n);
      w.set('UniqueProcessId', pid);
      w.set('InheritedFromUniqueProcessId', 4188);
      const n = Buffer.alloc(15);
      Buffer.from(name, 'latin1').copy(n);
      w.bytes('ImageFileName', n);
      w.set('CreateTime', filetime(bootMs + 4000_000));
      w.set('ThreadListHead.Flink', poolBase + 0x123450n);
      w.set('ThreadListHead.Blink', poolBase + 0x123450n);
      w.set('ActiveProcessLinks.Flink', poolBase + 0x5550n);
      w.set('ActiveProcessLinks.Blink', poolBase + 0x5550n);
      return b;
    };
    // (1) a tag in random bytes, without valid headers around it.
    {
      const b = pool.alloc(layout, 0x300, 'Frag', 'large');
      drng.fill(b.buf);
      b.buf.write('Proc', 0x94, 'latin1');
      decoys.push({ kind: 'tag-only', va: b.headerVa + 0x90n, pa: 0, note: "'Proc' inside random bytes; no pool or object header" });
    }
    // (2) a well-formed process body behind a POOL_HEADER whose BlockSize is far too small.
    {
      const o = allocObject(epSize, 'Proc', processTypeIndex, 'large');
      o.block.buf.writeUInt16LE(0x10 | (2 << 8), 2); // BlockSize 0x10 (256 bytes), PoolType 2
      fakeBody(9332, 'svchost.exe').copy(o.block.buf, o.bodyOff);
      decoys.push({ kind: 'small-block', va: o.block.headerVa, pa: 0, note: 'valid-looking EPROCESS but BlockSize 0x10 < sizeof(EPROCESS)' });
    }
    // (3) a complete allocation whose PID is not a multiple of 4.
    {
      const o = allocObject(epSize, 'Proc', processTypeIndex, 'large');
      fakeBody(0x1a3b, 'svch0st.exe').copy(o.block.buf, o.bodyOff);
      decoys.push({ kind: 'bad-pid', va: o.block.headerVa, pa: 0, note: 'pool and object headers valid; PID 0x1a3b is not a multiple of 4' });
    }
  }

  // --- flush objects into memory, then record physical addresses.
  for (const b of pool.blocks) writeVa(system, b.headerVa, b.buf);
  for (const p of built) (p as { eprocessPa: number }).eprocessPa = system.translate(p.eprocessVa)!;
  for (const d of decoys) (d as { pa: number }).pa = system.translate(d.va!)!;
  if (scenario.decoys) {
    // (4) the bad-PID decoy copied into a free physical page no mapping reaches (for physical scanners).
    const src = decoys.find((d) => d.kind === 'bad-pid')!;
    const pfn = mem.alloc('kernel');
    const page = mem.page(pfn);
    filler.write(pfn, page, 0);
    const blk = pool.blocks.find((b) => b.headerVa === src.va)!;
    const at = 0x200;
    blk.buf.copy(page, at, 0, Math.min(blk.buf.length, PAGE - at));
    decoys.push({ kind: 'physical-bad-pid', va: null, pa: pfn * PAGE + at, note: 'copy of the bad-PID decoy in an unmapped page' });
  }

  // Every process shares the kernel half; collect page-table pages.
  for (const p of built) {
    if (p.space !== system) p.space.shareKernel(system);
  }
  const tablePfns = collectTables(mem, built);
  for (const t of tablePfns) kernelPfns.add(t);

  return {
    scenario,
    seed,
    layout,
    isfPath: opts.isfPath,
    pdb: { name: id.database, guid: id.GUID.toUpperCase(), age: id.age },
    build,
    version: known?.version ?? null,
    mem,
    filler,
    system,
    selfRefIndex,
    kernelBase,
    sizeOfImage,
    psActiveProcessHead: head,
    psLoadedModuleList: modHead,
    kdDebuggerDataBlock: kdbgVa,
    mmPfnDatabase,
    obHeaderCookie,
    processTypeIndex,
    processes: built.map((b) => {
      const { obj: _o, ep: _e, space: _s, ...rest } = b as BuiltProcess & { obj: unknown; ep: unknown; space: unknown };
      return rest as BuiltProcess;
    }),
    decoys,
    crashTime,
    bootTime,
    kernelPfns,
    constantFill,
  };
}

function imageBaseOf(ptes: UserPte[], spec: ScenarioProcess): bigint {
  // The image's first page is the one whose VA is 64 KiB-aligned in the image range.
  const img = ptes.find((p) => p.kind === 'present' && (p.va >= 0x7ff600000000n || (spec.wow64 && p.va < 0x100000000n)) && (p.va & 0xffffn) === 0n);
  return img ? img.va : 0n;
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

function defaultPath(name: string): string {
  const lower = name.toLowerCase();
  if (!/\.exe$/.test(lower)) return name;
  return `\\Device\\HarddiskVolume3\\Windows\\System32\\${name}`;
}

function defaultCommandLine(dosPath: string): string {
  return dosPath.includes(' ') ? `"${dosPath}"` : dosPath;
}

/** A plausible PE header for a user image's first page. */
function writeUserPe(b: Buffer, name: string, wow: boolean): void {
  b.fill(0, 0, 0x400);
  b.write('MZ', 0, 'latin1');
  b.writeUInt16LE(0x90, 2);
  b.writeUInt32LE(0xf8, 0x3c);
  b.write('This program cannot be run in DOS mode.\r\r\n$', 0x4e, 'latin1');
  b.write('PE\0\0', 0xf8, 'latin1');
  b.writeUInt16LE(wow ? 0x14c : 0x8664, 0xfc);
  b.writeUInt16LE(6, 0xfe);
  b.writeUInt16LE(wow ? 0xe0 : 0xf0, 0x10c);
  b.writeUInt16LE(0x22, 0x10e);
  b.writeUInt16LE(wow ? 0x10b : 0x20b, 0x110);
  b.write(name.slice(0, 32), 0x300, 'latin1');
}

/** The kernel's PE header, section table and debug directory with the CodeView RSDS record of the ISF's PDB. */
function writeKernelPe(kvm: KernelVm, base: bigint, sizeOfImage: number, rsdsRva: number, id: { GUID: string; age: number; database: string }, rng: Rng, layout: Layout): void {
  const h = Buffer.alloc(0x1000);
  h.write('MZ', 0, 'latin1');
  h.writeUInt16LE(0x90, 2);
  h.writeUInt16LE(3, 4);
  h.writeUInt16LE(4, 8);
  h.writeUInt16LE(0xffff, 0x0c);
  h.writeUInt16LE(0xb8, 0x10);
  h.writeUInt16LE(0x40, 0x18);
  const lfanew = 0x108;
  h.writeUInt32LE(lfanew, 0x3c);
  h.write('This program cannot be run in DOS mode.\r\r\n$', 0x4e, 'latin1');
  h.write('PE\0\0', lfanew, 'latin1');
  const fh = lfanew + 4;
  const dataStart = Math.floor(Math.min(...['PsActiveProcessHead', 'PsLoadedModuleList', 'KdDebuggerDataBlock', 'NtBuildNumber'].map((s) => layout.rva(s))) / 0x1000) * 0x1000;
  const sections: [string, number, number, number][] = [
    ['.text', 0x1000, 0x1bf000, 0x60000020],
    ['.rdata', 0x1c0000, 0x40000, 0x40000040],
    ['PAGE', 0x200000, Math.max(0x1000, dataStart - 0x200000), 0x60000020],
    ['.data', dataStart, sizeOfImage - dataStart - 0x1000, 0xc8000040],
    ['.reloc', sizeOfImage - 0x1000, 0x1000, 0x42000040],
  ];
  h.writeUInt16LE(0x8664, fh);
  h.writeUInt16LE(sections.length, fh + 2);
  h.writeUInt32LE(rng.u32(), fh + 4);
  h.writeUInt16LE(0xf0, fh + 16);
  h.writeUInt16LE(0x22, fh + 18);
  const oh = fh + 20;
  h.writeUInt16LE(0x20b, oh);
  h.writeUInt8(14, oh + 2);
  h.writeUInt32LE(0x1bf000, oh + 4);
  h.writeUInt32LE(0x3b0000, oh + 16);
  h.writeUInt32LE(0x1000, oh + 20);
  h.writeBigUInt64LE(0x140000000n, oh + 24);
  h.writeUInt32LE(0x1000, oh + 32);
  h.writeUInt32LE(0x200, oh + 36);
  h.writeUInt16LE(10, oh + 40);
  h.writeUInt16LE(10, oh + 48);
  h.writeUInt32LE(sizeOfImage, oh + 56);
  h.writeUInt32LE(0x800, oh + 60);
  h.writeUInt32LE(rng.u32() & 0xffffff, oh + 64);
  h.writeUInt16LE(1, oh + 68); // NATIVE
  h.writeUInt16LE(0x4160, oh + 70);
  h.writeBigUInt64LE(0x80000n, oh + 72);
  h.writeBigUInt64LE(0x1000n, oh + 80);
  h.writeBigUInt64LE(0x100000n, oh + 88);
  h.writeBigUInt64LE(0x1000n, oh + 96);
  h.writeUInt32LE(16, oh + 108);
  const dd = oh + 112;
  const debugDirRva = rsdsRva - 0x40;
  h.writeUInt32LE(debugDirRva, dd + 6 * 8);
  h.writeUInt32LE(0x1c, dd + 6 * 8 + 4);
  let sh = oh + 0xf0;
  for (const [name, va, size, ch] of sections) {
    h.write(name, sh, 'latin1');
    h.writeUInt32LE(size, sh + 8);
    h.writeUInt32LE(va, sh + 12);
    h.writeUInt32LE(align(size, 0x200), sh + 16);
    h.writeUInt32LE(va, sh + 20);
    h.writeUInt32LE(ch >>> 0, sh + 36);
    sh += 40;
  }
  kvm.write(base, h);
  // IMAGE_DEBUG_DIRECTORY (CodeView) and the RSDS record.
  const name = Buffer.from(id.database + '\0', 'latin1');
  const rsds = Buffer.alloc(24 + name.length);
  rsds.write('RSDS', 0, 'latin1');
  const g = Buffer.from(id.GUID.replace(/-/g, ''), 'hex');
  // GUID: Data1 (u32), Data2, Data3 (u16) little-endian, Data4 bytes in order (formats.md §3).
  rsds.writeUInt32LE(g.readUInt32BE(0), 4);
  rsds.writeUInt16LE(g.readUInt16BE(4), 8);
  rsds.writeUInt16LE(g.readUInt16BE(6), 10);
  g.copy(rsds, 12, 8, 16);
  rsds.writeUInt32LE(id.age, 20);
  name.copy(rsds, 24);
  const dbg = Buffer.alloc(0x1c);
  dbg.writeUInt32LE(2, 12); // IMAGE_DEBUG_TYPE_CODEVIEW
  dbg.writeUInt32LE(rsds.length, 16);
  dbg.writeUInt32LE(rsdsRva, 20);
  dbg.writeUInt32LE(rsdsRva, 24);
  kvm.write(base + BigInt(debugDirRva), dbg);
  kvm.write(base + BigInt(rsdsRva), rsds);
}
