// Privilege LUIDs (the low part; the high part is 0 for every built-in privilege) → names, as
// SEP_TOKEN_PRIVILEGES bit positions: bit n of Present/Enabled/EnabledByDefault is LUID n.

/** First and last LUID Windows defines (SE_MIN_WELL_KNOWN_PRIVILEGE .. SE_MAX_WELL_KNOWN_PRIVILEGE on 10). */
export const SE_MIN_WELL_KNOWN_PRIVILEGE = 2;
export const SE_MAX_WELL_KNOWN_PRIVILEGE = 36;
/** SEP_TOKEN_PRIVILEGES masks are 64-bit: no privilege beyond bit 63 can be expressed. */
export const PRIVILEGE_MASK_BITS = 64;

export const PRIVILEGE_NAMES: Readonly<Record<number, string>> = {
  2: 'SeCreateTokenPrivilege',
  3: 'SeAssignPrimaryTokenPrivilege',
  4: 'SeLockMemoryPrivilege',
  5: 'SeIncreaseQuotaPrivilege',
  6: 'SeMachineAccountPrivilege',
  7: 'SeTcbPrivilege',
  8: 'SeSecurityPrivilege',
  9: 'SeTakeOwnershipPrivilege',
  10: 'SeLoadDriverPrivilege',
  11: 'SeSystemProfilePrivilege',
  12: 'SeSystemtimePrivilege',
  13: 'SeProfileSingleProcessPrivilege',
  14: 'SeIncreaseBasePriorityPrivilege',
  15: 'SeCreatePagefilePrivilege',
  16: 'SeCreatePermanentPrivilege',
  17: 'SeBackupPrivilege',
  18: 'SeRestorePrivilege',
  19: 'SeShutdownPrivilege',
  20: 'SeDebugPrivilege',
  21: 'SeAuditPrivilege',
  22: 'SeSystemEnvironmentPrivilege',
  23: 'SeChangeNotifyPrivilege',
  24: 'SeRemoteShutdownPrivilege',
  25: 'SeUndockPrivilege',
  26: 'SeSyncAgentPrivilege',
  27: 'SeEnableDelegationPrivilege',
  28: 'SeManageVolumePrivilege',
  29: 'SeImpersonatePrivilege',
  30: 'SeCreateGlobalPrivilege',
  31: 'SeTrustedCredManAccessPrivilege',
  32: 'SeRelabelPrivilege',
  33: 'SeIncreaseWorkingSetPrivilege',
  34: 'SeTimeZonePrivilege',
  35: 'SeCreateSymbolicLinkPrivilege',
  36: 'SeDelegateSessionUserImpersonatePrivilege',
};

/** LUID of a privilege by name (for builders and rules). */
export const PRIVILEGE_LUIDS: Readonly<Record<string, number>> = Object.fromEntries(Object.entries(PRIVILEGE_NAMES).map(([k, v]) => [v, Number(k)]));

/** The name of privilege `luid`, or null when Windows defines none at that position. */
export function privilegeName(luid: number): string | null {
  return PRIVILEGE_NAMES[luid] ?? null;
}
