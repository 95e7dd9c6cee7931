// EPROCESS.Protection (the one-byte PS_PROTECTION) for a kernel no symbol source knows, derived
// from the data: the one byte offset after ImageFileName whose value is the signer Windows gives
// System (WinSystem, 0x72), smss/csrss/wininit/services (WinTcb-Light, 0x61) and lsass (Lsa-Light
// 0x41, or 0 without RunAsPPL), while every other process reads 0 or a well-formed PS_PROTECTION.
// Exactly one offset must fit, confirmed by at least MIN_ANCHORS named system processes; otherwise
// nothing is reported (the column stays unknown, never guessed).
import type { VirtualMemory } from '../dump/types.ts';
import { hex } from '../dump/numbers.ts';
import { IMAGE_FILE_NAME_BYTES, SYSTEM_PROCESS } from './process-names.ts';

/** PS_PROTECTION bits (../shared/docs/formats.md §6): Type 0-2, Audit 3, Signer 4-7. */
const PROTECTION_TYPE_MASK = 0x07;
const PROTECTION_AUDIT_BIT = 0x08;
const PROTECTION_SIGNER_SHIFT = 4;
/** PsProtectedTypeProtectedLight, PsProtectedTypeProtected: the only types Windows sets. */
const VALID_TYPES: ReadonlySet<number> = new Set([1, 2]);
/** PsProtectedSignerAuthenticode (1) .. PsProtectedSignerApp (8). */
const MAX_SIGNER = 8;

/** Expected PS_PROTECTION of the processes Windows always protects the same way. */
export const EXPECTED_PROTECTION: ReadonlyMap<string, readonly number[]> = new Map([
  [SYSTEM_PROCESS, [0x72]], // PsProtectedSignerWinSystem, Protected
  ['smss.exe', [0x61]], // PsProtectedSignerWinTcb-Light
  ['csrss.exe', [0x61]],
  ['wininit.exe', [0x61]],
  ['services.exe', [0x61]],
]);
/** lsass: PsProtectedSignerLsa-Light with RunAsPPL, unprotected without. Never an anchor (0 is common). */
const LSASS = 'lsass.exe';
const LSASS_PROTECTION: readonly number[] = [0x41, 0];

export const PROTECTION_LIMITS = {
  /** Bytes after ImageFileName searched (every table kernel has Protection 0x242..0x2d2 after it). */
  window: 0x400,
  /** Named system processes (System + WinTcb-Light ones) that must agree. */
  minAnchors: 3,
} as const;

/** 0, or a PS_PROTECTION Windows can set: type Light/Protected, a defined signer, no audit bit. */
export function plausibleProtection(b: number): boolean {
  if (b === 0) return true;
  const signer = b >> PROTECTION_SIGNER_SHIFT;
  return VALID_TYPES.has(b & PROTECTION_TYPE_MASK) && (b & PROTECTION_AUDIT_BIT) === 0 && signer >= 1 && signer <= MAX_SIGNER;
}

export interface ProtectionCandidate {
  readonly ep: bigint;
  readonly pid: number;
  readonly name: string;
}

/**
 * Reads each process's window after ImageFileName (bounded by `maxEprocess` from the EPROCESS
 * start) and returns the one fitting offset, or why none is reported.
 */
export function inferProtection(
  vm: Pick<VirtualMemory, 'read'>,
  procs: readonly ProtectionCandidate[],
  oName: number,
  maxEprocess: number,
): { offset?: number; reason: string } {
  const from = oName + IMAGE_FILE_NAME_BYTES;
  const len = Math.min(PROTECTION_LIMITS.window, maxEprocess - from);
  const prefix = 'Protection not inferred';
  if (len <= 0) return { reason: `${prefix}: ImageFileName +${hex(oName)} leaves no room before the largest EPROCESS` };
  const rows = procs.map((p) => ({ ...p, bytes: vm.read(p.ep + BigInt(from), len) }));
  const anchors = rows.filter((p) => EXPECTED_PROTECTION.has(p.name));
  const readableAnchors = anchors.filter((p) => p.bytes !== undefined);
  if (readableAnchors.length < PROTECTION_LIMITS.minAnchors || !readableAnchors.some((p) => p.name === SYSTEM_PROCESS)) {
    return { reason: `${prefix}: ${readableAnchors.length} readable named system processes (System, smss, csrss, wininit, services), ${PROTECTION_LIMITS.minAnchors} with System needed` };
  }
  const fits: number[] = [];
  for (let i = 0; i < len; i++) {
    const ok = rows.every((p) => {
      if (!p.bytes) return true; // unreadable: confirms nothing, contradicts nothing (the readable anchors are counted above)
      const b = p.bytes[i]!;
      const want = EXPECTED_PROTECTION.get(p.name) ?? (p.name === LSASS ? LSASS_PROTECTION : undefined);
      return want ? want.includes(b) : plausibleProtection(b);
    });
    if (ok) fits.push(from + i);
  }
  if (fits.length !== 1) {
    return { reason: `${prefix}: ${fits.length === 0 ? 'no byte offset' : `${fits.length} byte offsets`} after ImageFileName read 0x72 for System, 0x61 for smss/csrss/wininit/services, 0x41 or 0 for lsass and a valid PS_PROTECTION or 0 for the rest` };
  }
  const unreadable = rows.filter((p) => !p.bytes).length;
  return {
    offset: fits[0],
    reason: `Protection +${hex(fits[0]!)}: the only byte offset after ImageFileName that reads 0x72 for System and 0x61 for the ${readableAnchors.length - 1} WinTcb-Light system processes, 0x41 or 0 for lsass, and 0 or a valid PS_PROTECTION for the other ${rows.length - readableAnchors.length - unreadable} processes${unreadable ? ` (${unreadable} unreadable)` : ''}`,
  };
}
