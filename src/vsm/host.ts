// Host identity of the imaged machine (issue 14): the computer name and domain from the process
// environments (with a stated rule when they disagree), the OS from KUSER_SHARED_DATA and the
// kernel build, boot and dump times from the shared clock.
import type { KuserFacts } from '../ntos/kuser.ts';
import { PRODUCT_TYPES } from '../ntos/kuser.ts';
import type { DriveLetter } from '../ntos/object-directory.ts';
import { filetimeToIso } from '../dump/numbers.ts';
import { compareCodeUnits } from '../ntos/strings.ts';
import type { HostIdentity, ProcessRecord } from './types.ts';

/** Marketing names by build; servers and workstations share builds. */
const OS_NAMES: readonly { readonly from: number; readonly workstation: string; readonly server: string | null }[] = [
  { from: 22000, workstation: 'Windows 11', server: null },
  { from: 20348, workstation: 'Windows 10', server: 'Windows Server 2022' },
  { from: 17763, workstation: 'Windows 10', server: 'Windows Server 2019' },
  { from: 14393, workstation: 'Windows 10', server: 'Windows Server 2016' },
  { from: 10240, workstation: 'Windows 10', server: null },
  { from: 9600, workstation: 'Windows 8.1', server: 'Windows Server 2012 R2' },
  { from: 7601, workstation: 'Windows 7', server: 'Windows Server 2008 R2' },
];

export function osName(build: number | null, productType: string | null): string | null {
  if (build === null) return null;
  const row = OS_NAMES.find((r) => build >= r.from);
  if (!row) return null;
  if (productType === null) return null;
  return productType === 'workstation' ? row.workstation : row.server;
}

/** Machine accounts end in "$": a process running as one carries the machine's own domain/workgroup in USERDOMAIN. */
const MACHINE_ACCOUNT = /\$$/;

/**
 * Rule for the computer name: every live process environment votes with its COMPUTERNAME
 * (case-insensitive); the most votes win, a tie goes to the value of the earliest-created process.
 * Other values are kept in `conflicts`.
 */
function pickComputerName(processes: readonly ProcessRecord[]): Pick<HostIdentity, 'computerName' | 'computerNameSource' | 'conflicts'> {
  const votes = new Map<string, { value: string; pids: number[]; first: string }>();
  const voters = processes.filter((p) => !p.terminated && p.environment?.COMPUTERNAME);
  for (const p of voters) {
    const value = p.environment!.COMPUTERNAME;
    const key = value.toUpperCase();
    const v = votes.get(key) ?? { value, pids: [], first: p.createTime ?? '9999' };
    v.pids.push(p.pid);
    if ((p.createTime ?? '9999') < v.first) v.first = p.createTime ?? '9999';
    votes.set(key, v);
  }
  const ranked = [...votes.values()].sort((a, b) => b.pids.length - a.pids.length || compareCodeUnits(a.first, b.first));
  if (ranked.length === 0) return { computerName: null, computerNameSource: null, conflicts: [] };
  const [win, ...rest] = ranked;
  return {
    computerName: win.value,
    computerNameSource: `COMPUTERNAME in ${win.pids.length} of ${voters.length} readable process environment${voters.length === 1 ? '' : 's'}${rest.length ? ' (most votes; see conflicts)' : ''}`,
    conflicts: rest.map((r) => ({ value: r.value, pids: r.pids })),
  };
}

function pickDomain(processes: readonly ProcessRecord[]): { domain: string | null; dnsDomain: string | null } {
  const live = processes.filter((p) => !p.terminated && p.environment);
  const machine = live.find((p) => p.environment!.USERNAME && MACHINE_ACCOUNT.test(p.environment!.USERNAME) && p.environment!.USERDOMAIN);
  const dns = live.find((p) => p.environment!.USERDNSDOMAIN);
  return { domain: machine?.environment!.USERDOMAIN ?? null, dnsDomain: dns?.environment!.USERDNSDOMAIN ?? null };
}

export function identifyHost(processes: readonly ProcessRecord[], kuser: KuserFacts | undefined, build: number | null, drives: { drives: readonly DriveLetter[]; reason?: string }): HostIdentity {
  const reasons: string[] = [];
  const name = pickComputerName(processes);
  if (!name.computerName) reasons.push('No process environment with COMPUTERNAME was readable: the computer name is unknown.');
  if (name.conflicts.length) reasons.push(`Process environments disagree on COMPUTERNAME: ${[name.computerName, ...name.conflicts.map((c) => c.value)].join(', ')}.`);
  const dom = pickDomain(processes);
  const productType = kuser?.productType != null ? (PRODUCT_TYPES[kuser.productType] ?? null) : null;
  if (!productType) reasons.push('KUSER_SHARED_DATA.NtProductType is unreadable or unknown.');
  const version = kuser?.majorVersion != null && kuser.minorVersion != null && kuser.majorVersion > 0 && kuser.majorVersion < 100 ? `${kuser.majorVersion}.${kuser.minorVersion}` : null;
  const dumpTime = filetimeToIso(kuser?.systemTime);
  const up = kuser?.interruptTime;
  const bootTime = kuser?.systemTime !== undefined && up !== undefined && up > 0n && up < kuser.systemTime ? filetimeToIso(kuser.systemTime - up) : null;
  if (!dumpTime) reasons.push('KUSER_SHARED_DATA.SystemTime is unreadable.');
  if (!bootTime) reasons.push('The boot time could not be derived from KUSER_SHARED_DATA (SystemTime − InterruptTime).');
  if (drives.reason) reasons.push(`Drive letters: ${drives.reason}.`);
  return {
    ...name,
    ...dom,
    os: { build, version, productType, name: osName(build, productType) },
    bootTime,
    dumpTime,
    dumpTimeSource: dumpTime ? 'kuser-shared-data' : null,
    drives: drives.drives.map((d) => ({ letter: d.letter, target: d.target })),
    reasons,
  };
}
