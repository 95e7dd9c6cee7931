// The object manager's namespace, read far enough to turn NT device paths into drive-letter paths:
// ObpRootDirectoryObject → "GLOBAL??" (an OBJECT_DIRECTORY) → its "X:" OBJECT_SYMBOLIC_LINKs and
// their LinkTarget (\Device\HarddiskVolumeN). Names come from each object's OBJECT_HEADER_NAME_INFO.
// Bounded in entries per directory, cycle-safe per hash chain.
import type { VirtualMemory } from '../dump/types.ts';
import type { KernelLayout } from './layout.ts';
import { isKernelPointer, readUnicodeString } from './process.ts';
import { compareCodeUnits } from './strings.ts';

/** Most entries read from one directory (\GLOBAL?? holds a few hundred on a real system). */
export const MAX_DIRECTORY_ENTRIES = 4096;
/** OBJECT_HEADER.InfoMask bits: creator info and name info precede the header (in that order, nearest first). */
const INFO_MASK_CREATOR = 0x1;
const INFO_MASK_NAME = 0x2;
/** The directory under the root holding the DOS device names. */
export const DOS_DEVICES_DIRECTORY = 'GLOBAL??';
/** A drive-letter link name ("C:"). */
const DRIVE_LETTER = /^[A-Za-z]:$/;

export interface DirectoryEntry {
  /** Body address of the object. */
  readonly object: bigint;
  readonly name: string | null;
}

export interface DirectoryListing {
  readonly entries: readonly DirectoryEntry[];
  readonly complete: boolean;
  readonly reason?: string;
}

/** A drive letter and the device it links to. */
export interface DriveLetter {
  readonly letter: string;
  readonly target: string;
}

export interface DriveLetterMap {
  readonly drives: readonly DriveLetter[];
  /** Why the map is empty or incomplete. */
  readonly reason?: string;
}

/** The object's name from OBJECT_HEADER_NAME_INFO, null when it has none or it is unreadable. */
export function objectName(vm: VirtualMemory, layout: KernelLayout, body: bigint): string | null {
  const bodyP = layout.fields['OBJECT_HEADER.Body'];
  const maskP = layout.fields['OBJECT_HEADER.InfoMask'];
  const nameP = layout.fields['OBJECT_HEADER_NAME_INFO.Name'];
  const nameSize = layout.sizes._OBJECT_HEADER_NAME_INFO;
  if (!bodyP || !maskP || !nameP || !nameSize || !isKernelPointer(body)) return null;
  const header = body - BigInt(bodyP.offset);
  const mask = vm.read(header + BigInt(maskP.offset), 1)?.[0];
  if (mask === undefined || !(mask & INFO_MASK_NAME)) return null;
  const creator = mask & INFO_MASK_CREATOR ? (layout.sizes._OBJECT_HEADER_CREATOR_INFO ?? null) : 0;
  if (creator === null) return null;
  const info = header - BigInt(creator) - BigInt(nameSize);
  return readUnicodeString(vm, layout, info + BigInt(nameP.offset))?.text ?? null;
}

/** Every entry of the OBJECT_DIRECTORY at `dir` (all hash buckets). */
export function listDirectory(vm: VirtualMemory, layout: KernelLayout, dir: bigint, max = MAX_DIRECTORY_ENTRIES): DirectoryListing {
  const bucketsP = layout.fields['OBJECT_DIRECTORY.HashBuckets'];
  const chainP = layout.fields['OBJECT_DIRECTORY_ENTRY.ChainLink'];
  const objP = layout.fields['OBJECT_DIRECTORY_ENTRY.Object'];
  if (!bucketsP || !chainP || !objP) return { entries: [], complete: false, reason: 'the layout lacks the object-directory fields' };
  if (!isKernelPointer(dir)) return { entries: [], complete: false, reason: 'the directory pointer is not a kernel address' };
  const buckets = vm.read(dir + BigInt(bucketsP.offset), bucketsP.size);
  if (!buckets) return { entries: [], complete: false, reason: 'the directory object is not in the dump' };
  const entries: DirectoryEntry[] = [];
  let complete = true;
  let reason: string | undefined;
  for (let i = 0; i + 8 <= buckets.length; i += 8) {
    let e = buckets.readBigUInt64LE(i);
    const seen = new Set<bigint>();
    while (e !== 0n) {
      if (!isKernelPointer(e) || seen.has(e)) {
        complete = false;
        reason = seen.has(e) ? 'a hash chain loops' : 'a hash chain link is not a kernel address';
        break;
      }
      if (entries.length >= max) return { entries, complete: false, reason: `more than ${max} entries` };
      seen.add(e);
      const object = vm.readU64(e + BigInt(objP.offset));
      const next = vm.readU64(e + BigInt(chainP.offset));
      if (object === undefined || next === undefined) {
        complete = false;
        reason = 'a directory entry is not in the dump';
        break;
      }
      entries.push({ object, name: objectName(vm, layout, object) });
      e = next;
    }
  }
  return reason ? { entries, complete, reason } : { entries, complete };
}

/** The drive letters of \GLOBAL?? and their targets, through the kernel's ObpRootDirectoryObject. */
export function readDriveLetters(vm: VirtualMemory, layout: KernelLayout, kernelBase: bigint | null): DriveLetterMap {
  const rva = layout.symbols.ObpRootDirectoryObject;
  const targetP = layout.fields['OBJECT_SYMBOLIC_LINK.LinkTarget'];
  if (rva === undefined || kernelBase === null) return { drives: [], reason: 'ObpRootDirectoryObject is unknown (no symbols for this exact kernel)' };
  if (!targetP) return { drives: [], reason: 'the layout lacks OBJECT_SYMBOLIC_LINK.LinkTarget' };
  const root = vm.readU64(kernelBase + BigInt(rva));
  if (root === undefined) return { drives: [], reason: 'ObpRootDirectoryObject is not in the dump' };
  const top = listDirectory(vm, layout, root);
  const dos = top.entries.find((e) => e.name === DOS_DEVICES_DIRECTORY);
  if (!dos) return { drives: [], reason: `no ${DOS_DEVICES_DIRECTORY} directory under the root${top.reason ? ` (${top.reason})` : ''}` };
  const links = listDirectory(vm, layout, dos.object);
  const drives: DriveLetter[] = [];
  for (const e of links.entries) {
    if (!e.name || !DRIVE_LETTER.test(e.name)) continue;
    const target = readUnicodeString(vm, layout, e.object + BigInt(targetP.offset));
    if (target && target.text.startsWith('\\')) drives.push({ letter: e.name.toUpperCase(), target: target.text });
  }
  drives.sort((a, b) => compareCodeUnits(a.letter, b.letter));
  if (drives.length === 0) return { drives, reason: `no drive-letter links in \\${DOS_DEVICES_DIRECTORY}${links.reason ? ` (${links.reason})` : ''}` };
  return links.reason ? { drives, reason: links.reason } : { drives };
}

/** `\Device\HarddiskVolume3\Windows\x.exe` → `C:\Windows\x.exe` by the longest matching target; null when none matches. */
export function toDosPath(ntPath: string, drives: readonly DriveLetter[]): string | null {
  let best: DriveLetter | undefined;
  const lower = ntPath.toLowerCase();
  for (const d of drives) {
    const t = d.target.toLowerCase();
    if ((lower === t || lower.startsWith(t + '\\')) && (!best || d.target.length > best.target.length)) best = d;
  }
  return best ? best.letter + ntPath.slice(best.target.length) : null;
}
