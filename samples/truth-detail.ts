// Ground truth below the process (threads with APCs, handles, token, VADs, debug port, the nine
// extended flags, exit status, base priority) and the tampering findings they must raise — all from
// the generator's model, never from the dump.
import { PROCESS_TAMPER_RIGHTS, PROCESS_VM_READ, THREAD_TAMPER_RIGHTS, decodeRights } from '../src/ntos/access-rights.ts';
import { EXTENDED_FLAG_NAMES } from '../src/ntos/extended-info.ts';
import { MM_PROTECT_TO_VALUE, pageProtectionName } from '../src/ntos/page-protection.ts';
import { filetimeToIso, type BuiltProcess, type Machine } from './machine.ts';
import type { ProcessFlags } from './builders/process.ts';

const hex = (v: bigint | number) => '0x' + BigInt(v).toString(16);

/** Bit positions of PROCESS_EXTENDED_BASIC_INFORMATION's flags. */
export const EXTENDED_FLAG_BITS: readonly (keyof ProcessFlags)[] = EXTENDED_FLAG_NAMES;

/** Where each flag comes from (informative; the generator writes these fields). */
const FLAG_SOURCES: Readonly<Record<keyof ProcessFlags, string>> = {
  isProtectedProcess: 'EPROCESS.Protection.Type',
  isWow64Process: 'EPROCESS.WoW64Process',
  isProcessDeleting: 'EPROCESS.Flags.ProcessDelete',
  isCrossSessionCreate: 'EPROCESS.Flags2.CrossSessionCreate',
  isFrozen: 'KPROCESS.DeepFreeze/FreezeCount',
  isBackground: 'EPROCESS.Flags.Background',
  isStronglyNamed: 'TOKEN.Package',
  isSecureProcess: 'KPROCESS.SecureState/SecurePid',
  isSubsystemProcess: 'EPROCESS.Flags3.SubsystemProcess',
};

export interface ProcessDetail {
  extendedInfo: Record<string, unknown>;
  exitStatus: number;
  basePriority: number;
  debugPort: string | null;
  threads: {
    tid: number;
    ethread: string;
    startAddress: string | null;
    win32StartAddress: string | null;
    startModule: string | null;
    createTime: string | null;
    exitTime: string | null;
    state: string | null;
    apcs: { mode: 'kernel' | 'user'; kapc: string; kernelRoutine: string | null; normalRoutine: string | null; module: string | null }[];
  }[];
  handles: { handle: number; type: string | null; grantedAccess: number; rights: string[]; object: string; target: { pid: number; tid: number | null; name: string | null } | null; name: string | null }[];
  token: {
    user: { sid: string; name: string | null };
    integrity: { sid: string; level: string } | null;
    groups: { sid: string; attributes: number }[];
    privileges: { name: string; present: boolean; enabled: boolean; enabledByDefault: boolean }[];
    package: { sid: string } | null;
  } | null;
  vads: { start: string; end: string; protection: string; private: boolean; file: string | null; commit: number | null }[];
}

export interface ExpectedFinding {
  rule: string;
  /** The process the finding is about (the secure process, lsass.exe, the injected process). */
  pid?: number;
  ownerPid?: number;
  handle?: number;
  tid?: number;
  address?: string;
  module?: string | null;
  rights?: string[];
}

const optHex = (v: bigint) => (v === 0n ? null : hex(v));
const protectionName = (index: number) => pageProtectionName(MM_PROTECT_TO_VALUE[index]);
const executable = (index: number) => protectionName(index).includes('EXECUTE');

export function processTruthDetail(m: Machine, p: BuiltProcess): ProcessDetail {
  const flags = EXTENDED_FLAG_BITS.reduce((acc, name, bit) => (p.flags[name] ? acc | (1 << bit) : acc), 0);
  return {
    extendedInfo: { flags, knownFlags: flags, unknownMask: 0, ...p.flags, sources: FLAG_SOURCES, reasons: {} },
    exitStatus: p.exitStatus,
    basePriority: p.basePriority,
    debugPort: optHex(p.debugPort),
    threads: p.threads.map((t) => ({
      tid: t.tid,
      ethread: hex(t.ethread),
      startAddress: optHex(t.startAddress),
      win32StartAddress: optHex(t.win32StartAddress),
      startModule: t.startModule,
      createTime: filetimeToIso(t.createTime),
      exitTime: filetimeToIso(t.exitTime),
      state: t.state,
      apcs: [...t.apcs.filter((a) => a.mode === 'kernel'), ...t.apcs.filter((a) => a.mode === 'user')].map((a) => ({
        mode: a.mode,
        kapc: hex(a.kapc),
        kernelRoutine: optHex(a.kernelRoutine),
        normalRoutine: optHex(a.normalRoutine),
        module: a.module,
      })),
    })),
    handles: p.handles.map((h) => ({
      handle: h.handle,
      type: h.type,
      grantedAccess: h.grantedAccess,
      rights: h.type === 'Process' || h.type === 'Thread' ? decodeRights(h.type, h.grantedAccess) : [],
      object: hex(h.object),
      target: h.target,
      name: h.name,
    })),
    token: { user: p.token.user, integrity: p.token.integrity, groups: p.token.groups, privileges: p.token.privileges, package: p.token.package },
    vads: [...p.vads]
      .sort((a, b) => (a.startVpn < b.startVpn ? -1 : 1))
      .map((v) => ({ start: hex(v.startVpn << 12n), end: hex(((v.endVpn + 1n) << 12n) - 1n), protection: protectionName(v.protection), private: v.private, file: v.file, commit: v.commit })),
  };
}

const isTrustlet = (p: BuiltProcess) => p.secure && !p.terminated && p.map.image !== null;
const isLsass = (p: BuiltProcess) => p.spec.name.toLowerCase() === 'lsass.exe';
/** PID 4: the kernel's own handles are not an attack. */
const SYSTEM_PID = 4;

/** The tampering findings the model's traces must raise (rules in samples/README.md). */
export function expectedTamperFindings(m: Machine): ExpectedFinding[] {
  const out: ExpectedFinding[] = [];
  const byPid = new Map(m.processes.map((p) => [p.spec.pid, p]));
  for (const owner of m.processes) {
    for (const h of owner.handles) {
      if (!h.target || (h.type !== 'Process' && h.type !== 'Thread')) continue;
      const target = byPid.get(h.target.pid)!;
      if (target === owner) continue;
      const tamper = h.type === 'Process' ? PROCESS_TAMPER_RIGHTS : THREAD_TAMPER_RIGHTS;
      if (target.secure && !target.terminated && h.grantedAccess & tamper) {
        out.push({ rule: 'vsm.trustlet-handle-access', pid: target.spec.pid, ownerPid: owner.spec.pid, handle: h.handle, ...(h.type === 'Thread' ? { tid: h.target.tid! } : {}), rights: decodeRights(h.type, h.grantedAccess & tamper) });
      }
      if (h.type === 'Process' && isLsass(target) && owner.spec.pid !== SYSTEM_PID && h.grantedAccess & PROCESS_VM_READ) {
        out.push({ rule: 'ntos.lsass-handle-access', pid: target.spec.pid, ownerPid: owner.spec.pid, handle: h.handle });
      }
    }
  }
  for (const p of m.processes.filter(isTrustlet)) {
    const own = [p.map.image!, ...p.map.dlls];
    for (const t of p.threads) {
      const at = t.win32StartAddress;
      if (!own.some((x) => at >= x.base && at < x.base + BigInt(x.size))) out.push({ rule: 'vsm.trustlet-remote-thread', pid: p.spec.pid, tid: t.tid, address: hex(at), module: t.startModule });
      for (const a of t.apcs) {
        const routine = a.mode === 'kernel' ? a.kernelRoutine : a.normalRoutine;
        out.push({ rule: a.mode === 'kernel' ? 'vsm.trustlet-kernel-apc' : 'vsm.trustlet-user-apc', pid: p.spec.pid, tid: t.tid, address: hex(routine), module: a.module });
      }
    }
    for (const v of p.vads) if (v.private && executable(v.protection)) out.push({ rule: 'vsm.trustlet-private-executable', pid: p.spec.pid, address: hex(v.startVpn << 12n) });
    if (p.debugPort) out.push({ rule: 'vsm.trustlet-debug-port', pid: p.spec.pid, address: hex(p.debugPort) });
  }
  for (const p of m.processes) {
    if (p.terminated) continue;
    p.map.regions.forEach((r, i) => {
      const spec = p.spec.regions![i];
      if (!executable(p.vads.find((v) => v.startVpn << 12n === r.base)!.protection)) return;
      const end = r.base + BigInt(r.size);
      const t = p.threads.find((x) => x.win32StartAddress >= r.base && x.win32StartAddress < end);
      const pe = spec.content === 'pe' && !p.secure;
      if (t) out.push({ rule: 'ntos.injected-code', pid: p.spec.pid, tid: t.tid, address: hex(r.base) });
      else if (pe) out.push({ rule: 'ntos.injected-code', pid: p.spec.pid, address: hex(r.base) });
    });
  }
  return out;
}
