// Tampering traces against secure processes (trustlets) and against lsass.exe, read from VTL0
// kernel structures only: handles, threads, APC queues, VADs, the debug port. One rule table
// (TAMPERING_RULES): id, title, severity, ATT&CK technique, what it matches, the message and the
// evidence of each match. docs/analyze.md says what Windows does to each attempt and what to check next.
import { PROCESS_TAMPER_RIGHTS, PROCESS_VM_READ, THREAD_TAMPER_RIGHTS, processRights, threadRights } from '../ntos/access-rights.ts';
import { SECURE_SYSTEM, SYSTEM_PROCESS } from '../ntos/process-names.ts';
import { APC_INJECTION, LSASS_MEMORY, PE_INJECTION, PROCESS_INJECTION } from './attack.ts';
import { applyRules, rule, type FindingRule } from './rules.ts';
import type { ApcRecord, AttackMapping, Finding, HandleRecord, ProcessRecord, ThreadRecord, VadRecord } from './types.ts';

/** The PID of the System process (kernel handles live in its table). */
export const SYSTEM_PID = 4;
const LSASS = 'lsass.exe';
const LSAISO = 'lsaiso.exe';

/**
 * Processes whose handles on lsass.exe are part of Windows itself: lsass's parent (wininit.exe
 * starts it) and the Windows subsystem process, which holds a handle to every Win32 process it
 * serves. Matched by name, so a process wearing one of these names escapes this rule: check the
 * image path and parent of any such owner. Security products (MsMpEng.exe and other EDRs) also read
 * lsass memory; they are reported, not exempted — the responder confirms them by path and signer.
 */
/** The one tampering rule about lsass.exe (the VTL0 half), not about a trustlet. */
export const LSASS_HANDLE_RULE = 'ntos.lsass-handle-access';

export const LSASS_HANDLE_OWNERS: ReadonlySet<string> = new Set(['csrss.exe', 'wininit.exe']);

export interface TamperInput {
  readonly processes: readonly ProcessRecord[];
  /** Private executable regions that start with a PE header ("MZ"), by process index; read only in non-secure processes. */
  readonly peHeaders: ReadonlyMap<number, ReadonlySet<string>>;
  /** The kernel image's module name (ntoskrnl.exe …): a kernel APC whose routine is the kernel's own is reported at high, not critical. */
  readonly kernelImage: string | null;
}

const isTrustlet = (p: ProcessRecord) => p.secure === true && p.name.text !== SECURE_SYSTEM;
const lower = (p: ProcessRecord) => p.name.text.toLowerCase();
const hexNum = (n: number) => '0x' + n.toString(16);
const ref = (p: ProcessRecord) => `${p.name.text} (PID ${p.pid})`;

function processEvidence(p: ProcessRecord): Finding['evidence'] {
  return { pid: p.pid, ...(p.eprocess.va ? { eprocessVa: p.eprocess.va } : {}), ...(p.eprocess.pa ? { eprocessPa: p.eprocess.pa } : {}) };
}
const owner = (p: ProcessRecord) => ({ pid: p.pid, name: p.name.text, eprocessVa: p.eprocess.va ?? null });

interface HandleMatch {
  readonly owner: ProcessRecord;
  readonly target: ProcessRecord;
  readonly h: HandleRecord;
  /** The rights that make the handle a tampering trace. */
  readonly tamper: readonly string[];
}

/** Handles on `target`-like processes held by others, with the rights that matter. */
function handlesOn(inp: TamperInput, isTarget: (p: ProcessRecord) => boolean, rights: (h: HandleRecord) => readonly string[], legitimate: (o: ProcessRecord, t: ProcessRecord) => boolean): HandleMatch[] {
  const byPid = new Map<number, ProcessRecord>();
  for (const p of inp.processes) if (isTarget(p) && !p.terminated) byPid.set(p.pid, p);
  if (byPid.size === 0) return [];
  const out: HandleMatch[] = [];
  for (const o of inp.processes) {
    for (const h of o.handles ?? []) {
      if ((h.type !== 'Process' && h.type !== 'Thread') || h.target?.pid == null) continue;
      const t = byPid.get(h.target.pid);
      if (!t || t === o || o.pid === t.pid || legitimate(o, t)) continue;
      const tamper = rights(h);
      if (tamper.length) out.push({ owner: o, target: t, h, tamper });
    }
  }
  return out;
}

const tamperRights = (h: HandleRecord) => (h.type === 'Process' ? processRights(h.grantedAccess & PROCESS_TAMPER_RIGHTS) : threadRights(h.grantedAccess & THREAD_TAMPER_RIGHTS));
/** Reading lsass memory needs PROCESS_VM_READ (PROCESS_ALL_ACCESS includes it); the finding names every right granted. */
const lsassRights = (h: HandleRecord) => (h.type === 'Process' && (h.grantedAccess & PROCESS_VM_READ) !== 0 ? processRights(h.grantedAccess) : []);
/** The kernel (System), the secure kernel's host, and the trustlet's own parent (wininit.exe starts LsaIso.exe with a full handle). */
const trustletOwnerLegitimate = (o: ProcessRecord, t: ProcessRecord) => o.pid === SYSTEM_PID || o.name.text === SYSTEM_PROCESS || o.name.text === SECURE_SYSTEM || (o.pid === t.ppid && o.name.text.toLowerCase() === 'wininit.exe');
const lsassOwnerLegitimate = (o: ProcessRecord) => o.pid === SYSTEM_PID || LSASS_HANDLE_OWNERS.has(lower(o));

function handleEvidence(m: HandleMatch): Finding['evidence'] {
  return {
    ...processEvidence(m.target),
    owner: owner(m.owner),
    handle: m.h.handle,
    type: m.h.type,
    grantedAccess: hexNum(m.h.grantedAccess),
    rights: m.tamper,
    object: m.h.object,
    ...(m.h.target?.tid != null ? { tid: m.h.target.tid } : {}),
  };
}
const handleMessage = (m: HandleMatch) =>
  `${ref(m.owner)} holds ${m.h.type} handle ${hexNum(m.h.handle)} on ${ref(m.target)}${m.h.target?.tid != null ? ` thread ${m.h.target.tid}` : ''} with ${m.tamper.join(', ')}.`;

interface ThreadMatch {
  readonly p: ProcessRecord;
  readonly t: ThreadRecord;
}
interface ApcMatch extends ThreadMatch {
  readonly apc: ApcRecord;
}
interface VadMatch {
  readonly p: ProcessRecord;
  readonly v: VadRecord;
  /** Threads whose start address lies in the region. */
  readonly threads: readonly ThreadRecord[];
  readonly peHeader: boolean;
}

/** The address a thread was asked to run: Win32StartAddress, else StartAddress. */
export function threadStart(t: ThreadRecord): string | null {
  return t.win32StartAddress ?? t.startAddress;
}
const USER_LIMIT = 0x0000800000000000n;
const isUser = (a: string | null) => a !== null && BigInt(a) < USER_LIMIT;
const isExecutable = (v: VadRecord) => v.protection?.includes('EXECUTE') === true;
const within = (a: string | null, v: VadRecord) => a !== null && BigInt(a) >= BigInt(v.start) && BigInt(a) <= BigInt(v.end);

function trustletThreads(inp: TamperInput): ThreadMatch[] {
  return inp.processes.filter(isTrustlet).flatMap((p) => (p.threads ?? []).map((t) => ({ p, t })));
}
function trustletApcs(inp: TamperInput, mode: ApcRecord['mode']): ApcMatch[] {
  return trustletThreads(inp).flatMap(({ p, t }) => t.apcs.filter((a) => a.mode === mode).map((apc) => ({ p, t, apc })));
}
function privateExecutable(inp: TamperInput, which: (p: ProcessRecord) => boolean): VadMatch[] {
  const out: VadMatch[] = [];
  inp.processes.forEach((p, i) => {
    if (!which(p)) return;
    for (const v of p.vads ?? []) {
      if (v.private !== true || !isExecutable(v)) continue;
      const threads = (p.threads ?? []).filter((t) => within(threadStart(t), v));
      out.push({ p, v, threads, peHeader: inp.peHeaders.get(i)?.has(v.start) === true });
    }
  });
  return out;
}

function threadEvidence({ p, t }: ThreadMatch): Finding['evidence'] {
  return { ...processEvidence(p), tid: t.tid, ethread: t.ethread, address: threadStart(t) ?? undefined, startAddress: t.startAddress, win32StartAddress: t.win32StartAddress, module: t.startModule };
}
function apcEvidence(m: ApcMatch): Finding['evidence'] {
  return { ...processEvidence(m.p), tid: m.t.tid, ethread: m.t.ethread, kapc: m.apc.kapc, address: (m.apc.mode === 'user' ? m.apc.normalRoutine : m.apc.kernelRoutine) ?? undefined, kernelRoutine: m.apc.kernelRoutine, normalRoutine: m.apc.normalRoutine, module: m.apc.module };
}
function vadEvidence(m: VadMatch): Finding['evidence'] {
  return {
    ...processEvidence(m.p),
    ...(m.threads.length ? { tid: m.threads[0].tid } : {}),
    address: m.v.start,
    end: m.v.end,
    protection: m.v.protection,
    commit: m.v.commit,
    peHeader: m.peHeader,
    threads: m.threads.map((t) => ({ tid: t.tid, ethread: t.ethread, startAddress: threadStart(t) })),
  };
}
const region = (v: VadRecord) => `${v.start}-${v.end} (${v.protection})`;

export const TAMPERING_RULES: readonly FindingRule<TamperInput, unknown>[] = [
  rule<TamperInput, HandleMatch>({
    rule: 'vsm.trustlet-handle-access',
    title: 'A process holds a handle on a trustlet with tampering rights',
    severity: 'high',
    attack: (m) => (lower(m.target) === LSAISO ? LSASS_MEMORY : PROCESS_INJECTION),
    matches: (c) => handlesOn(c, isTrustlet, tamperRights, trustletOwnerLegitimate),
    message: (m) => `${handleMessage(m)} Windows refuses memory access and code injection into an IUM process; the handle records the attempt.`,
    evidence: handleEvidence,
  }),
  rule<TamperInput, ThreadMatch>({
    rule: 'vsm.trustlet-remote-thread',
    title: 'A trustlet thread starts outside every image mapped in it',
    severity: 'critical',
    attack: PROCESS_INJECTION,
    matches: (c) => trustletThreads(c).filter(({ t }) => isUser(threadStart(t)) && t.startModule === null),
    message: ({ p, t }) => `Thread ${t.tid} (ETHREAD ${t.ethread}) of ${ref(p)} starts at ${threadStart(t)}, outside the trustlet's image and the system DLLs mapped in it: a thread created from outside.`,
    evidence: threadEvidence,
  }),
  rule<TamperInput, ApcMatch>({
    rule: 'vsm.trustlet-user-apc',
    title: 'A user-mode APC is queued to a trustlet thread',
    severity: 'high',
    attack: APC_INJECTION,
    matches: (c) => trustletApcs(c, 'user'),
    message: (m) => `User APC ${m.apc.kapc} is queued to thread ${m.t.tid} of ${ref(m.p)}: NormalRoutine ${m.apc.normalRoutine ?? 'unknown'}${m.apc.module ? ` in ${m.apc.module}` : ' in no mapped image'}. QueueUserApc into a trustlet fails silently; the queued KAPC records the attempt.`,
    evidence: apcEvidence,
  }),
  rule<TamperInput, ApcMatch & { readonly kernelImage: boolean }>({
    rule: 'vsm.trustlet-kernel-apc',
    title: 'A driver queued a kernel APC to a trustlet thread',
    severity: (m) => (m.kernelImage ? 'high' : 'critical'),
    attack: APC_INJECTION,
    matches: (c) => trustletApcs(c, 'kernel').map((m) => ({ ...m, kernelImage: m.apc.module !== null && m.apc.module.toLowerCase() === c.kernelImage?.toLowerCase() })),
    message: (m) =>
      m.kernelImage
        ? `Kernel APC ${m.apc.kapc} is queued to thread ${m.t.tid} of ${ref(m.p)}: KernelRoutine ${m.apc.kernelRoutine ?? 'unknown'} in the kernel image ${m.apc.module} — possibly Windows' own (suspension, termination); check who asked for it.`
        : `Kernel APC ${m.apc.kapc} is queued to thread ${m.t.tid} of ${ref(m.p)}: KernelRoutine ${m.apc.kernelRoutine ?? 'unknown'} ${m.apc.module ? `in driver ${m.apc.module}` : 'in no loaded module'}. Driver APCs into a trustlet can destabilise the system.`,
    evidence: apcEvidence,
  }),
  rule<TamperInput, VadMatch>({
    rule: 'vsm.trustlet-private-executable',
    title: 'A trustlet has a private executable region',
    severity: 'high',
    attack: PROCESS_INJECTION,
    matches: (c) => privateExecutable(c, isTrustlet),
    message: (m) => `${ref(m.p)} has private executable memory at ${region(m.v)}${m.threads.length ? `, where thread ${m.threads.map((t) => t.tid).join(', ')} starts` : ''}: code allocated into the trustlet (VirtualAllocEx does not work as expected on IUM processes).`,
    evidence: vadEvidence,
  }),
  rule<TamperInput, ProcessRecord>({
    rule: 'vsm.trustlet-debug-port',
    title: 'A debug port is set on a secure process',
    severity: 'high',
    attack: (p) => (lower(p) === LSAISO ? LSASS_MEMORY : undefined),
    matches: (c) => c.processes.filter((p) => p.secure === true && p.debugPort != null),
    message: (p) => `${ref(p)} has DebugPort ${p.debugPort}: something tried to debug a secure process, which Windows does not let a debugger attach to.`,
    evidence: (p) => ({ ...processEvidence(p), address: p.debugPort ?? undefined, debugPort: p.debugPort }),
  }),
  rule<TamperInput, HandleMatch>({
    rule: LSASS_HANDLE_RULE,
    title: 'A process holds a handle on lsass.exe that can read its memory',
    severity: 'high',
    attack: LSASS_MEMORY,
    matches: (c) => handlesOn(c, (p) => lower(p) === LSASS && p.secure !== true, lsassRights, lsassOwnerLegitimate),
    message: (m) => `${handleMessage(m)} This is how LSASS memory is dumped for credentials.`,
    evidence: handleEvidence,
  }),
  rule<TamperInput, VadMatch>({
    rule: 'ntos.injected-code',
    title: 'Injected code: a private executable region with a thread or a PE image in it',
    severity: 'high',
    attack: (m): AttackMapping => (m.peHeader ? PE_INJECTION : PROCESS_INJECTION),
    matches: (c) => privateExecutable(c, (p) => p.name.text !== SECURE_SYSTEM).filter((m) => m.threads.length > 0 || m.peHeader),
    message: (m) =>
      `${ref(m.p)} has private executable memory at ${region(m.v)}${m.peHeader ? ' starting with a PE header' : ''}${m.threads.length ? `${m.peHeader ? ' and' : ''} where thread ${m.threads.map((t) => t.tid).join(', ')} starts` : ''}: code not loaded from any file.`,
    evidence: vadEvidence,
  }),
];

export function tamperingFindings(inp: TamperInput): Finding[] {
  return applyRules(TAMPERING_RULES, inp);
}
