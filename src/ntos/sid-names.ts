// Well-known SIDs → account names, and the mandatory-integrity RIDs (S-1-16-RID) → level names.
// Text forms as Windows prints them (S-1-<authority>-<sub>…).

export const WELL_KNOWN_SIDS: Readonly<Record<string, string>> = {
  'S-1-0-0': 'Nobody',
  'S-1-1-0': 'Everyone',
  'S-1-2-0': 'Local',
  'S-1-2-1': 'Console Logon',
  'S-1-3-0': 'Creator Owner',
  'S-1-3-1': 'Creator Group',
  'S-1-3-4': 'Owner Rights',
  'S-1-5-1': 'Dialup',
  'S-1-5-2': 'Network',
  'S-1-5-3': 'Batch',
  'S-1-5-4': 'Interactive',
  'S-1-5-6': 'Service',
  'S-1-5-7': 'Anonymous',
  'S-1-5-9': 'Enterprise Domain Controllers',
  'S-1-5-10': 'Principal Self',
  'S-1-5-11': 'Authenticated Users',
  'S-1-5-12': 'Restricted Code',
  'S-1-5-13': 'Terminal Server Users',
  'S-1-5-14': 'Remote Interactive Logon',
  'S-1-5-15': 'This Organization',
  'S-1-5-17': 'IUSR',
  'S-1-5-18': 'Local System',
  'S-1-5-19': 'Local Service',
  'S-1-5-20': 'Network Service',
  'S-1-5-32-544': 'Administrators',
  'S-1-5-32-545': 'Users',
  'S-1-5-32-546': 'Guests',
  'S-1-5-32-547': 'Power Users',
  'S-1-5-32-551': 'Backup Operators',
  'S-1-5-32-555': 'Remote Desktop Users',
  'S-1-5-33': 'Write Restricted',
  'S-1-5-64-10': 'NTLM Authentication',
  'S-1-5-80-0': 'All Services',
  'S-1-5-113': 'Local account',
  'S-1-5-114': 'Local account and member of Administrators group',
  'S-1-15-2-1': 'All Application Packages',
  'S-1-15-2-2': 'All Restricted Application Packages',
  'S-1-16-0': 'Untrusted Mandatory Level',
  'S-1-16-4096': 'Low Mandatory Level',
  'S-1-16-8192': 'Medium Mandatory Level',
  'S-1-16-8448': 'Medium Plus Mandatory Level',
  'S-1-16-12288': 'High Mandatory Level',
  'S-1-16-16384': 'System Mandatory Level',
  'S-1-16-20480': 'Protected Process Mandatory Level',
  'S-1-16-28672': 'Secure Process Mandatory Level',
};

/** Prefixes whose SIDs name a kind rather than one account (checked after the exact table). */
export const SID_PREFIX_NAMES: readonly (readonly [string, string])[] = [
  ['S-1-5-5-', 'Logon Session'],
  ['S-1-5-80-', 'NT Service'],
  ['S-1-5-90-', 'Window Manager'],
  ['S-1-5-96-', 'Font Driver Host'],
  ['S-1-15-2-', 'App Container'],
  ['S-1-15-3-', 'Capability'],
];

/** Domain-relative RIDs with a fixed meaning (S-1-5-21-…-RID). */
export const DOMAIN_RID_NAMES: Readonly<Record<number, string>> = {
  500: 'Administrator',
  501: 'Guest',
  502: 'KRBTGT',
  512: 'Domain Admins',
  513: 'Domain Users',
};

/** SECURITY_MANDATORY_LABEL_AUTHORITY: integrity SIDs are S-1-16-<RID>. */
export const SECURITY_MANDATORY_LABEL_AUTHORITY = 16;
/** SECURITY_APP_PACKAGE_AUTHORITY: package/app-container SIDs are S-1-15-2-…. */
export const SECURITY_APP_PACKAGE_AUTHORITY = 15;
export const SECURITY_APP_PACKAGE_BASE_RID = 2;

export const SECURITY_MANDATORY_UNTRUSTED_RID = 0x0000;
export const SECURITY_MANDATORY_LOW_RID = 0x1000;
export const SECURITY_MANDATORY_MEDIUM_RID = 0x2000;
export const SECURITY_MANDATORY_MEDIUM_PLUS_RID = 0x2100;
export const SECURITY_MANDATORY_HIGH_RID = 0x3000;
export const SECURITY_MANDATORY_SYSTEM_RID = 0x4000;
export const SECURITY_MANDATORY_PROTECTED_PROCESS_RID = 0x5000;
/** The level of IUM (secure) processes. */
export const SECURITY_MANDATORY_SECURE_PROCESS_RID = 0x7000;

export const INTEGRITY_LEVELS: Readonly<Record<number, string>> = {
  [SECURITY_MANDATORY_UNTRUSTED_RID]: 'Untrusted',
  [SECURITY_MANDATORY_LOW_RID]: 'Low',
  [SECURITY_MANDATORY_MEDIUM_RID]: 'Medium',
  [SECURITY_MANDATORY_MEDIUM_PLUS_RID]: 'MediumPlus',
  [SECURITY_MANDATORY_HIGH_RID]: 'High',
  [SECURITY_MANDATORY_SYSTEM_RID]: 'System',
  [SECURITY_MANDATORY_PROTECTED_PROCESS_RID]: 'ProtectedProcess',
  [SECURITY_MANDATORY_SECURE_PROCESS_RID]: 'SecureProcess',
};

/** Level name of an integrity RID; an RID between named levels gets the name of the one below it. */
export function integrityLevelName(rid: number): string {
  const exact = INTEGRITY_LEVELS[rid];
  if (exact) return exact;
  let best: string | null = null;
  let bestRid = -1;
  for (const [k, v] of Object.entries(INTEGRITY_LEVELS)) {
    const r = Number(k);
    if (r <= rid && r > bestRid) {
      best = v;
      bestRid = r;
    }
  }
  return best ?? 'Untrusted';
}

/** Account name of a SID's text form, or null when it is not well known. */
export function sidName(sid: string): string | null {
  const exact = WELL_KNOWN_SIDS[sid];
  if (exact) return exact;
  if (sid.startsWith('S-1-5-21-')) {
    const rid = Number(sid.slice(sid.lastIndexOf('-') + 1));
    if (DOMAIN_RID_NAMES[rid]) return DOMAIN_RID_NAMES[rid];
  }
  for (const [prefix, name] of SID_PREFIX_NAMES) if (sid.startsWith(prefix)) return name;
  return null;
}
