// _PS_PROTECTION (one byte): Type bits 0-2, Audit bit 3, Signer bits 4-7 (../shared/docs/formats.md §6).
import type { Protection } from './types.ts';

const TYPES = ['None', 'ProtectedLight', 'Protected', 'Max'] as const;

/** _PS_PROTECTED_SIGNER names, by value. */
export const SIGNERS = [
  'PsProtectedSignerNone',
  'PsProtectedSignerAuthenticode',
  'PsProtectedSignerCodeGen',
  'PsProtectedSignerAntimalware',
  'PsProtectedSignerLsa',
  'PsProtectedSignerWindows',
  'PsProtectedSignerWinTcb',
  'PsProtectedSignerWinSystem',
  'PsProtectedSignerApp',
] as const;

export function decodeProtection(raw: number): Protection {
  const byte = raw & 0xff;
  const typeValue = byte & 7;
  const audit = (byte & 8) !== 0;
  const signerValue = byte >> 4;
  const type = TYPES[typeValue] ?? `Unknown(${typeValue})`;
  const signer = SIGNERS[signerValue] ?? `PsProtectedSignerUnknown(${signerValue})`;
  let text: string;
  if (typeValue === 0 && signerValue === 0) text = 'None';
  else if (typeValue === 1) text = `${signer}-Light`;
  else if (typeValue === 2) text = signer;
  else text = `${signer}-${type}`;
  if (audit && text !== 'None') text += '-Audit';
  else if (audit) text = 'None-Audit';
  return { raw: byte, type, signer, audit, text };
}

/** True for a protected or protected-light process (PPL counts). */
export function isProtected(p: Protection): boolean {
  return (p.raw & 7) !== 0;
}
