// Hand-built analyses shaped like a real Windows 10 19041 system with Credential Guard, for the
// report tests until real analyses exist: the healthy case, an exposed trustlet, a partial
// (kernel-only) dump, and a hostile one whose strings try to inject into every sink.
import type { Analysis, DumpString, Finding, Isolation, ProcessRecord, Protection } from '../src/vsm/types.ts';
import type { EvidenceInfo, RunInfo } from '../src/reports/model.ts';
import { LSASS_MEMORY, ROOTKIT } from '../src/vsm/attack.ts';

const SIGNERS = ['None', 'Authenticode', 'CodeGen', 'Antimalware', 'Lsa', 'Windows', 'WinTcb', 'WinSystem', 'App'];
const TYPES = ['None', 'ProtectedLight', 'Protected'];

/** Decodes a PS_PROTECTION byte the way formats.md §6 describes. */
export function protection(raw: number): Protection {
  const type = raw & 7;
  const signer = raw >> 4;
  const signerName = `PsProtectedSigner${SIGNERS[signer] ?? `Unknown(${signer})`}`;
  const typeName = TYPES[type] ?? (type === 3 ? 'Max' : `Unknown(${type})`);
  return {
    raw,
    type: typeName,
    signer: signerName,
    audit: (raw & 8) !== 0,
    text: raw === 0 ? 'None' : type === 1 ? `${signerName}-Light` : signerName,
  };
}

const ds = (text: string, rawHex?: string): DumpString => (rawHex ? { text, rawHex } : { text });
const hex = (n: bigint) => '0x' + n.toString(16);

let nextVa = 0xffffa30c3a8e2080n;
function eprocess(): { va: string; pa: string } {
  const va = nextVa;
  nextVa += 0xa40n + 0x1c0n;
  return { va: hex(va), pa: hex((va & 0x3fffffffn) + 0x100000000n) };
}

interface P {
  pid: number;
  ppid: number;
  name: string;
  path?: string | null;
  created?: string | null;
  exited?: string | null;
  session?: number | null;
  prot?: number;
  secure?: boolean | null;
  trustlet?: { id: number | null; name: string | null } | null;
  isolation?: Isolation;
  sources?: ('list' | 'scan')[];
  unlinked?: boolean;
  wow64?: boolean;
  rawHex?: string;
  unreadable?: string[];
}

export function proc(p: P): ProcessRecord {
  const ep = eprocess();
  const user = p.pid > 4 && p.name !== 'Registry' && p.name !== 'Secure System' && p.name !== 'MemCompression';
  const rec: ProcessRecord = {
    pid: p.pid,
    ppid: p.ppid,
    name: ds(p.name, p.rawHex),
    imagePath: p.path === undefined ? (user ? ds(`\\Device\\HarddiskVolume3\\Windows\\System32\\${p.name}`) : null) : p.path === null ? null : ds(p.path),
    createTime: p.created === undefined ? '2024-03-14T07:58:12.4411820Z' : p.created,
    exitTime: p.exited ?? null,
    sessionId: p.session === undefined ? (p.pid <= 4 ? null : 0) : p.session,
    peb: user ? hex(0x000000a1b2c3d000n + BigInt(p.pid) * 0x1000n) : null,
    dtb: hex(0x1aa000n + BigInt(p.pid) * 0x1000n),
    eprocess: ep,
    wow64: p.wow64 ?? false,
    sources: p.sources ?? ['list', 'scan'],
    terminated: p.exited != null,
    unlinked: p.unlinked ?? false,
    protection: protection(p.prot ?? 0),
    secure: p.secure === undefined ? false : p.secure,
    trustlet: p.trustlet ?? null,
  };
  return {
    ...rec,
    ...(p.isolation ? { isolation: p.isolation } : {}),
    ...(p.unreadable ? { unreadableFields: p.unreadable } : {}),
  };
}

export const ISOLATED_LSAISO: Isolation = {
  pagesMapped: 1243,
  pagesNotResident: 96,
  pagesAbsent: 1147,
  pagesUnreadable: 0,
  pagesReadable: 0,
  verdict: 'isolated',
  reason: 'No mapped user page is readable: 1147 are absent from the dump, 96 are not resident.',
  sampleReadable: [],
  partial: false,
  tablePagesAbsent: 0,
};

const SECURE_SYSTEM_ISO: Isolation = {
  pagesMapped: 0,
  pagesNotResident: 0,
  pagesAbsent: 0,
  pagesUnreadable: 0,
  pagesReadable: 0,
  verdict: 'isolated',
  reason: 'The Secure System process maps no user pages in VTL0.',
  sampleReadable: [],
  partial: false,
  tablePagesAbsent: 0,
};

/** The process list of a Windows 10 19041 workstation with Credential Guard on. */
function credentialGuardProcesses(lsaIso: Isolation, extra: ProcessRecord[] = []): ProcessRecord[] {
  nextVa = 0xffffa30c3a8e2080n;
  return [
    proc({ pid: 4, ppid: 0, name: 'System', prot: 0x72, created: '2024-03-14T07:58:01.6000000Z', session: null }),
    proc({ pid: 72, ppid: 4, name: 'Secure System', secure: true, trustlet: null, isolation: SECURE_SYSTEM_ISO, created: '2024-03-14T07:58:01.8550000Z', session: null }),
    proc({ pid: 108, ppid: 4, name: 'Registry', created: '2024-03-14T07:58:01.9210000Z', session: null }),
    proc({ pid: 388, ppid: 4, name: 'smss.exe', prot: 0x61, created: '2024-03-14T07:58:02.1042980Z', session: null }),
    proc({ pid: 516, ppid: 500, name: 'csrss.exe', prot: 0x61, created: '2024-03-14T07:58:05.2281130Z' }),
    proc({ pid: 592, ppid: 500, name: 'wininit.exe', prot: 0x61, created: '2024-03-14T07:58:05.3901920Z' }),
    proc({ pid: 604, ppid: 584, name: 'csrss.exe', prot: 0x61, created: '2024-03-14T07:58:05.4017770Z', session: 1 }),
    proc({ pid: 680, ppid: 584, name: 'winlogon.exe', created: '2024-03-14T07:58:05.5553900Z', session: 1 }),
    proc({ pid: 716, ppid: 592, name: 'services.exe', prot: 0x61, created: '2024-03-14T07:58:05.6470120Z' }),
    proc({
      pid: 728,
      ppid: 592,
      name: 'LsaIso.exe',
      secure: true,
      trustlet: { id: 1, name: 'LsaIso.exe' },
      isolation: lsaIso,
      created: '2024-03-14T07:58:05.6611040Z',
    }),
    proc({ pid: 736, ppid: 592, name: 'lsass.exe', prot: 0x41, created: '2024-03-14T07:58:05.6712330Z' }),
    proc({ pid: 852, ppid: 716, name: 'svchost.exe', created: '2024-03-14T07:58:05.9021430Z' }),
    proc({ pid: 876, ppid: 592, name: 'fontdrvhost.exe', created: '2024-03-14T07:58:05.9144570Z' }),
    proc({ pid: 968, ppid: 716, name: 'svchost.exe', created: '2024-03-14T07:58:06.0301300Z' }),
    proc({ pid: 1204, ppid: 4, name: 'MemCompression', created: '2024-03-14T07:58:06.7702210Z', session: null }),
    proc({ pid: 1388, ppid: 716, name: 'svchost.exe', created: '2024-03-14T07:58:06.9900010Z' }),
    proc({ pid: 2904, ppid: 716, name: 'MsMpEng.exe', prot: 0x31, path: '\\Device\\HarddiskVolume3\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24020.7-0\\MsMpEng.exe', created: '2024-03-14T07:58:09.1200400Z' }),
    proc({ pid: 3312, ppid: 716, name: 'spoolsv.exe', created: '2024-03-14T07:58:08.0040000Z' }),
    proc({ pid: 4180, ppid: 4100, name: 'explorer.exe', path: '\\Device\\HarddiskVolume3\\Windows\\explorer.exe', created: '2024-03-14T07:59:31.5540190Z', session: 1 }),
    proc({ pid: 5012, ppid: 4180, name: 'OneDrive.exe', path: '\\Device\\HarddiskVolume3\\Users\\jdoe\\AppData\\Local\\Microsoft\\OneDrive\\OneDrive.exe', created: '2024-03-14T07:59:40.0110000Z', session: 1, wow64: true }),
    proc({ pid: 6344, ppid: 4180, name: 'cmd.exe', created: '2024-03-14T08:51:02.7781000Z', exited: '2024-03-14T08:51:09.2048000Z', session: 1, sources: ['scan'] }),
    ...extra,
  ];
}

const BASELINE = { pagesMapped: 18432, pagesNotResident: 2210, pagesAbsent: 0, pagesUnreadable: 1930, pagesReadable: 14292, processes: 3 };

const KERNEL: Analysis['kernel'] = {
  base: '0xfffff80316a00000',
  build: 19041,
  dtb: '0x1aa000',
  psActiveProcessHead: '0xfffff8031761e200',
  psLoadedModuleList: '0xfffff8031762a2d0',
  kdDebuggerDataBlock: '0xfffff80317600b20',
  pdb: { name: 'ntkrnlmp.pdb', guid: '68A17FAF3012B7846079AEECDBE0A583', age: 1 },
  symbolsSource: 'isf:../shared/data/isf/ntkrnlmp.pdb/68A17FAF3012B7846079AEECDBE0A583-1.json.xz',
  discovery: 'crash-header',
};

const POSTURE_CG = {
  secureProcesses: 2,
  secureSystemPresent: true,
  credentialGuard: true,
  dumpOrigin: 'vtl0-crash-dump',
  evidence: [
    'Secure System (PID 72) is present and secure: the secure kernel is running.',
    'LsaIso.exe (PID 728) is a secure process with trustlet id 1: Credential Guard is on.',
    'The header is a full crash dump written by the VTL0 kernel.',
  ],
};

const INFO_CG: Finding = {
  rule: 'vsm.credential-guard-running',
  title: 'Credential Guard is running',
  severity: 'info',
  message: 'LsaIso.exe (PID 728) runs as a secure process (trustlet id 1).',
  evidence: { pid: 728, eprocessVa: '0xffffa30c3a8ea6c0' },
};

/** The healthy Credential Guard system: every trustlet page unreadable. */
export function credentialGuard(): Analysis {
  const processes = credentialGuardProcesses(ISOLATED_LSAISO);
  return {
    kernel: KERNEL,
    processes,
    findings: [{ ...INFO_CG, evidence: { pid: 728, eprocessVa: processes.find((p) => p.pid === 728)!.eprocess.va } }],
    vsm: {
      verdict: 'isolated',
      reason: 'Every trustlet page is unreadable in the dump while ordinary processes are readable.',
      posture: POSTURE_CG,
      baseline: BASELINE,
    },
    partial: { partial: false, reasons: [], missingRanges: [] },
    capsHit: [],
    stats: { listed: 20, scanned: 21, scanHits: 23, pagesScanned: 524288 },
  };
}

/** A hypervisor-level capture where LsaIso's pages are readable, plus a DKOM-unlinked process. */
export function exposed(): Analysis {
  const iso: Isolation = {
    pagesMapped: 1243,
    pagesNotResident: 96,
    pagesAbsent: 0,
    pagesUnreadable: 835,
    pagesReadable: 312,
    verdict: 'exposed',
    reason: '312 of 1243 mapped user pages hold real content in the dump.',
    sampleReadable: ['0x7ff6a1c40000', '0x7ff6a1c41000', '0x1f2a4e30000', '0x1f2a4e31000'],
    partial: false,
    tablePagesAbsent: 0,
  };
  const hidden = proc({ pid: 7720, ppid: 4180, name: 'svch0st.exe', path: '\\Device\\HarddiskVolume3\\Users\\Public\\svch0st.exe', created: '2024-03-14T09:02:44.1000000Z', session: 1, sources: ['scan'], unlinked: true });
  const processes = credentialGuardProcesses(iso, [hidden]);
  const lsaIso = processes.find((p) => p.pid === 728)!;
  return {
    kernel: KERNEL,
    processes,
    findings: [
      {
        rule: 'vsm.trustlet-pages-readable',
        title: 'Trustlet pages are readable in the dump',
        severity: 'critical',
        message: 'LsaIso.exe (PID 728): 312 of 1243 mapped user pages are readable; VTL1 memory was captured.',
        evidence: { pid: 728, eprocessVa: lsaIso.eprocess.va, eprocessPa: lsaIso.eprocess.pa!, pages: { pagesMapped: 1243, pagesReadable: 312 }, sampleAddresses: iso.sampleReadable },
      },
      {
        rule: 'ntos.process-unlinked',
        title: 'Process found by the scan but not on the active list',
        severity: 'high',
        message: 'svch0st.exe (PID 7720) has not exited and is missing from PsActiveProcessHead: possible DKOM unlinking.',
        evidence: { pid: 7720, eprocessVa: hidden.eprocess.va, eprocessPa: hidden.eprocess.pa! },
        attack: ROOTKIT,
      },
      {
        rule: 'ntos.lsass-handle-access',
        title: 'A process holds a handle on lsass.exe that can read its memory',
        severity: 'high',
        message: 'svch0st.exe (PID 7720) holds handle 0x1a4 on lsass.exe (PID 736) with PROCESS_VM_READ, PROCESS_QUERY_INFORMATION.',
        evidence: { pid: 736, owner: { pid: 7720, name: 'svch0st.exe' }, handle: 0x1a4, rights: ['PROCESS_VM_READ', 'PROCESS_QUERY_INFORMATION'] },
        attack: LSASS_MEMORY,
      },
      { ...INFO_CG, evidence: { pid: 728, eprocessVa: lsaIso.eprocess.va } },
    ],
    vsm: {
      verdict: 'exposed',
      reason: 'LsaIso.exe has 312 readable pages: this capture includes VTL1 memory.',
      posture: { ...POSTURE_CG, dumpOrigin: 'hypervisor-capture', evidence: [...POSTURE_CG.evidence.slice(0, 2), 'Trustlet pages are readable: the capture was taken below VTL1 (hypervisor or host).'] },
      baseline: BASELINE,
    },
    partial: { partial: false, reasons: [], missingRanges: [] },
    capsHit: [],
    stats: { listed: 20, scanned: 22, scanHits: 24, pagesScanned: 524288 },
  };
}

/** A kernel-only dump, truncated at the end, with the scan cap hit. */
export function partial(): Analysis {
  const iso: Isolation = {
    pagesMapped: 1243,
    pagesNotResident: 96,
    pagesAbsent: 1147,
    pagesUnreadable: 0,
    pagesReadable: 0,
    verdict: 'indeterminate',
    reason: 'User pages of ordinary processes are absent too: a kernel-only dump cannot show isolation.',
    sampleReadable: [],
    partial: true,
    tablePagesAbsent: 14,
  };
  // An exited process only the scan found, known by its physical address alone.
  const scanOnly: ProcessRecord = {
    ...proc({ pid: 7012, ppid: 4180, name: 'notepad.exe', created: '2024-03-14T08:12:40.5000000Z', exited: '2024-03-14T08:30:02.0000000Z', session: 1, sources: ['scan'] }),
    eprocess: { va: null as unknown as string, pa: '0x2b1f4080' },
  };
  const processes = [...credentialGuardProcesses(iso), scanOnly].map((p) => (p.pid === 4180 ? { ...p, imagePath: null, unreadableFields: ['imagePath'] } : p));
  return {
    kernel: { ...KERNEL, discovery: 'crash-header' },
    processes,
    findings: [
      {
        rule: 'vsm.isolation-indeterminate',
        title: 'Isolation cannot be judged',
        severity: 'medium',
        message: 'LsaIso.exe (PID 728): its pages and those of ordinary processes are absent; this dump type omits user memory.',
        evidence: { pid: 728, eprocessVa: processes.find((p) => p.pid === 728)!.eprocess.va, pages: { pagesMapped: 1243, pagesAbsent: 1147 } },
      },
    ],
    vsm: {
      verdict: 'indeterminate',
      reason: 'Kernel-only dump: user pages are absent for every process, so trustlet isolation cannot be judged.',
      posture: { ...POSTURE_CG, evidence: POSTURE_CG.evidence.slice(0, 2) },
      baseline: { pagesMapped: 18432, pagesNotResident: 2210, pagesAbsent: 16222, pagesUnreadable: 0, pagesReadable: 0, processes: 3 },
    },
    partial: {
      partial: true,
      reasons: ['Kernel memory dump (DumpType 8): user-mode pages are not included.', 'The file ends 8192 pages before the last run described by the header.'],
      missingRanges: [{ start: '0x7e000000', pages: 8192, reason: 'file truncated' }],
    },
    capsHit: [{ cap: 'scanHits', limit: 100000 }],
    stats: { listed: 20, scanned: 21, scanHits: 100000, pagesScanned: 96000 },
  };
}

export const HOSTILE_NAME = '<img src=x onerror=alert(1)>';
export const ANSI_NAME = '\u001b[31mred\u001b[0m\u001b]0;pwned\u0007\u009b2J\u202eexe.tab';

/** Strings from the evidence that try to run script, rewrite the terminal or break JSON. */
export function hostile(): Analysis {
  const base = exposed();
  nextVa = 0xffffa30c4f000080n;
  const evil = [
    proc({ pid: 6660, ppid: 4180, name: HOSTILE_NAME, path: `C:\\x\\"><script>window.__pwned=1</script><img src=x onerror=alert(2)>.exe`, session: 1 }),
    proc({ pid: 6664, ppid: 6660, name: ANSI_NAME, path: 'C:\\t\\\u001b[2J\u001b[H\r\nFAKE OK\u0008\u0008.exe', session: 1, rawHex: '1b5b33316d7265641b5b306d' }),
    proc({ pid: 6668, ppid: 6660, name: '</script><script>alert(3)</script>', path: "javascript:alert('x')", session: 1 }),
    proc({ pid: 6672, ppid: 6660, name: '=cmd|\' /C calc\'!A0 \ud800', session: 1, sources: ['scan'], unlinked: true }),
  ];
  return {
    ...base,
    processes: [...base.processes, ...evil],
    findings: [
      ...base.findings,
      {
        rule: 'ntos.process-unlinked',
        title: 'Process found by the scan but not on the active list',
        severity: 'high',
        message: `${evil[3].name.text} (PID 6672) is missing from the active list. Also: ${HOSTILE_NAME} ${ANSI_NAME}`,
        evidence: { pid: 6672, eprocessVa: evil[3].eprocess.va, note: '<b>bold</b>\u001b[5m' },
      },
    ],
  };
}

export function runInfo(over: Partial<RunInfo> = {}): RunInfo {
  return {
    commandLine: 'vsm-forensics analyze /cases/2024-031/MEMORY.DMP --html out/report.html --case 2024-031 --examiner "J. Smith"',
    startedAt: '2024-03-15T10:02:11.512Z',
    finishedAt: '2024-03-15T10:02:19.970Z',
    durationMs: 8458,
    case: '2024-031',
    examiner: 'J. Smith',
    host: 'ir-ws-07',
    tool: { name: 'vsm-forensics', version: '0.1.0', commit: 'e3ce6cf' },
    ...over,
  };
}

export function evidenceInfo(over: Partial<EvidenceInfo> = {}): EvidenceInfo {
  return {
    path: '/cases/2024-031/MEMORY.DMP',
    fileName: 'MEMORY.DMP',
    size: 2147491840,
    sha256: '9f2c1d7e4b3a5968e0d1c2b3a4958677f1e2d3c4b5a69788e9f0a1b2c3d4e5f6',
    sha256ComputedAt: '2024-03-15T10:02:18.004Z',
    mtime: '2024-03-14T09:27:40.000Z',
    format: 'crash-full',
    formatName: 'full crash dump (DumpType 1)',
    dumpType: 1,
    systemTime: '2024-03-14T09:26:53.123Z',
    build: 19041,
    machine: 'AMD64',
    comment: null,
    partialByNature: false,
    ...over,
  };
}

export const PARTIAL_EVIDENCE: Partial<EvidenceInfo> = {
  format: 'crash-kernel',
  formatName: 'kernel memory dump (DumpType 8)',
  dumpType: 8,
  partialByNature: true,
};

export const HOSTILE_EVIDENCE: Partial<EvidenceInfo> = {
  path: `/cases/${HOSTILE_NAME}/\u001b[31mMEMORY.DMP`,
  fileName: `${HOSTILE_NAME}\u001b[31m.DMP`,
  comment: `LiveKD \u001b]8;;http://evil.example/\u0007click\u001b]8;;\u0007 <script>alert(4)</script>`,
};

export const HOSTILE_RUN: Partial<RunInfo> = { case: '"><svg onload=alert(5)>', examiner: '\u001b[1mroot\u001b[0m', commandLine: 'vsm-forensics analyze "<img src=x onerror=alert(6)>.dmp"' };
