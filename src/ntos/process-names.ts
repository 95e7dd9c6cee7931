// The process names the analysis relies on, in one place: the system processes whose place in the
// process list is fixed by Windows, the secure kernel's host process, and the known trustlets.
// ntos uses them to infer offsets (the list's first entries), vsm to judge secure processes.
// ImageFileName holds at most 14 characters (15 bytes with the NUL): every name here fits.

/** The first entry of PsActiveProcessHead, PID 4. */
export const SYSTEM_PROCESS = 'System';
/** Bytes of EPROCESS.ImageFileName (UCHAR[15]): the name, NUL-padded. */
export const IMAGE_FILE_NAME_BYTES = 15;
/** ImageFileName as it is stored for `name` (latin1, NUL-padded to 15 bytes). */
export function imageFileNameBytes(name: string): Buffer {
  const b = Buffer.alloc(IMAGE_FILE_NAME_BYTES);
  b.write(name.slice(0, IMAGE_FILE_NAME_BYTES - 1), 'latin1');
  return b;
}
/** The secure kernel's host process (IUM), present when VSM runs. */
export const SECURE_SYSTEM = 'Secure System';
/** Names the second entry of the active process list has on every Windows 10/11 we know (MemProcFS uses the same test). */
export const SECOND_LIST_ENTRIES: ReadonlySet<string> = new Set(['Registry', 'smss.exe', SECURE_SYSTEM, 'MemCompression']);

/** Known trustlet image names (lower case) → display name and trustlet ID where verified, else null. */
export const TRUSTLETS: ReadonlyMap<string, { readonly name: string; readonly id: number | null }> = new Map([
  ['lsaiso.exe', { name: 'LsaIso.exe', id: 1 }],
  ['bioiso.exe', { name: 'BioIso.exe', id: null }],
  ['vmsp.exe', { name: 'vmsp.exe', id: null }],
  ['fsiso.exe', { name: 'FsIso.exe', id: null }],
]);

/** A known trustlet by image name (case-insensitive, as Windows compares image names). */
export function knownTrustlet(name: string): { readonly name: string; readonly id: number | null } | undefined {
  return TRUSTLETS.get(name.toLowerCase());
}
