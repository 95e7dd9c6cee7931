// Ground truth written beside each dump (<dump>.truth.json): what an analyzer must find, computed
// from the generator's own model of the machine and of the form's file, never by reading the dump.
import { DRIVE_LINKS } from './builders/object-namespace.ts';
import { PAGE } from './memory.ts';
import { filetimeToIso, type BuiltProcess, type Machine, type UserPte } from './machine.ts';
import { DUMP_TYPE, fileOffsetOf, type FormPlan } from './writers.ts';
import { processTruthDetail, expectedTamperFindings, type ProcessDetail, type ExpectedFinding } from './truth-detail.ts';

export const TRUTH_SCHEMA = 'vsm-forensics/synth-truth/1';

const hex = (v: bigint | number) => '0x' + BigInt(v).toString(16);

export interface PageCounts {
  pagesMapped: number;
  pagesNotResident: number;
  pagesAbsent: number;
  pagesUnreadable: number;
  pagesReadable: number;
}

export interface TruthProcess {
  pid: number;
  ppid: number;
  name: string;
  /** ImageFileName's bytes as hex (15 bytes max, no terminator). */
  imageFileNameHex: string;
  imagePath: string;
  createTime: string | null;
  exitTime: string | null;
  sessionId: number | null;
  /** `readable`: the pool block and EPROCESS, and the kernel page-table path to them, are all in the file. */
  /** `inFile`: the object's own physical pages are in the file (a physical scan can see it). */
  eprocess: { va: string; pa: string; fileOffset: number | null; readable: boolean; inFile: boolean };
  poolHeaderVa: string;
  dtb: string;
  peb: string | null;
  linked: boolean;
  unlinked: boolean;
  reachableForward: boolean;
  terminated: boolean;
  secure: boolean;
  trustlet: { id: number | null; name: string; idSource: 'eprocess' | 'name' | 'none' } | null;
  protection: number;
  wow64: boolean;
  securePages: string | null;
  pages: PageCounts;
  /** False when some of this process's user page-table pages are not in the file: the counts are then an upper bound. */
  userTablesInFile: boolean;
  // Issue 14 (null where not written, or for secure processes, which are never read through their PEB).
  commandLine: string | null;
  currentDirectory: string | null;
  /** The kept environment variables (src/ntos/environment.ts). */
  environment: Record<string, string> | null;
  dlls: { base: string; size: number; path: string }[] | null;
  user: { name: string; domain: string | null } | null;
  /** The image path with its drive letter (through \\GLOBAL?? links, else the PEB's ImagePathName). */
  imagePathDos: string | null;
  /** Every page the PEB-side facts are read from is in the file (else an analyzer reports them null). */
  userDetailsInFile: boolean;
}

export interface TruthHost {
  computerName: string | null;
  /** USERDOMAIN of the machine account's processes (the domain or workgroup). */
  domain: string | null;
  os: { build: number; productType: 'workstation' | 'domain-controller' | 'server' | null };
  bootTime: string | null;
  dumpTime: string | null;
  drives: { letter: string; target: string }[];
}

export type TruthProcessFull = TruthProcess & ProcessDetail;

export interface Truth {
  host: TruthHost;
  schema: string;
  scenario: string;
  description: string;
  seed: number;
  form: string;
  dumpType: number | null;
  build: number;
  version: string | null;
  isf: string;
  pdb: { name: string; guid: string; age: number; guidAge: string };
  kernel: {
    base: string;
    sizeOfImage: number;
    dtb: string;
    selfRefIndex: number;
    psActiveProcessHead: string;
    psLoadedModuleList: string;
    kdDebuggerDataBlock: string;
    mmPfnDatabase: string;
    obHeaderCookie: number;
    processTypeIndex: number;
    kdbgDecoded: boolean;
    /** Physical address of the PROCESSOR_START_BLOCK low stub (raw images: DTB discovery). */
    lowStub: string;
  };
  systemTime: string | null;
  bootTime: string | null;
  memory: {
    sizeBytes: number;
    pageLimit: number;
    holes: { basePage: number; pageCount: number; reason: string }[];
    /** Runs of physical pages whose bytes the file holds (raw: every page, holes read as zeros). */
    storedRuns: { basePage: number; pageCount: number }[];
    storedPages: number;
    firstPageOffset: number;
    fileSize: number;
    truncated: null | { fullFileSize: number; fileSize: number; missingPages: number; missingRuns: { basePage: number; pageCount: number }[] };
    excludedUserPids: number[];
    constantFill: number;
  };
  processes: TruthProcessFull[];
  /** PsLoadedModuleList in load order. */
  modules: { name: string; path: string; base: string; size: number }[];
  /** PIDs in ActiveProcessLinks order from PsActiveProcessHead, following Flinks until the head, a repeat, or a bad link. */
  listOrder: number[];
  /** PIDs of every process object in pool (what a pool scan must find), in memory order. */
  poolObjects: number[];
  /** PIDs whose pool header is in the file but not the whole object (a scan may report them with fields missing). */
  poolObjectsPartial: number[];
  decoys: { kind: string; va: string | null; pa: string; note: string }[];
  expectedFindings: ExpectedFinding[];
  vsm: { verdict: 'isolated' | 'exposed' | 'indeterminate' | 'not-running'; reason: string };
  definitions: Record<string, string>;
}

const DEFINITIONS: Record<string, string> = {
  pagesMapped: 'user-range (VA < 0x800000000000) leaf PTEs that are not zero, plus VAD pages without any PTE: notResident + absent + unreadable + readable',
  pagesNotResident: 'leaf entries neither Present nor Transition (page-file, demand-zero with protection), plus pages inside a VAD with no PTE',
  pagesAbsent: 'Present/Transition entries whose physical page the file does not hold (outside every run, bitmap bit clear, cut off by truncation)',
  pagesUnreadable: 'page in the file but all zero or one repeated byte (a raw image stores holes as zeros, so its pages there count here)',
  pagesReadable: 'page in the file with real content',
  linked: 'on ActiveProcessLinks (Flink/Blink chain from PsActiveProcessHead), even if a damaged Flink makes it unreachable forward',
  listOrder: 'walk from PsActiveProcessHead along Flink until the head, a repeated entry, a pointer that cannot be followed, or an EPROCESS (or the page tables to it) missing from the file',
  poolObjects: 'process objects a scan finds whole: pool block and EPROCESS pages in this file, and either physically contiguous or reachable through kernel page tables in the file (eprocess.readable)',
  threads: 'per process, in EPROCESS.ThreadListHead order; startAddress is ETHREAD.StartAddress (ntdll!RtlUserThreadStart for user threads), startModule the module holding win32StartAddress (image base name, ntdll.dll, kernel32.dll, a kernel module) or null; apcs: KernelMode queue then UserMode queue, module = module of KernelRoutine (kernel APC) or NormalRoutine (user APC)',
  handles: 'per process, in handle-value order; object = body VA; target for Process/Thread handles; name = FILE_OBJECT.FileName (no device prefix) for File, OBJECT_HEADER_NAME_INFO.Name for named Event/Mutant/Section, else null; rights decoded for Process/Thread only',
  token: 'user = UserAndGroups[0]; groups = UserAndGroups[1..] (the integrity SID last); privileges = those Present, in LUID order',
  vads: 'in start order; end = last byte (inclusive); protection = MmProtectToValue[u.VadFlags.Protection] as PAGE_* names; file = FILE_OBJECT.FileName behind Subsection→ControlArea→FilePointer; commit = u1.VadFlags1.CommitCharge',
  extendedInfo: 'every flag is known in the model (unknownMask 0); isStronglyNamed = TOKEN.Package is set; isFrozen = KPROCESS.DeepFreeze or FreezeCount > 0',
  expectedFindingsEvidence: 'tamper findings carry pid (the process the finding is about), ownerPid/handle (handle findings), tid, address, module; rules: see samples/README.md',
  verdict: 'not-running: no secure process; exposed: a secure process has a readable page; indeterminate: no ordinary process has a readable user page either; isolated otherwise',
};

export function computeTruth(m: Machine, plan: FormPlan, fileSize: number, sizeBytes: number): Truth {
  const cutPages = fileSize < plan.fileSize ? Math.max(0, Math.floor((fileSize - plan.firstPageOffset) / PAGE)) : Infinity;
  // inFile[pfn]: bytes fully present in the written file.
  const index = new Map<number, number>();
  let k = 0;
  for (const r of plan.runs) for (let p = r.basePage; p < r.basePage + r.pageCount; p++) index.set(p, k++);
  const inFile = (pfn: number) => {
    if (!plan.stored[pfn]) return false;
    const i = plan.form === 'raw' ? pfn : index.get(pfn)!;
    return i < cutPages;
  };
  const missingRuns: { basePage: number; pageCount: number }[] = [];
  let missingPages = 0;
  if (cutPages !== Infinity) {
    let start = -1;
    const n = m.mem.pageLimit;
    for (let p = 0; p <= n; p++) {
      const miss = p < n && plan.stored[p] === 1 && !inFile(p);
      if (miss) missingPages++;
      if (miss && start < 0) start = p;
      if (!miss && start >= 0) {
        missingRuns.push({ basePage: start, pageCount: p - start });
        start = -1;
      }
    }
  }

  // Page-table walks over the model (not the file), to say which structures a reader can reach.
  const pathOf = (dtb: number, va: bigint): number[] | null => {
    const out: number[] = [];
    let table = dtb / PAGE;
    for (const shift of [39n, 30n, 21n, 12n]) {
      out.push(table);
      const t = m.mem.pages.get(table);
      if (!t) return null;
      const e = t.readBigUInt64LE(Number((va >> shift) & 0x1ffn) * 8);
      if (!(e & 1n)) {
        if (shift === 12n && e & 0x800n) {
          out.push(Number((e & 0x000ffffffffff000n) >> 12n));
          return out;
        }
        return null;
      }
      const frame = Number((e & 0x000ffffffffff000n) >> 12n);
      if (shift !== 12n && e & 0x80n) {
        out.push(frame + Number((va & ((1n << shift) - 1n)) >> 12n));
        return out;
      }
      if (shift === 12n) {
        out.push(frame);
        return out;
      }
      table = frame;
    }
    return out;
  };
  const readableVa = (dtb: number, va: bigint, len: number) => {
    for (let p = va & ~0xfffn; p < va + BigInt(len); p += 0x1000n) {
      const path = pathOf(dtb, p);
      if (!path || !path.every(inFile)) return false;
    }
    return true;
  };
  const sysDtb = m.system.dtb;
  const epSize = m.layout.size('_EPROCESS');
  const objReadable = (p: BuiltProcess) => readableVa(sysDtb, p.poolHeaderVa, Number(p.eprocessVa - p.poolHeaderVa) + epSize);
  // The object's own physical pages (what a physical pool scan sees), whatever happened to the tables.
  const objPfns = (p: BuiltProcess) => {
    const out: number[] = [];
    for (let va = p.poolHeaderVa & ~0xfffn; va < p.eprocessVa + BigInt(epSize); va += 0x1000n) {
      const path = pathOf(sysDtb, va);
      out.push(path ? path[path.length - 1] : -1);
    }
    return out;
  };
  const objInFile = (p: BuiltProcess) => objPfns(p).every((f) => f >= 0 && inFile(f));
  /** Found whole by a physical scan: in the file, and contiguous in RAM unless the page tables are there to follow. */
  const objScannable = (p: BuiltProcess) => {
    const f = objPfns(p);
    return objInFile(p) && (f.every((x, i) => i === 0 || x === f[i - 1] + 1) || objReadable(p));
  };
  const userTablesInFile = (p: BuiltProcess) => p.userPtes.every((u) => (pathOf(p.dtb, u.va) ?? [p.dtb / PAGE]).slice(0, 4).every(inFile));

  const classify = (u: UserPte): keyof PageCounts => {
    if (u.kind === 'pagefile' || u.kind === 'demand-zero') return 'pagesNotResident';
    const pfn = u.pfn!;
    if (!inFile(pfn)) return 'pagesAbsent';
    if (plan.form === 'raw' && m.mem.isHole(pfn)) return 'pagesUnreadable';
    return u.content === 'readable' ? 'pagesReadable' : 'pagesUnreadable';
  };
  const countPages = (p: BuiltProcess): PageCounts => {
    const c: PageCounts = { pagesMapped: 0, pagesNotResident: 0, pagesAbsent: 0, pagesUnreadable: 0, pagesReadable: 0 };
    for (const u of p.userPtes) {
      c.pagesMapped++;
      c[classify(u)]++;
    }
    // Pages inside a VAD with no page-table entry at all: mapped (reserved or committed), not resident.
    const covered = new Set(p.userPtes.map((u) => u.va >> 12n));
    for (const v of p.vads) {
      for (let vpn = v.startVpn; vpn <= v.endVpn; vpn++) {
        if (covered.has(vpn)) continue;
        c.pagesMapped++;
        c.pagesNotResident++;
      }
    }
    return c;
  };

  const drives = m.layout.types.symbolRva('ObpRootDirectoryObject') !== undefined ? DRIVE_LINKS.map((d) => ({ ...d })) : [];
  const userSide = (p: BuiltProcess) => {
    const d = p.secure ? null : p.details;
    const mapped = drives.map((x) => (p.imagePath.toLowerCase().startsWith(x.target.toLowerCase() + '\\') ? x.letter + p.imagePath.slice(x.target.length) : null)).find((x) => x !== null) ?? null;
    const peb = d && d.commandLine !== null ? p.imagePath.replace(/^\\Device\\HarddiskVolume\d+/, 'C:') : null;
    return {
      commandLine: d?.commandLine ?? null,
      currentDirectory: d?.currentDirectory ?? null,
      environment: d?.environment ?? null,
      dlls: d?.dlls ?? null,
      user: d?.user ?? null,
      imagePathDos: mapped ?? (peb && /^[A-Za-z]:\\/.test(peb) ? peb : null),
      userDetailsInFile: !d || d.pfns.every(inFile),
    };
  };
  const trustletName = (name: string) => (/^(LsaIso|BioIso|FsIso|vmsp)\.exe$/i.test(name) ? name : null);
  const hasTrustletField = m.layout.has('_EPROCESS', 'TrustletIdentity');
  const processes: TruthProcessFull[] = m.processes.map((p) => {
    const pageCounts = countPages(p);
    let trustlet: TruthProcess['trustlet'] = null;
    if (p.secure && trustletName(p.spec.name)) {
      if (hasTrustletField) trustlet = { id: p.spec.trustletId ?? 0, name: p.spec.name, idSource: 'eprocess' };
      else if (/^LsaIso\.exe$/i.test(p.spec.name)) trustlet = { id: 1, name: p.spec.name, idSource: 'name' };
      else trustlet = { id: null, name: p.spec.name, idSource: 'none' };
    }
    const off = fileOffsetOf(plan, Math.floor(p.eprocessPa / PAGE));
    return {
      pid: p.spec.pid,
      ppid: p.spec.ppid,
      name: p.imageFileName.toString('latin1'),
      imageFileNameHex: p.imageFileName.toString('hex'),
      imagePath: p.imagePath,
      createTime: filetimeToIso(p.createTime),
      exitTime: filetimeToIso(p.exitTime),
      sessionId: p.sessionId,
      eprocess: { va: hex(p.eprocessVa), pa: hex(p.eprocessPa), fileOffset: off === undefined || !inFile(Math.floor(p.eprocessPa / PAGE)) ? null : off + (p.eprocessPa % PAGE), readable: objReadable(p), inFile: objInFile(p) },
      poolHeaderVa: hex(p.poolHeaderVa),
      dtb: hex(p.dtb),
      peb: p.pebVa ? hex(p.pebVa) : null,
      linked: p.linked,
      unlinked: !p.linked && !p.terminated,
      reachableForward: p.reachableForward,
      terminated: p.terminated,
      secure: p.secure,
      trustlet,
      protection: p.protection,
      wow64: p.wow64,
      securePages: p.securePages,
      pages: pageCounts,
      userTablesInFile: userTablesInFile(p),
      ...processTruthDetail(m, p),
      ...userSide(p),
    };
  });

  // The forward walk an analyzer does.
  const listOrder: number[] = [];
  {
    const linked = m.processes.filter((p) => p.linked);
    const lc = m.scenario.listCorruption;
    const seen = new Set<number>();
    const headOk = readableVa(sysDtb, m.psActiveProcessHead, 16);
    for (const p of headOk ? linked : []) {
      if (!objReadable(p)) break;
      if (seen.has(p.spec.pid)) break;
      seen.add(p.spec.pid);
      listOrder.push(p.spec.pid);
      if (lc && lc.pid === p.spec.pid) break;
    }
  }

  const poolObjectsPartial = m.processes.filter((p) => !objScannable(p) && inFile(objPfns(p)[0])).map((p) => p.spec.pid);
  const poolObjects = [...m.processes].filter(objScannable).sort((a, b) => (a.eprocessPa < b.eprocessPa ? -1 : 1)).map((p) => p.spec.pid);

  const findings: ExpectedFinding[] = [];
  for (const p of processes) if (p.unlinked && p.eprocess.readable) findings.push({ rule: 'ntos.process-unlinked', pid: p.pid });
  const lc = m.scenario.listCorruption;
  if (lc && listOrder.includes(lc.pid)) findings.push({ rule: lc.kind === 'cycle' ? 'ntos.list-cycle' : 'ntos.list-bad-link', pid: lc.pid });
  for (const p of processes) if (p.secure && p.eprocess.readable && p.pages.pagesReadable > 0) findings.push({ rule: 'vsm.trustlet-pages-readable', pid: p.pid });

  findings.push(...expectedTamperFindings(m));

  const secure = processes.filter((p) => p.secure && !p.terminated && p.eprocess.readable);
  const secureLost = processes.some((p) => p.secure && !p.terminated && !p.eprocess.readable);
  const baseline = processes.filter((p) => !p.secure && !p.terminated && p.eprocess.readable).reduce((a, p) => a + p.pages.pagesReadable, 0);
  let vsm: Truth['vsm'];
  if (secure.length === 0 && secureLost) vsm = { verdict: 'indeterminate', reason: 'secure processes exist but their objects are not in this file' };
  else if (secure.length === 0) vsm = { verdict: 'not-running', reason: 'no secure (IUM) process' };
  else if (secure.some((p) => p.pages.pagesReadable > 0)) vsm = { verdict: 'exposed', reason: `readable pages in ${secure.filter((p) => p.pages.pagesReadable > 0).map((p) => p.name).join(', ')}` };
  else if (baseline === 0) vsm = { verdict: 'indeterminate', reason: 'no ordinary process has a readable user page in this file either' };
  else vsm = { verdict: 'isolated', reason: 'no secure-process page is readable while ordinary processes have readable user pages' };

  return {
    schema: TRUTH_SCHEMA,
    scenario: m.scenario.name,
    description: m.scenario.description,
    seed: m.seed,
    form: plan.form,
    dumpType: plan.form === 'raw' ? null : DUMP_TYPE[plan.form],
    build: m.build,
    version: m.version,
    isf: m.isfPath.split('/').slice(-1)[0],
    pdb: { ...m.pdb, guidAge: `${m.pdb.guid}-${m.pdb.age}` },
    kernel: {
      base: hex(m.kernelBase),
      sizeOfImage: m.sizeOfImage,
      dtb: hex(m.system.dtb),
      selfRefIndex: m.selfRefIndex,
      psActiveProcessHead: hex(m.psActiveProcessHead),
      psLoadedModuleList: hex(m.psLoadedModuleList),
      kdDebuggerDataBlock: hex(m.kdDebuggerDataBlock),
      mmPfnDatabase: hex(m.mmPfnDatabase),
      obHeaderCookie: m.obHeaderCookie,
      processTypeIndex: m.processTypeIndex,
      kdbgDecoded: true,
      lowStub: '0x1000',
    },
    host: {
      computerName: m.scenario.computerName ?? null,
      domain: m.processes.some((p) => !p.secure && !p.terminated && p.details?.user?.name.endsWith('$')) ? (m.scenario.domain ?? 'WORKGROUP') : null,
      os: { build: m.build, productType: ({ 1: 'workstation', 2: 'domain-controller', 3: 'server' } as const)[(m.scenario.productType ?? 1) as 1 | 2 | 3] ?? null },
      bootTime: filetimeToIso(m.bootTime),
      dumpTime: filetimeToIso(m.crashTime),
      drives,
    },
    systemTime: filetimeToIso(m.crashTime),
    bootTime: filetimeToIso(m.bootTime),
    memory: {
      sizeBytes,
      pageLimit: m.mem.pageLimit,
      holes: m.mem.holes.map((h) => ({ ...h })),
      storedRuns: plan.runs.map((r) => ({ ...r })),
      storedPages: plan.form === 'raw' ? m.mem.pageLimit : plan.storedCount,
      firstPageOffset: plan.firstPageOffset,
      fileSize,
      truncated: cutPages === Infinity ? null : { fullFileSize: plan.fileSize, fileSize, missingPages, missingRuns },
      excludedUserPids: plan.excludedUserPids,
      constantFill: m.constantFill,
    },
    processes,
    modules: m.modules.map((x) => ({ name: x.name, path: x.path, base: hex(x.base), size: x.size })),
    listOrder,
    poolObjects,
    poolObjectsPartial,
    decoys: m.decoys.map((d) => ({ kind: d.kind, va: d.va === null ? null : hex(d.va), pa: hex(d.pa), note: d.note })),
    expectedFindings: findings,
    vsm,
    definitions: DEFINITIONS,
  };
}
