// VBS posture: which secure processes ran, whether the Secure System and Credential Guard were up,
// where the dump likely came from, and the system-wide isolation verdict — each with the evidence
// sentence behind it.
import type { DumpFormat } from '../dump/types.ts';
import { SECURE_SYSTEM } from '../ntos/process-names.ts';
import type { Posture, ProcessRecord, VsmVerdict } from './types.ts';

export type DumpOrigin = 'vtl0-crash-dump' | 'raw-acquisition' | 'hypervisor-capture' | 'unknown';

export interface PostureInput {
  readonly processes: readonly ProcessRecord[];
  readonly format: DumpFormat;
  readonly formatName: string;
  /** Physical addresses where a secure-kernel image marker (securekernel PDB name) was seen. */
  readonly secureKernelMarkers: readonly number[];
}

const isLive = (p: ProcessRecord) => !p.terminated;

export function computePosture(inp: PostureInput): Posture {
  const evidence: string[] = [];
  const secure = inp.processes.filter((p) => p.secure === true);
  const secureSystem = inp.processes.find((p) => p.name.text === SECURE_SYSTEM);
  const lsaIso = inp.processes.filter((p) => p.name.text.toLowerCase() === 'lsaiso.exe');
  const cg = lsaIso.some((p) => p.secure === true && isLive(p));

  evidence.push(
    secure.length > 0
      ? `${secure.length} secure (IUM) process${secure.length === 1 ? '' : 'es'}: ${secure.map((p) => `${p.name.text} (PID ${p.pid})`).join(', ')}.`
      : inp.processes.some((p) => p.secure === null)
        ? 'No process could be confirmed secure: the secure-process marker was unreadable for some processes.'
        : 'No process is marked secure (SecureState/SecurePid zero for all): VSM trustlets were not running.',
  );
  evidence.push(
    secureSystem
      ? `The "Secure System" process (PID ${secureSystem.pid}) is present${secureSystem.secure === true ? ' and secure' : secureSystem.secure === false ? ' but not marked secure' : ''}: the secure kernel was running.`
      : 'No "Secure System" process: the secure kernel was not running, or its process was not found.',
  );
  if (cg) {
    const p = lsaIso.find((x) => x.secure === true && isLive(x))!;
    evidence.push(`Credential Guard was running: LsaIso.exe (PID ${p.pid}) is a live secure process${p.trustlet?.id != null ? ` with trustlet ID ${p.trustlet.id}` : ''}.`);
  } else if (lsaIso.length > 0) {
    evidence.push(`LsaIso.exe is present (PID ${lsaIso.map((p) => p.pid).join(', ')}) but not as a live secure process: Credential Guard was not protecting credentials.`);
  } else evidence.push('No LsaIso.exe process: Credential Guard was not running.');

  const trustlets = secure.filter((p) => p.name.text !== SECURE_SYSTEM);
  const readableTrustlet = trustlets.some((p) => (p.isolation?.pagesReadable ?? 0) > 0);
  let origin: DumpOrigin;
  if (inp.format.startsWith('crash-')) {
    origin = 'vtl0-crash-dump';
    evidence.push(`The evidence is a Windows crash dump (${inp.formatName}), written by the VTL0 kernel's dump writer.`);
    if (readableTrustlet) evidence.push('Yet trustlet pages are readable in it: VTL1 isolation was not enforced when the dump was written.');
  } else if (inp.format === 'vmware') {
    origin = 'hypervisor-capture';
    evidence.push('The evidence is a VMware snapshot: guest memory captured by the host hypervisor, below VTL1, so VTL1 pages are included.');
  } else if (inp.format === 'raw') {
    if (readableTrustlet && inp.secureKernelMarkers.length > 0) {
      origin = 'hypervisor-capture';
      evidence.push(
        `The raw image holds readable trustlet pages and the secure kernel's image (securekernel marker at ${inp.secureKernelMarkers.slice(0, 3).map((a) => '0x' + a.toString(16)).join(', ')}): it was captured below VTL1, by a hypervisor or hardware.`,
      );
    } else if (readableTrustlet) {
      origin = 'unknown';
      evidence.push('The raw image holds readable trustlet pages but no secure-kernel image was found: either a hypervisor-level capture or VTL1 isolation was not enforced.');
    } else {
      origin = 'raw-acquisition';
      evidence.push('The evidence is a raw physical image with no readable trustlet page: a software acquisition from VTL0 (VTL1 pages read as zeros or were skipped).');
    }
  } else {
    origin = 'unknown';
    evidence.push(`The evidence format (${inp.formatName}) does not say how it was acquired.`);
  }

  return { secureProcesses: secure.length, secureSystemPresent: !!secureSystem, credentialGuard: cg, dumpOrigin: origin, evidence };
}

/** The system verdict from the per-process isolation verdicts of secure processes. */
export function systemVerdict(processes: readonly ProcessRecord[]): { verdict: VsmVerdict; reason: string } {
  const secure = processes.filter((p) => p.secure === true);
  if (secure.length === 0) {
    if (processes.length === 0) return { verdict: 'indeterminate', reason: 'no process could be read from the dump' };
    if (processes.some((p) => p.secure === null)) return { verdict: 'indeterminate', reason: 'no process is confirmed secure, but the secure-process marker could not be read for all of them' };
    return { verdict: 'not-running', reason: 'no secure (IUM) process: VSM trustlets were not running' };
  }
  const judged = secure.filter((p) => p.isolation);
  const exposed = judged.filter((p) => p.isolation!.verdict === 'exposed');
  if (exposed.length > 0) {
    const pages = exposed.reduce((n, p) => n + p.isolation!.pagesReadable, 0);
    return { verdict: 'exposed', reason: `${pages} page${pages === 1 ? '' : 's'} of ${exposed.map((p) => `${p.name.text} (PID ${p.pid})`).join(', ')} ${pages === 1 ? 'is' : 'are'} readable in the dump: it holds VTL1 secrets and must be handled as such` };
  }
  const isolated = judged.filter((p) => p.isolation!.verdict === 'isolated');
  const indeterminate = judged.filter((p) => p.isolation!.verdict === 'indeterminate' && p.isolation!.pagesMapped > 0);
  if (indeterminate.length > 0) return { verdict: 'indeterminate', reason: `${indeterminate.map((p) => `${p.name.text} (PID ${p.pid})`).join(', ')}: ${indeterminate[0].isolation!.reason}` };
  if (isolated.length > 0) return { verdict: 'isolated', reason: `every resident page of ${isolated.length} secure process${isolated.length === 1 ? '' : 'es'} is absent or unreadable in the dump` };
  return { verdict: 'indeterminate', reason: 'no secure process has resident user pages to test' };
}
