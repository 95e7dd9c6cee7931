// A process's primary token: EPROCESS.Token (an EX_FAST_REF: the low RefCnt bits are not part of the
// pointer) → TOKEN: user SID, groups (UserAndGroups[1..]), integrity level
// (UserAndGroups[IntegrityLevelIndex], S-1-16-RID), privileges (SEP_TOKEN_PRIVILEGES bit n = LUID n:
// present / enabled / enabled by default) and the package SID of packaged apps and app containers.
// Counts are bounded (UserAndGroupCount by `maxGroups`, privileges by the 64-bit masks).
//
// Entry point for the analysis: `readProcessToken(vm, layout, eprocessVa, { maxGroups })`.
import type { VirtualMemory } from '../dump/types.ts';
import { hex } from '../dump/numbers.ts';
import type { KernelLayout, LayoutFieldKey } from './layout.ts';
import { PRIVILEGE_MASK_BITS, privilegeName } from './privileges.ts';
import { isKernelPointer } from './process.ts';
import { readSid, sidRid } from './sid.ts';
import { integrityLevelName, sidName } from './sid-names.ts';
import { fieldValue, missingFields, readFields } from './struct-read.ts';
import { IssueLog, type WalkIssue } from './walk-result.ts';

/** Most SID_AND_ATTRIBUTES read (user + groups); Windows caps a token near 1024 groups. */
export const DEFAULT_GROUP_CAP = 1024;

export interface TokenGroup {
  readonly sid: string;
  readonly attributes: number;
}
export interface TokenPrivilege {
  readonly name: string;
  readonly luid: number;
  readonly present: boolean;
  readonly enabled: boolean;
  readonly enabledByDefault: boolean;
}
export interface TokenInfo {
  /** TOKEN address ("0x…"). */
  readonly token: string;
  readonly user: { readonly sid: string; readonly name: string | null } | null;
  readonly integrity: { readonly sid: string; readonly level: string } | null;
  readonly groups: readonly TokenGroup[];
  /** Every privilege with any of its three bits set, by LUID. */
  readonly privileges: readonly TokenPrivilege[];
  /** Null when the token has no package (TOKEN.Package NULL) — or when unreadable (then `unreadable` lists "package"). */
  readonly package: { readonly sid: string } | null;
  readonly sessionId: number | null;
  readonly unreadable: readonly string[];
}

export interface TokenRead {
  readonly token: TokenInfo | null;
  readonly partial: boolean;
  readonly capHit: boolean;
  readonly cap: number;
  readonly issues: readonly WalkIssue[];
}

export interface TokenOptions {
  readonly maxGroups?: number;
}

const TOKEN_FIELDS: readonly LayoutFieldKey[] = [
  'TOKEN.Privileges.Present',
  'TOKEN.Privileges.Enabled',
  'TOKEN.Privileges.EnabledByDefault',
  'TOKEN.UserAndGroupCount',
  'TOKEN.UserAndGroups',
  'TOKEN.IntegrityLevelIndex',
  'TOKEN.Package',
  'TOKEN.SessionId',
];
/** x64 EX_FAST_REF keeps a 4-bit reference count in the pointer's low bits (EX_FAST_REF.RefCnt where the layout has it). */
export const EX_FAST_REF_REFCNT_BITS = 4;

/** The TOKEN pointer in an EX_FAST_REF value (RefCnt bits cleared). */
export function fastRefObject(layout: KernelLayout, value: bigint): bigint {
  const bits = layout.fields['EX_FAST_REF.RefCnt']?.bitLength ?? EX_FAST_REF_REFCNT_BITS;
  return value & ~((1n << BigInt(bits)) - 1n);
}

function readGroups(vm: VirtualMemory, layout: KernelLayout, array: bigint, count: number, log: IssueLog): (TokenGroup | null)[] {
  const size = layout.sizes._SID_AND_ATTRIBUTES!;
  const sidOff = layout.fields['SID_AND_ATTRIBUTES.Sid']!.offset;
  const attrOff = layout.fields['SID_AND_ATTRIBUTES.Attributes']!.offset;
  const out: (TokenGroup | null)[] = [];
  const bytes = vm.read(array, count * size);
  for (let i = 0; i < count; i++) {
    const b = bytes ? bytes.subarray(i * size, (i + 1) * size) : vm.read(array + BigInt(i * size), size);
    if (!b) {
      out.push(null);
      log.add('unreadable', `UserAndGroups[${i}] at ${hex(array + BigInt(i * size))} is not in the dump`, array + BigInt(i * size));
      continue;
    }
    const sidPtr = b.readBigUInt64LE(sidOff);
    const sid = readSid(vm, layout, sidPtr);
    if (!sid) {
      out.push(null);
      log.add('unreadable', `the SID of UserAndGroups[${i}] at ${hex(sidPtr)} is unreadable or not a SID`, sidPtr);
      continue;
    }
    out.push({ sid, attributes: b.readUInt32LE(attrOff) });
  }
  return out;
}

function privileges(present: bigint, enabled: bigint, byDefault: bigint, log: IssueLog): TokenPrivilege[] {
  const out: TokenPrivilege[] = [];
  for (let bit = 0; bit < PRIVILEGE_MASK_BITS; bit++) {
    const m = 1n << BigInt(bit);
    const p = (present & m) !== 0n;
    const e = (enabled & m) !== 0n;
    const d = (byDefault & m) !== 0n;
    if (!p && !e && !d) continue;
    const name = privilegeName(bit);
    if (!name) {
      log.add('implausible', `privilege bit ${bit} is set but Windows defines no privilege with LUID ${bit}`);
      continue;
    }
    out.push({ name, luid: bit, present: p, enabled: e, enabledByDefault: d });
  }
  return out;
}

/** Reads the TOKEN at `tokenVa`. */
export function readToken(vm: VirtualMemory, layout: KernelLayout, tokenVa: bigint, opts: TokenOptions = {}): TokenRead {
  const cap = opts.maxGroups ?? DEFAULT_GROUP_CAP;
  const log = new IssueLog();
  const done = (token: TokenInfo | null, capHit = false): TokenRead => ({ token, partial: token === null || !log.empty || capHit || token.unreadable.length > 0, capHit, cap, issues: log.list() });
  const need: string[] = missingFields(layout, ['TOKEN.UserAndGroupCount', 'TOKEN.UserAndGroups', 'TOKEN.Privileges.Present', 'SID_AND_ATTRIBUTES.Sid', 'SID_AND_ATTRIBUTES.Attributes']);
  if (layout.sizes._SID_AND_ATTRIBUTES === undefined) need.push('sizeof _SID_AND_ATTRIBUTES');
  if (need.length > 0) {
    log.add('layout-missing', `the layout lacks ${need.join(', ')}: the token cannot be read`);
    return done(null);
  }
  if (tokenVa === 0n) {
    log.add('implausible', 'EPROCESS.Token is NULL (every process Windows runs has a primary token)');
    return done(null);
  }
  if (!isKernelPointer(tokenVa)) {
    log.add('non-canonical', `the token pointer ${hex(tokenVa)} is not a kernel address`, tokenVa);
    return done(null);
  }
  const obj = readFields(vm, layout, tokenVa, TOKEN_FIELDS);
  const unreadable: string[] = [];
  const get = (key: LayoutFieldKey, label: string): bigint | undefined => {
    const v = fieldValue(obj, layout, key);
    if (v === undefined) unreadable.push(label);
    return v;
  };
  const countRaw = get('TOKEN.UserAndGroupCount', 'userAndGroupCount');
  const array = get('TOKEN.UserAndGroups', 'userAndGroups');
  if (countRaw === undefined && array === undefined && obj.valid.length === 0) {
    log.add('unreadable', `the TOKEN at ${hex(tokenVa)} is not in the dump`, tokenVa);
    return done(null);
  }
  let capHit = false;
  let groups: (TokenGroup | null)[] = [];
  if (countRaw !== undefined && array !== undefined) {
    let count = Number(countRaw);
    if (count > cap) {
      capHit = true;
      log.add('cap', `UserAndGroupCount is ${count}: read the first ${cap}`, tokenVa);
      count = cap;
    }
    if (count > 0 && !isKernelPointer(array)) log.add('non-canonical', `UserAndGroups ${hex(array)} is not a kernel address`, array);
    else groups = readGroups(vm, layout, array, count, log);
  }
  const user = groups[0] ?? null;
  if (!user) unreadable.push('user');
  const ilIndex = get('TOKEN.IntegrityLevelIndex', 'integrityLevelIndex');
  let integrity: TokenInfo['integrity'] = null;
  if (ilIndex !== undefined && Number(ilIndex) < groups.length) {
    const g = groups[Number(ilIndex)];
    const rid = g ? sidRid(g.sid) : null;
    if (g && g.sid.startsWith('S-1-16-') && rid !== null) integrity = { sid: g.sid, level: integrityLevelName(rid) };
  }
  if (!integrity) unreadable.push('integrity');
  const present = get('TOKEN.Privileges.Present', 'privileges');
  const enabled = get('TOKEN.Privileges.Enabled', 'privileges.enabled');
  const byDefault = get('TOKEN.Privileges.EnabledByDefault', 'privileges.enabledByDefault');
  const privs = present === undefined ? [] : privileges(present, enabled ?? 0n, byDefault ?? 0n, log);
  let pkg: TokenInfo['package'] = null;
  if (layout.fields['TOKEN.Package']) {
    const p = get('TOKEN.Package', 'package');
    if (p !== undefined && p !== 0n) {
      const sid = readSid(vm, layout, p);
      if (sid) pkg = { sid };
      else unreadable.push('package');
    }
  } else unreadable.push('package');
  const session = get('TOKEN.SessionId', 'sessionId');
  const token: TokenInfo = {
    token: hex(tokenVa),
    user: user ? { sid: user.sid, name: sidName(user.sid) } : null,
    integrity,
    groups: groups.slice(1).filter((g): g is TokenGroup => g !== null),
    privileges: privs,
    package: pkg,
    sessionId: session === undefined ? null : Number(session),
    unreadable: [...new Set(unreadable)],
  };
  return done(token, capHit);
}

/** The token of the process whose EPROCESS is at `eprocessVa` (EPROCESS.Token, an EX_FAST_REF). */
export function readProcessToken(vm: VirtualMemory, layout: KernelLayout, eprocessVa: bigint, opts: TokenOptions = {}): TokenRead {
  const f = layout.fields['EPROCESS.Token'];
  const cap = opts.maxGroups ?? DEFAULT_GROUP_CAP;
  if (!f) return { token: null, partial: true, capHit: false, cap, issues: [{ kind: 'layout-missing', message: 'the layout lacks EPROCESS.Token', address: null }] };
  const ref = vm.readU64(eprocessVa + BigInt(f.offset));
  if (ref === undefined) return { token: null, partial: true, capHit: false, cap, issues: [{ kind: 'unreadable', message: `EPROCESS.Token of the process at ${hex(eprocessVa)} is not in the dump`, address: hex(eprocessVa) }] };
  return readToken(vm, layout, fastRefObject(layout, ref), opts);
}
