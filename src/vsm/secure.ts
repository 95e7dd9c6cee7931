// Secure (IUM) processes and trustlets, with the seed's IsSecureProcess semantics:
// 17763+ KPROCESS.SecureState ≠ 0; 14393 KPROCESS.SecurePid ≠ 0; null when the marker cannot be read.
// Trustlet IDs are only stated where known (LsaIso.exe = 1) or recorded by the dump (14393's
// EPROCESS.TrustletIdentity); later builds keep the ID in the secure kernel only.
import type { EprocessInfo } from '../ntos/process.ts';
import { knownTrustlet, SECURE_SYSTEM } from '../ntos/process-names.ts';

export function secureFlag(p: EprocessInfo): boolean | null {
  if (p.secureState !== undefined) return p.secureState !== 0n;
  if (p.securePid !== undefined) return p.securePid !== 0n;
  return null;
}

export interface SecureJudgement {
  readonly secure: boolean | null;
  readonly trustlet: { readonly id: number | null; readonly name: string | null } | null;
  readonly isSecureSystem: boolean;
  /** Problems for findings: a trustlet name on a non-secure process, or a secure process nobody knows. */
  readonly anomaly: null | { readonly kind: 'trustlet-not-secure' | 'secure-unknown-name' | 'trustlet-id-mismatch'; readonly message: string };
}

export function judgeSecure(p: EprocessInfo, name: string): SecureJudgement {
  const secure = secureFlag(p);
  const known = knownTrustlet(name);
  const isSecureSystem = name === SECURE_SYSTEM;
  // 14393 records the trustlet ID in the EPROCESS: where the field exists, its value is the dump's own statement.
  const recordedId = p.trustletIdentity !== undefined && p.trustletIdentity < 1n << 32n ? Number(p.trustletIdentity) : null;
  let trustlet: SecureJudgement['trustlet'] = null;
  let anomaly: SecureJudgement['anomaly'] = null;
  if (secure === true && !isSecureSystem) {
    // Trustlets are named by their image; a secure process nobody knows gets no trustlet identity, only a finding.
    if (known) trustlet = { id: recordedId ?? known.id, name: known.name };
    if (!known) anomaly = { kind: 'secure-unknown-name', message: `secure process "${name}" is not a known trustlet` };
    else if (recordedId !== null && recordedId !== 0 && known.id !== null && recordedId !== known.id)
      anomaly = { kind: 'trustlet-id-mismatch', message: `${known.name} records trustlet ID ${recordedId}, expected ${known.id}` };
  } else if (secure === false && (known || isSecureSystem)) {
    anomaly = { kind: 'trustlet-not-secure', message: `"${name}" carries a ${isSecureSystem ? 'secure kernel host' : 'trustlet'} name but is not a secure process` };
  }
  return { secure, trustlet, isSecureSystem, anomaly };
}
