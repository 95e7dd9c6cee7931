// A SID read from memory, as its text form "S-1-5-21-…". Revision must be 1 and SubAuthorityCount at
// most 15 (SID_MAX_SUB_AUTHORITIES): anything else is damage and gives null, never a partial SID.
import type { VirtualMemory } from '../dump/types.ts';
import type { KernelLayout } from './layout.ts';
import { isKernelPointer } from './process.ts';

export const SID_REVISION = 1;
export const SID_MAX_SUB_AUTHORITIES = 15;
/** IdentifierAuthority is a 6-byte big-endian number. */
export const SID_AUTHORITY_BYTES = 6;
const SUB_AUTHORITY_BYTES = 4;

/** "S-1-…" from a SID's bytes, or null when the revision or count is impossible or bytes are short. */
export function sidFromBytes(b: Buffer, layout: KernelLayout): string | null {
  const f = layout.fields;
  const rev = f['SID.Revision']?.offset;
  const cnt = f['SID.SubAuthorityCount']?.offset;
  const auth = f['SID.IdentifierAuthority']?.offset;
  const sub = f['SID.SubAuthority']?.offset;
  if (rev === undefined || cnt === undefined || auth === undefined || sub === undefined) return null;
  if (b.length < sub || b[rev] !== SID_REVISION) return null;
  const n = b[cnt];
  if (n > SID_MAX_SUB_AUTHORITIES || b.length < sub + n * SUB_AUTHORITY_BYTES) return null;
  const authority = b.readUIntBE(auth, SID_AUTHORITY_BYTES);
  const parts = [`S-${SID_REVISION}`, String(authority)];
  for (let i = 0; i < n; i++) parts.push(String(b.readUInt32LE(sub + i * SUB_AUTHORITY_BYTES)));
  return parts.join('-');
}

/** Reads the SID at `va` (a kernel pointer); null when unreadable or not a SID. */
export function readSid(vm: VirtualMemory, layout: KernelLayout, va: bigint): string | null {
  const sub = layout.fields['SID.SubAuthority']?.offset;
  const cnt = layout.fields['SID.SubAuthorityCount']?.offset;
  if (sub === undefined || cnt === undefined || !isKernelPointer(va & ~7n) || va === 0n) return null;
  const head = vm.read(va, sub);
  if (!head) return null;
  const n = head[cnt];
  if (n > SID_MAX_SUB_AUTHORITIES) return null;
  const all = vm.read(va, sub + n * SUB_AUTHORITY_BYTES);
  return all ? sidFromBytes(all, layout) : null;
}

/** The last sub-authority of a SID text (the RID), or null. */
export function sidRid(sid: string): number | null {
  const parts = sid.split('-');
  if (parts.length < 4) return null;
  const v = Number(parts[parts.length - 1]);
  return Number.isInteger(v) ? v : null;
}
