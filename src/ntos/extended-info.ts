// What NtQueryInformationProcess(ProcessBasicInformation) with PROCESS_EXTENDED_BASIC_INFORMATION
// would have answered for a process, composed from the dump: the nine flags, each with the field it
// came from (or why it is null), the composed 32-bit value, and the rest of the basic information we
// read here (exit status, base priority, debug port).
//
//   bit 0 IsProtectedProcess    EPROCESS.Protection.Type ≠ 0
//   bit 1 IsWow64Process        EPROCESS.WoW64Process ≠ NULL
//   bit 2 IsProcessDeleting     EPROCESS.Flags.ProcessDelete
//   bit 3 IsCrossSessionCreate  EPROCESS.Flags2.CrossSessionCreate (Flags on 7601)
//   bit 4 IsFrozen              KPROCESS.DeepFreeze, or KPROCESS.FreezeCount ≠ 0
//   bit 5 IsBackground          EPROCESS.Flags.Background
//   bit 6 IsStronglyNamed       the primary token has a package identity (TOKEN.Package ≠ NULL, an
//                               S-1-15-2-… package SID); null when the token or its package is unreadable
//   bit 7 IsSecureProcess       the secure marker (KPROCESS.SecureState ≠ 0 on 17763+, SecurePid ≠ 0 on 14393)
//   bit 8 IsSubsystemProcess    EPROCESS.Flags3.SubsystemProcess (Pico/WSL)
//
// A build without the field (e.g. 7601: no Protection, DeepFreeze, Background, SubsystemProcess)
// gives null with the reason "the build has no …"; never another build's offset, never a guess.
//
// Entry points for the analysis: `readExtendedInfo(vm, layout, eprocessVa, { token })` (pass the
// token read for the report so it is read once), `readExitStatus`, `readBasePriority`, `readDebugPort`.
import type { VirtualMemory } from '../dump/types.ts';
import { hex } from '../dump/numbers.ts';
import type { FieldPlace, KernelLayout, LayoutFieldKey } from './layout.ts';
import type { ObjectBytes } from './process.ts';
import { SECURITY_APP_PACKAGE_AUTHORITY, SECURITY_APP_PACKAGE_BASE_RID } from './sid-names.ts';
import { fieldValue, readFields } from './struct-read.ts';
import { readProcessToken, type TokenRead } from './token.ts';

export const EXTENDED_FLAG_NAMES = [
  'isProtectedProcess',
  'isWow64Process',
  'isProcessDeleting',
  'isCrossSessionCreate',
  'isFrozen',
  'isBackground',
  'isStronglyNamed',
  'isSecureProcess',
  'isSubsystemProcess',
] as const;
export type ExtendedFlagName = (typeof EXTENDED_FLAG_NAMES)[number];
/** Bit of each flag in PROCESS_EXTENDED_BASIC_INFORMATION.Flags. */
export const EXTENDED_FLAG_BITS: Readonly<Record<ExtendedFlagName, number>> = Object.fromEntries(EXTENDED_FLAG_NAMES.map((n, i) => [n, i])) as Record<ExtendedFlagName, number>;

const PACKAGE_SID_PREFIX = `S-1-${SECURITY_APP_PACKAGE_AUTHORITY}-${SECURITY_APP_PACKAGE_BASE_RID}-`;

export type ExtendedInfo = {
  /** The composed value; null when any of the nine bits is unknown. */
  readonly flags: number | null;
  /** Bits known to be set. */
  readonly knownFlags: number;
  /** Bits whose value is unknown. */
  readonly unknownMask: number;
  /** Where each flag came from ("EPROCESS.Flags.ProcessDelete" …). */
  readonly sources: Readonly<Partial<Record<ExtendedFlagName, string>>>;
  /** Why a flag is null. */
  readonly reasons: Readonly<Partial<Record<ExtendedFlagName, string>>>;
} & { readonly [K in ExtendedFlagName]: boolean | null };

export interface SecureMarker {
  readonly value: boolean | null;
  readonly source: string;
  readonly reason?: string;
}

export interface ExtendedInfoOptions {
  /** The process's token as read for the report (read here when omitted). */
  readonly token?: TokenRead;
  /** The secure marker as the analysis judged it (read here from SecureState/SecurePid when omitted). */
  readonly secure?: SecureMarker;
}

interface FlagValue {
  readonly value: boolean | null;
  readonly source: string;
  readonly reason?: string;
}

const EPROCESS_KEYS: readonly LayoutFieldKey[] = [
  'EPROCESS.Protection.Type',
  'EPROCESS.WoW64Process',
  'EPROCESS.ProcessDelete',
  'EPROCESS.CrossSessionCreate',
  'EPROCESS.Background',
  'EPROCESS.SubsystemProcess',
  'EPROCESS.ExitStatus',
  'EPROCESS.DebugPort',
];
const KPROCESS_KEYS: readonly LayoutFieldKey[] = ['KPROCESS.DeepFreeze', 'KPROCESS.FreezeCount', 'KPROCESS.BasePriority', 'KPROCESS.SecureState', 'KPROCESS.SecurePid'];

/** "EPROCESS.Flags2.CrossSessionCreate": the flag word a bit lives in, by its offset. */
export function flagSource(layout: KernelLayout, key: LayoutFieldKey): string {
  const [struct, field] = key.split('.');
  const p = layout.fields[key];
  if (p && struct === 'EPROCESS') {
    for (const word of ['Flags', 'Flags2', 'Flags3'] as const) {
      const w = layout.fields[`EPROCESS.${word}`];
      if (w && w.offset === p.offset) return `EPROCESS.${word}.${field}`;
    }
  }
  return key;
}

/** Bytes of the EPROCESS fields and the KPROCESS (EPROCESS.Pcb) fields used here. */
class ProcessBytes {
  readonly e: ObjectBytes;
  readonly k: ObjectBytes;
  readonly pcb: number;
  constructor(
    vm: VirtualMemory,
    readonly layout: KernelLayout,
    va: bigint,
  ) {
    // The KPROCESS is the EPROCESS's first member (Pcb at 0 in every table kernel); an inferred layout may not name it.
    this.pcb = layout.fields['EPROCESS.Pcb']?.offset ?? 0;
    this.e = readFields(vm, layout, va, EPROCESS_KEYS);
    this.k = readFields(vm, layout, va + BigInt(this.pcb), KPROCESS_KEYS);
  }
  value(key: LayoutFieldKey): bigint | undefined {
    return fieldValue(key.startsWith('KPROCESS.') ? this.k : this.e, this.layout, key);
  }
}

function bitFlag(b: ProcessBytes, key: LayoutFieldKey, test: (v: bigint) => boolean = (v) => v !== 0n): FlagValue {
  const source = flagSource(b.layout, key);
  if (!b.layout.fields[key]) return { value: null, source, reason: `the build has no ${key}` };
  const v = b.value(key);
  if (v === undefined) return { value: null, source, reason: `${source} is not in the dump` };
  return { value: test(v), source };
}

function frozenFlag(b: ProcessBytes): FlagValue {
  const hasDeep = !!b.layout.fields['KPROCESS.DeepFreeze'];
  const hasCount = !!b.layout.fields['KPROCESS.FreezeCount'];
  const source = hasDeep && hasCount ? 'KPROCESS.DeepFreeze/FreezeCount' : hasDeep ? 'KPROCESS.DeepFreeze' : 'KPROCESS.FreezeCount';
  if (!hasDeep && !hasCount) return { value: null, source, reason: 'the build has no KPROCESS.DeepFreeze or KPROCESS.FreezeCount' };
  const deep = hasDeep ? b.value('KPROCESS.DeepFreeze') : 0n;
  const count = hasCount ? b.value('KPROCESS.FreezeCount') : 0n;
  if ((deep !== undefined && deep !== 0n) || (count !== undefined && count !== 0n)) return { value: true, source };
  if (deep === undefined || count === undefined) return { value: null, source, reason: `${source} is not in the dump` };
  return { value: false, source };
}

function stronglyNamedFlag(token: TokenRead): FlagValue {
  const source = 'TOKEN.Package';
  if (!token.token) return { value: null, source, reason: `the primary token is unreadable (${token.issues[0]?.message ?? 'no token'})` };
  if (token.token.unreadable.includes('package')) return { value: null, source, reason: 'TOKEN.Package is unreadable or the build has none' };
  if (!token.token.package) return { value: false, source };
  if (!token.token.package.sid.startsWith(PACKAGE_SID_PREFIX)) return { value: null, source, reason: `TOKEN.Package is ${token.token.package.sid}, not a package SID (S-1-15-2-…)` };
  return { value: true, source };
}

/** One label for the marker on every build (17763+ read SecureState, 14393 SecurePid), as the ground truth names it. */
export const SECURE_MARKER_SOURCE = 'KPROCESS.SecureState/SecurePid';

function secureFromLayout(b: ProcessBytes): FlagValue {
  const key = b.layout.fields['KPROCESS.SecureState'] ? 'KPROCESS.SecureState' : b.layout.fields['KPROCESS.SecurePid'] ? 'KPROCESS.SecurePid' : undefined;
  if (!key) return { value: null, source: SECURE_MARKER_SOURCE, reason: 'the build has no KPROCESS.SecureState or SecurePid' };
  return { ...bitFlag(b, key), source: SECURE_MARKER_SOURCE };
}

/** Composes the nine flags from per-flag values. */
export function composeExtendedInfo(values: Readonly<Record<ExtendedFlagName, FlagValue>>): ExtendedInfo {
  let known = 0;
  let unknown = 0;
  const sources: Partial<Record<ExtendedFlagName, string>> = {};
  const reasons: Partial<Record<ExtendedFlagName, string>> = {};
  const flags = {} as Record<ExtendedFlagName, boolean | null>;
  for (const name of EXTENDED_FLAG_NAMES) {
    const v = values[name];
    const bit = 1 << EXTENDED_FLAG_BITS[name];
    flags[name] = v.value;
    sources[name] = v.source;
    if (v.value === null) {
      unknown |= bit;
      reasons[name] = v.reason ?? 'unknown';
    } else if (v.value) known |= bit;
  }
  return { flags: unknown === 0 ? known : null, knownFlags: known, unknownMask: unknown, ...flags, sources, reasons };
}

/** The nine flags of the process whose EPROCESS is at `eprocessVa`. */
export function readExtendedInfo(vm: VirtualMemory, layout: KernelLayout, eprocessVa: bigint, opts: ExtendedInfoOptions = {}): ExtendedInfo {
  const b = new ProcessBytes(vm, layout, eprocessVa);
  const token = opts.token ?? readProcessToken(vm, layout, eprocessVa);
  return composeExtendedInfo({
    isProtectedProcess: bitFlag(b, 'EPROCESS.Protection.Type'),
    isWow64Process: bitFlag(b, 'EPROCESS.WoW64Process'),
    isProcessDeleting: bitFlag(b, 'EPROCESS.ProcessDelete'),
    isCrossSessionCreate: bitFlag(b, 'EPROCESS.CrossSessionCreate'),
    isFrozen: frozenFlag(b),
    isBackground: bitFlag(b, 'EPROCESS.Background'),
    isStronglyNamed: stronglyNamedFlag(token),
    isSecureProcess: opts.secure ?? secureFromLayout(b),
    isSubsystemProcess: bitFlag(b, 'EPROCESS.SubsystemProcess'),
  });
}

/** A value read from the process, or why not. */
export interface ProcessValue<T> {
  readonly value: T | null;
  /** True when the layout has the field but its bytes are not in the dump. */
  readonly unreadable: boolean;
  readonly source: string;
}

function readOne(vm: VirtualMemory, layout: KernelLayout, va: bigint, key: LayoutFieldKey): { v: bigint | undefined; p: FieldPlace | undefined } {
  const p = layout.fields[key];
  if (!p) return { v: undefined, p };
  const base = key.startsWith('KPROCESS.') ? (layout.fields['EPROCESS.Pcb']?.offset ?? 0) : 0;
  return { v: fieldValue(readFields(vm, layout, va + BigInt(base), [key]), layout, key), p };
}

/** EPROCESS.ExitStatus (NTSTATUS; STATUS_PENDING 0x103 while the process runs). */
export function readExitStatus(vm: VirtualMemory, layout: KernelLayout, eprocessVa: bigint): ProcessValue<number> {
  const { v, p } = readOne(vm, layout, eprocessVa, 'EPROCESS.ExitStatus');
  return { value: v === undefined ? null : Number(v), unreadable: !!p && v === undefined, source: 'EPROCESS.ExitStatus' };
}

/** KPROCESS.BasePriority (a signed char). */
export function readBasePriority(vm: VirtualMemory, layout: KernelLayout, eprocessVa: bigint): ProcessValue<number> {
  const { v, p } = readOne(vm, layout, eprocessVa, 'KPROCESS.BasePriority');
  const n = v === undefined ? null : Number(BigInt.asIntN(8, v));
  return { value: n, unreadable: !!p && v === undefined, source: 'KPROCESS.BasePriority' };
}

/** EPROCESS.DebugPort: "0x…" when a debug object is attached, null when not set (0) or unreadable (then `unreadable`). */
export function readDebugPort(vm: VirtualMemory, layout: KernelLayout, eprocessVa: bigint): ProcessValue<string> {
  const { v, p } = readOne(vm, layout, eprocessVa, 'EPROCESS.DebugPort');
  return { value: v === undefined || v === 0n ? null : hex(v), unreadable: !!p && v === undefined, source: 'EPROCESS.DebugPort' };
}
