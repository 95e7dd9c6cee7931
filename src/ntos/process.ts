// Reading one EPROCESS through the kernel's VirtualMemory (or from physical bytes found by a scan)
// with the offsets of a KernelLayout. Every value is checked before it is used as a pointer, a
// length or a time; what cannot be read is listed in `unreadable`, never invented.
import type { PhysicalMemory, VirtualMemory } from '../dump/types.ts';
import { PAGE_SIZE } from '../dump/types.ts';
import { CANONICAL_KERNEL_MIN, CANONICAL_USER_END, filetimeSane, isCanonical, pageTableRoot, U64_MASK } from '../dump/numbers.ts';
import type { FieldPlace, KernelLayout, LayoutFieldKey } from './layout.ts';
import { decodeBytes, decodeUtf16, printableRatio, type DumpString } from './strings.ts';

/** Lowest canonical kernel-half address. */
export const KERNEL_MIN = CANONICAL_KERNEL_MIN;
/** Highest user-mode address (x64, 128 TiB user space). */
export const USER_MAX = CANONICAL_USER_END - 1n;

export function isKernelPointer(va: bigint): boolean {
  return va >= KERNEL_MIN && va <= U64_MASK && (va & 7n) === 0n;
}
export function isUserPointer(va: bigint): boolean {
  return va > 0n && va <= USER_MAX;
}
// The shared helpers (one definition, src/dump/numbers.ts), re-exported for the modules that took them from here.
export { filetimeSane, filetimeToIso, hex, isCanonical } from '../dump/numbers.ts';

/** Bytes of one object with the ranges that could actually be read. */
export class ObjectBytes {
  constructor(
    readonly data: Buffer,
    /** Byte ranges [start, end) of `data` that hold evidence (others are zero-filled gaps). */
    readonly valid: readonly (readonly [number, number])[],
  ) {}

  /** Reads `length` bytes at `va` page by page, keeping whatever pages translate. */
  static fromVirtual(vm: VirtualMemory, va: bigint, length: number): ObjectBytes {
    const data = Buffer.alloc(length);
    const valid: [number, number][] = [];
    let done = 0;
    while (done < length) {
      const cur = va + BigInt(done);
      const n = Math.min(PAGE_SIZE - Number(cur & 0xfffn), length - done);
      // One page at a time, straight into `data`: a page that cannot be read leaves its zeros.
      if (vm.readInto(cur, n, data, done)) {
        const last = valid[valid.length - 1];
        if (last && last[1] === done) last[1] = done + n;
        else valid.push([done, done + n]);
      }
      done += n;
    }
    return new ObjectBytes(data, valid);
  }

  /** Reads `length` physically contiguous bytes at `pa` (as a scan sees them). */
  static fromPhysical(pm: PhysicalMemory, pa: number, length: number): ObjectBytes {
    const r = pm.read(pa, length);
    const absent = new Set(r.absentPages);
    const valid: [number, number][] = [];
    let done = 0;
    while (done < length) {
      const cur = pa + done;
      const n = Math.min(PAGE_SIZE - (cur % PAGE_SIZE), length - done);
      if (!absent.has(Math.floor(cur / PAGE_SIZE))) {
        const last = valid[valid.length - 1];
        if (last && last[1] === done) last[1] = done + n;
        else valid.push([done, done + n]);
      }
      done += n;
    }
    return new ObjectBytes(r.data, valid);
  }

  /** The same bytes with only the first `length` counted as evidence. */
  clip(length: number): ObjectBytes {
    const valid = this.valid.filter(([s]) => s < length).map(([s, e]) => [s, Math.min(e, length)] as const);
    return new ObjectBytes(this.data, valid);
  }

  get complete(): boolean {
    return this.valid.length === 1 && this.valid[0][0] === 0 && this.valid[0][1] === this.data.length;
  }

  has(off: number, len: number): boolean {
    if (off < 0 || off + len > this.data.length) return false;
    return this.valid.some(([s, e]) => off >= s && off + len <= e);
  }

  /** An unsigned field (1, 2, 4 or 8 bytes, or a bitfield), or undefined when unreadable. */
  place(p: FieldPlace | undefined): bigint | undefined {
    if (!p) return undefined;
    const size = p.size >= 8 ? 8 : p.size >= 4 ? 4 : p.size >= 2 ? 2 : 1;
    if (!this.has(p.offset, size)) return undefined;
    let v: bigint;
    if (size === 8) v = this.data.readBigUInt64LE(p.offset);
    else if (size === 4) v = BigInt(this.data.readUInt32LE(p.offset));
    else if (size === 2) v = BigInt(this.data.readUInt16LE(p.offset));
    else v = BigInt(this.data[p.offset]);
    if (p.bitPosition !== undefined && p.bitLength !== undefined) v = (v >> BigInt(p.bitPosition)) & ((1n << BigInt(p.bitLength)) - 1n);
    return v;
  }

  bytes(off: number, len: number): Buffer | undefined {
    return this.has(off, len) ? this.data.subarray(off, off + len) : undefined;
  }
}

/** Everything one EPROCESS says, raw but checked. */
export interface EprocessInfo {
  /** Virtual address of the EPROCESS body (null when only its physical address is known). */
  readonly va: bigint | null;
  /** Physical address of the body's first byte, when known. */
  readonly pa: number | null;
  readonly pid: bigint | undefined;
  readonly ppid: bigint | undefined;
  readonly imageFileName: DumpString | null;
  readonly imageFileNameRaw: Buffer | undefined;
  readonly imagePath: DumpString | null;
  readonly createTime: bigint | undefined;
  readonly exitTime: bigint | undefined;
  readonly sessionId: number | null;
  readonly peb: bigint | undefined;
  readonly dtb: bigint | undefined;
  readonly wow64: boolean | undefined;
  readonly protection: number | undefined;
  readonly flags3: number | undefined;
  readonly exiting: boolean | undefined;
  readonly deleting: boolean | undefined;
  readonly secureState: bigint | undefined;
  readonly securePid: bigint | undefined;
  readonly trustletIdentity: bigint | undefined;
  readonly flink: bigint | undefined;
  readonly blink: bigint | undefined;
  readonly vadRoot: bigint | undefined;
  /** Field names that could not be read from the evidence. */
  readonly unreadable: readonly string[];
  /** Field names the layout does not have (an inferred layout): unknown, not evidence of garbage. */
  readonly notInLayout?: readonly string[];
}

export interface ReadProcessOptions {
  /** Kernel address space: used for pointers out of the object (image path, session). */
  readonly kernel?: VirtualMemory;
  /** Builds the process's own address space from its DTB (for the PEB path); omitted → no PEB reads. */
  readonly vmForDtb?: (dtb: number) => VirtualMemory;
}

/** Longest UNICODE_STRING we read (bytes): Length is a USHORT anyway. */
const MAX_USTRING = 0xfffe;
/** Bytes of a UNICODE_STRING kept: 65536 processes with 64 KiB names each would fill gigabytes of heap. */
const KEEP_USTRING = 0x800;

/** Reads a UNICODE_STRING at `va`; null when unreadable or implausible. */
export function readUnicodeString(vm: VirtualMemory, layout: KernelLayout, va: bigint, userOnly = false): DumpString | null {
  const lenP = layout.fields['UNICODE_STRING.Length'] ?? { offset: 0, size: 2 };
  const bufP = layout.fields['UNICODE_STRING.Buffer'] ?? { offset: 8, size: 8 };
  const head = vm.read(va, bufP.offset + 8);
  if (!head) return null;
  const len = head.readUInt16LE(lenP.offset);
  const buf = head.readBigUInt64LE(bufP.offset);
  if (len === 0 || len > MAX_USTRING) return null;
  if (!isCanonical(buf) || buf === 0n) return null;
  if (userOnly && !isUserPointer(buf)) return null;
  if (len <= KEEP_USTRING) {
    const data = vm.read(buf, len);
    return data ? decodeUtf16(data) : null;
  }
  // Longer: its head and tail (a path ends in the name that matters) around a marker of what is left out.
  const tailOff = (len - KEEP_USTRING / 2) & ~1;
  const headB = vm.read(buf, KEEP_USTRING / 2);
  const tailB = vm.read(buf + BigInt(tailOff), len - tailOff);
  if (!headB || !tailB) return null;
  const h = decodeUtf16(headB);
  const tl = decodeUtf16(tailB);
  return { text: `${h.text}…[${tailOff - KEEP_USTRING / 2} bytes not shown]…${tl.text}`, rawHex: Buffer.concat([headB, tailB]).toString('hex') };
}

function f(layout: KernelLayout, key: LayoutFieldKey): FieldPlace | undefined {
  return layout.fields[key];
}

/** Bytes of an EPROCESS to read: the struct size, or up to the furthest field we use. */
export function eprocessSize(layout: KernelLayout): number {
  if (layout.sizes._EPROCESS) return layout.sizes._EPROCESS;
  let end = 0;
  for (const p of Object.values(layout.fields)) if (p && p.offset + p.size > end) end = p.offset + p.size;
  return Math.min(end, 0x2000);
}

/** Decodes an EPROCESS from its bytes. `va`/`pa` locate it; pointers out of it are followed through `opts`. */
export function decodeEprocess(obj: ObjectBytes, layout: KernelLayout, at: { va: bigint | null; pa: number | null }, opts: ReadProcessOptions = {}): EprocessInfo {
  const unreadable: string[] = [];
  const notInLayout: string[] = [];
  const get = (key: LayoutFieldKey, label: string, required = true): bigint | undefined => {
    const p = f(layout, key);
    if (!p && required) notInLayout.push(label);
    const v = obj.place(p);
    if (v === undefined && (p || required)) unreadable.push(label);
    return v;
  };
  const pid = get('EPROCESS.UniqueProcessId', 'pid');
  const ppid = get('EPROCESS.InheritedFromUniqueProcessId', 'ppid');
  const nameP = f(layout, 'EPROCESS.ImageFileName');
  const nameRaw = nameP ? obj.bytes(nameP.offset, nameP.size) : undefined;
  if (!nameRaw) unreadable.push('name');
  const createTime = get('EPROCESS.CreateTime', 'createTime');
  const exitTime = get('EPROCESS.ExitTime', 'exitTime');
  const peb = get('EPROCESS.Peb', 'peb');
  const dtb = get('KPROCESS.DirectoryTableBase', 'dtb');
  const wowPtr = get('EPROCESS.WoW64Process', 'wow64');
  const protection = get('EPROCESS.Protection', 'protection');
  const flags3 = get('EPROCESS.Flags3', 'flags3', false);
  const exiting = get('EPROCESS.ProcessExiting', 'processExiting', false);
  const deleting = get('EPROCESS.ProcessDelete', 'processDelete', false);
  const secureState = layout.fields['KPROCESS.SecureState'] ? get('KPROCESS.SecureState', 'secureState') : undefined;
  const securePid = !layout.fields['KPROCESS.SecureState'] && layout.fields['KPROCESS.SecurePid'] ? get('KPROCESS.SecurePid', 'securePid') : undefined;
  const trustletIdentity = layout.fields['EPROCESS.TrustletIdentity'] ? get('EPROCESS.TrustletIdentity', 'trustletIdentity') : undefined;
  const links = f(layout, 'EPROCESS.ActiveProcessLinks');
  const flink = links ? obj.place({ offset: links.offset, size: 8 }) : undefined;
  const blink = links ? obj.place({ offset: links.offset + 8, size: 8 }) : undefined;
  if (flink === undefined || blink === undefined) unreadable.push('activeProcessLinks');
  const vadRoot = get('EPROCESS.VadRoot', 'vadRoot', false);

  // Session id through the MM_SESSION_SPACE pointer (null for session-less processes like System).
  let sessionId: number | null = null;
  const session = get('EPROCESS.Session', 'session', false);
  if (session !== undefined && session !== 0n) {
    const idP = f(layout, 'MM_SESSION_SPACE.SessionId');
    const v = idP && opts.kernel && isKernelPointer(session) ? opts.kernel.readU32(session + BigInt(idP.offset)) : undefined;
    if (v === undefined || v > 0xffff) unreadable.push('sessionId');
    else sessionId = v;
  }

  // Full image path: SeAuditProcessCreationInfo.ImageFileName → OBJECT_NAME_INFORMATION.Name, else PEB.
  let imagePath: DumpString | null = null;
  const audit = f(layout, 'EPROCESS.SeAuditProcessCreationInfo');
  const ptr = audit ? obj.place({ offset: audit.offset + (f(layout, 'SE_AUDIT_PROCESS_CREATION_INFO.ImageFileName')?.offset ?? 0), size: 8 }) : undefined;
  if (opts.kernel && ptr !== undefined && isKernelPointer(ptr)) {
    imagePath = readUnicodeString(opts.kernel, layout, ptr + BigInt(f(layout, 'OBJECT_NAME_INFORMATION.Name')?.offset ?? 0));
  }
  if (!imagePath && opts.vmForDtb && peb !== undefined && isUserPointer(peb) && dtb !== undefined && dtb !== 0n) {
    imagePath = pebImagePath(opts.vmForDtb(pageTableRoot(dtb)), layout, peb);
  }
  if (!imagePath && (peb !== undefined && peb !== 0n || (ptr !== undefined && ptr !== 0n))) unreadable.push('imagePath');

  return {
    va: at.va,
    pa: at.pa,
    pid,
    ppid,
    imageFileName: nameRaw ? decodeBytes(nameRaw) : null,
    imageFileNameRaw: nameRaw,
    imagePath,
    createTime,
    exitTime,
    sessionId,
    peb,
    dtb,
    wow64: wowPtr === undefined ? undefined : wowPtr !== 0n,
    protection: protection === undefined ? undefined : Number(protection),
    flags3: flags3 === undefined ? undefined : Number(flags3),
    exiting: exiting === undefined ? undefined : exiting !== 0n,
    deleting: deleting === undefined ? undefined : deleting !== 0n,
    secureState,
    securePid,
    trustletIdentity,
    flink,
    blink,
    vadRoot,
    unreadable,
    notInLayout,
  };
}

function pebImagePath(vm: VirtualMemory, layout: KernelLayout, peb: bigint): DumpString | null {
  const ppP = f(layout, 'PEB.ProcessParameters');
  const ipP = f(layout, 'RTL_USER_PROCESS_PARAMETERS.ImagePathName');
  if (!ppP || !ipP) return null;
  const params = vm.readU64(peb + BigInt(ppP.offset));
  if (params === undefined || !isUserPointer(params)) return null;
  return readUnicodeString(vm, layout, params + BigInt(ipP.offset), true);
}

/** Reads the EPROCESS whose body is at `va` in the kernel address space. */
export function readEprocess(vm: VirtualMemory, layout: KernelLayout, va: bigint, opts: Omit<ReadProcessOptions, 'kernel'> = {}): EprocessInfo {
  const obj = ObjectBytes.fromVirtual(vm, va, eprocessSize(layout));
  const t = vm.translate(va);
  return decodeEprocess(obj, layout, { va, pa: t.ok ? t.pa : null }, { ...opts, kernel: vm });
}

/** Why an EPROCESS is not plausible (empty when it is). Used by the scan and to stop a list walk on garbage. */
export function implausibilities(
  p: EprocessInfo,
  opts: {
    allowNullLinks?: boolean;
    /** The list walk checks links itself. */
    ignoreLinks?: boolean;
    /** Only impossible values count; unreadable fields do not (a first look at part of an object). */
    lenient?: boolean;
    /** Accept one non-canonical link if the other is a kernel pointer (the scan of a damaged list). */
    oneBadLink?: boolean;
    /** Do not judge the name (the list walk: a linked process is a process whatever it is called). */
    anyName?: boolean;
  } = {},
): string[] {
  const bad: string[] = [];
  const missing = (what: string) => {
    if (!opts.lenient) bad.push(what);
  };
  if (p.pid === undefined) missing('pid unreadable');
  else if (p.pid % 4n !== 0n || p.pid >= 1n << 32n) bad.push(`pid ${p.pid} impossible`);
  if (p.ppid !== undefined && (p.ppid % 4n !== 0n || p.ppid >= 1n << 32n)) bad.push(`ppid ${p.ppid} impossible`);
  if (p.flink === undefined || p.blink === undefined) missing('ActiveProcessLinks unreadable');
  else if (!opts.ignoreLinks) {
    const nullLinks = p.flink === 0n && p.blink === 0n;
    // One damaged link (a corrupted Flink) does not unmake a process; two garbage links do.
    const linkOk = opts.oneBadLink ? isKernelPointer(p.flink) || isKernelPointer(p.blink) : isKernelPointer(p.flink) && isKernelPointer(p.blink);
    if (!(nullLinks && opts.allowNullLinks) && !linkOk) bad.push('ActiveProcessLinks not canonical kernel pointers');
  }
  if (!p.imageFileNameRaw) missing('ImageFileName unreadable');
  else {
    const r = printableRatio(p.imageFileNameRaw);
    // Names are attacker-chosen (control characters included), so only mostly-unprintable bytes count against it.
    if (!opts.anyName && (r.length === 0 || r.printable * 2 < r.length)) bad.push('ImageFileName not printable');
  }
  if (p.dtb === undefined) missing('DirectoryTableBase unreadable');
  else if (p.dtb === 0n || (p.dtb & 0xfffn) !== 0n || p.dtb >= 1n << 52n) bad.push('DirectoryTableBase not a page-aligned physical address');
  if (p.createTime === undefined) {
    if (!p.notInLayout?.includes('createTime')) missing('CreateTime unreadable');
  }
  else if (!filetimeSane(p.createTime)) bad.push('CreateTime impossible');
  if (p.exitTime !== undefined && p.exitTime !== 0n && (!filetimeSane(p.exitTime) || (p.createTime !== undefined && p.exitTime < p.createTime))) bad.push('ExitTime impossible');
  return bad;
}

/** A process has exited when ExitTime is set or it is being deleted. */
export function hasExited(p: EprocessInfo): boolean {
  return (p.exitTime !== undefined && p.exitTime !== 0n) || p.deleting === true;
}
