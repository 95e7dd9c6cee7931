// Ground truth written beside each dump (<dump>.truth.json): what an analyzer must find, computed
// from the generator's own model of the machine and of the form's file, never by reading the dump.
import { PAGE } from './memory.ts';
import { filetimeToIso, type BuiltProcess, type Machine, type UserPte } from './machine.ts';
import { DUMP_TYPE, fileOffsetOf, type FormPlan } from './writers.ts';

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
  eprocess: { va: string; pa: string; fileOffset: number | null };
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
}

export interface Truth {
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
  processes: TruthProcess[];
  /** PIDs in ActiveProcessLinks order from PsActiveProcessHead, following Flinks until the head, a repeat, or a bad link. */
  listOrder: number[];
  /** PIDs of every process object in pool (what a pool scan must find), in memory order. */
  poolObjects: number[];
  decoys: { kind: string; va: string | null; pa: string; note: string }[];
  expectedFindings: { rule: string; pid?: number }[];
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
  listOrder: 'walk from PsActiveProcessHead along Flink until the head, a repeated entry or a pointer that cannot be followed',
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

  const trustletName = (name: string) => (/^(LsaIso|BioIso|FsIso|vmsp)\.exe$/i.test(name) ? name : null);
  const hasTrustletField = m.layout.has('_EPROCESS', 'TrustletIdentity');
  const processes: TruthProcess[] = m.processes.map((p) => {
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
      eprocess: { va: hex(p.eprocessVa), pa: hex(p.eprocessPa), fileOffset: off === undefined ? null : off + (p.eprocessPa % PAGE) },
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
    };
  });

  // The forward walk an analyzer does.
  const listOrder: number[] = [];
  {
    const linked = m.processes.filter((p) => p.linked);
    const lc = m.scenario.listCorruption;
    const seen = new Set<number>();
    for (const p of linked) {
      if (seen.has(p.spec.pid)) break;
      seen.add(p.spec.pid);
      listOrder.push(p.spec.pid);
      if (lc && lc.pid === p.spec.pid) break;
    }
  }

  const poolObjects = [...m.processes].sort((a, b) => (a.eprocessPa < b.eprocessPa ? -1 : 1)).map((p) => p.spec.pid);

  const findings: { rule: string; pid?: number }[] = [];
  for (const p of processes) if (p.unlinked) findings.push({ rule: 'ntos.process-unlinked', pid: p.pid });
  if (m.scenario.listCorruption?.kind === 'cycle') findings.push({ rule: 'ntos.list-cycle', pid: m.scenario.listCorruption.pid });
  if (m.scenario.listCorruption?.kind === 'bad-flink') findings.push({ rule: 'ntos.list-bad-link', pid: m.scenario.listCorruption.pid });
  for (const p of processes) if (p.secure && p.pages.pagesReadable > 0) findings.push({ rule: 'vsm.trustlet-pages-readable', pid: p.pid });

  const secure = processes.filter((p) => p.secure && !p.terminated);
  const baseline = processes.filter((p) => !p.secure && !p.terminated).reduce((a, p) => a + p.pages.pagesReadable, 0);
  let vsm: Truth['vsm'];
  if (secure.length === 0) vsm = { verdict: 'not-running', reason: 'no secure (IUM) process' };
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
    listOrder,
    poolObjects,
    decoys: m.decoys.map((d) => ({ kind: d.kind, va: d.va === null ? null : hex(d.va), pa: hex(d.pa), note: d.note })),
    expectedFindings: findings,
    vsm,
    definitions: DEFINITIONS,
  };
}
