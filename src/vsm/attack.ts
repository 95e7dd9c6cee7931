// MITRE ATT&CK (Enterprise) entries the findings map to. Ids and names as ATT&CK publishes them
// (https://attack.mitre.org, Enterprise matrix v17); a finding carries at most one technique, the
// one its evidence shows. Posture and damage findings (isolation, list breaks, VSM off) carry none:
// they describe the dump or the system, not an adversary's action.
import type { AttackMapping } from './types.ts';

const DEFENSE_EVASION = { tacticId: 'TA0005', tacticName: 'Defense Evasion' } as const;
const CREDENTIAL_ACCESS = { tacticId: 'TA0006', tacticName: 'Credential Access' } as const;

/** T1014 Rootkit: hiding a process by unlinking it from the kernel's list (DKOM). */
export const ROOTKIT: AttackMapping = { ...DEFENSE_EVASION, techniqueId: 'T1014', techniqueName: 'Rootkit' };

/** T1036.005: a process wearing a trustlet's name without being one. */
export const MASQUERADE_NAME: AttackMapping = {
  ...DEFENSE_EVASION,
  techniqueId: 'T1036',
  techniqueName: 'Masquerading',
  subtechniqueId: 'T1036.005',
  subtechniqueName: 'Match Legitimate Resource Name or Location',
};

/** T1003.001: reading the memory of the LSA (lsass.exe, and its isolated half LsaIso.exe). */
export const LSASS_MEMORY: AttackMapping = {
  ...CREDENTIAL_ACCESS,
  techniqueId: 'T1003',
  techniqueName: 'OS Credential Dumping',
  subtechniqueId: 'T1003.001',
  subtechniqueName: 'LSASS Memory',
};

/** T1055 Process Injection, no sub-technique the evidence can tell apart. */
export const PROCESS_INJECTION: AttackMapping = { ...DEFENSE_EVASION, techniqueId: 'T1055', techniqueName: 'Process Injection' };

/** T1055.002: a PE image written into another process's private memory. */
export const PE_INJECTION: AttackMapping = { ...PROCESS_INJECTION, subtechniqueId: 'T1055.002', subtechniqueName: 'Portable Executable Injection' };

/** T1055.004: code run in another process through a queued APC. */
export const APC_INJECTION: AttackMapping = { ...PROCESS_INJECTION, subtechniqueId: 'T1055.004', subtechniqueName: 'Asynchronous Procedure Call' };

/** The framework name ECS expects in threat.framework. */
export const ATTACK_FRAMEWORK = 'MITRE ATT&CK';
const BASE = 'https://attack.mitre.org';

/** ATT&CK page of a tactic, technique or sub-technique id (T1055.004 → …/techniques/T1055/004/). */
export function attackReference(id: string): string {
  if (id.startsWith('TA')) return `${BASE}/tactics/${id}/`;
  const [t, sub] = id.split('.');
  return sub ? `${BASE}/techniques/${t}/${sub}/` : `${BASE}/techniques/${t}/`;
}

/** T1036 Masquerading without a sub-technique: a name made to look like a system binary's. */
export const MASQUERADING: AttackMapping = { ...DEFENSE_EVASION, techniqueId: 'T1036', techniqueName: 'Masquerading' };
