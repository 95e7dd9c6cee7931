// TOKEN objects (pool 'Toke', OBJECT_HEADER of the Token type) reached through EPROCESS.Token, an
// EX_FAST_REF whose low 4 bits are a reference count: privileges (Present / Enabled /
// EnabledByDefault masks), UserAndGroups (SID_AND_ATTRIBUTES + SIDs in the token's variable
// part), IntegrityLevelIndex, Package (app container / packaged app SID).
import { PRIVILEGE_LUIDS } from '../../src/ntos/privileges.ts';
import { integrityLevelName, sidName, SECURITY_MANDATORY_HIGH_RID, SECURITY_MANDATORY_LOW_RID, SECURITY_MANDATORY_MEDIUM_RID, SECURITY_MANDATORY_SYSTEM_RID, SECURITY_MANDATORY_UNTRUSTED_RID } from '../../src/ntos/sid-names.ts';
import { StructWriter } from '../structs.ts';
import type { ScenarioProcess } from '../scenario.ts';
import type { KernelCtx } from './context.ts';
import type { ObjectSpace, PoolObject } from './object.ts';
import { typeIndexOf } from './object-types.ts';

export interface TokenModel {
  readonly obj: PoolObject;
  /** EPROCESS.Token as stored: body VA | reference count. */
  readonly fastRef: bigint;
  readonly user: { sid: string; name: string | null };
  readonly integrity: { sid: string; level: string } | null;
  readonly groups: { sid: string; attributes: number }[];
  readonly privileges: { name: string; present: boolean; enabled: boolean; enabledByDefault: boolean }[];
  readonly package: { sid: string } | null;
}

/** SE_GROUP_* attributes (winnt.h). */
const SE_GROUP_MANDATORY = 0x1;
const SE_GROUP_ENABLED_BY_DEFAULT = 0x2;
const SE_GROUP_ENABLED = 0x4;
const SE_GROUP_OWNER = 0x8;
const SE_GROUP_INTEGRITY = 0x20;
const SE_GROUP_INTEGRITY_ENABLED = 0x40;
const SE_GROUP_LOGON_ID = 0xc0000000;
const GROUP_DEFAULT = SE_GROUP_MANDATORY | SE_GROUP_ENABLED_BY_DEFAULT | SE_GROUP_ENABLED;
/** TOKEN_LOWBOX (an app-container token), TokenFlags. */
const TOKEN_LOWBOX = 0x4000;
/** EX_FAST_REF: the low 4 bits of the pointer are a reference count (x64). */
export const FAST_REF_BITS = 0xfn;
const TOKEN_REF_COUNT = 0xan;
const SID_HEADER_BYTES = 8;

/** The interactive user of every generated machine. */
export const INTERACTIVE_USER = 'S-1-5-21-3623811015-3361044348-30300820-1001';
const LOGON_SID = 'S-1-5-5-0-183512';

const INTEGRITY_RID = { untrusted: SECURITY_MANDATORY_UNTRUSTED_RID, low: SECURITY_MANDATORY_LOW_RID, medium: SECURITY_MANDATORY_MEDIUM_RID, high: SECURITY_MANDATORY_HIGH_RID, system: SECURITY_MANDATORY_SYSTEM_RID } as const;

/** Privileges of a SYSTEM token: [name, enabled]. */
const SYSTEM_PRIVILEGES: readonly (readonly [string, boolean])[] = [
  ['SeAssignPrimaryTokenPrivilege', false], ['SeLockMemoryPrivilege', true], ['SeIncreaseQuotaPrivilege', false], ['SeTcbPrivilege', true],
  ['SeSecurityPrivilege', false], ['SeTakeOwnershipPrivilege', false], ['SeLoadDriverPrivilege', false], ['SeSystemProfilePrivilege', true],
  ['SeSystemtimePrivilege', false], ['SeProfileSingleProcessPrivilege', true], ['SeIncreaseBasePriorityPrivilege', true], ['SeCreatePagefilePrivilege', true],
  ['SeCreatePermanentPrivilege', true], ['SeBackupPrivilege', false], ['SeRestorePrivilege', false], ['SeShutdownPrivilege', false],
  ['SeDebugPrivilege', true], ['SeAuditPrivilege', true], ['SeSystemEnvironmentPrivilege', false], ['SeChangeNotifyPrivilege', true],
  ['SeUndockPrivilege', false], ['SeManageVolumePrivilege', false], ['SeImpersonatePrivilege', true], ['SeCreateGlobalPrivilege', true],
  ['SeIncreaseWorkingSetPrivilege', true], ['SeTimeZonePrivilege', true], ['SeCreateSymbolicLinkPrivilege', true], ['SeDelegateSessionUserImpersonatePrivilege', true],
];
/** Privileges of a standard user's (medium) token. */
const USER_PRIVILEGES: readonly (readonly [string, boolean])[] = [
  ['SeShutdownPrivilege', false], ['SeChangeNotifyPrivilege', true], ['SeUndockPrivilege', false], ['SeIncreaseWorkingSetPrivilege', false], ['SeTimeZonePrivilege', false],
];

/** S-1-<authority>-<sub>… → SID bytes (Revision, SubAuthorityCount, IdentifierAuthority big-endian, SubAuthority[] LE). */
export function sidBytes(sid: string): Buffer {
  const parts = sid.split('-');
  if (parts[0] !== 'S' || parts[1] !== '1') throw new Error(`bad SID ${sid}`);
  const subs = parts.slice(3).map(Number);
  const b = Buffer.alloc(SID_HEADER_BYTES + 4 * subs.length);
  b[0] = 1;
  b[1] = subs.length;
  b.writeUIntBE(Number(parts[2]), 2, 6);
  subs.forEach((s, i) => b.writeUInt32LE(s >>> 0, SID_HEADER_BYTES + 4 * i));
  return b;
}

/** The token a process of this scenario has (user, groups, integrity, privileges, package). */
function tokenSpec(spec: ScenarioProcess): { user: string; integrity: keyof typeof INTEGRITY_RID; groups: { sid: string; attributes: number }[]; privileges: readonly (readonly [string, boolean])[]; pkg: string | null } {
  const interactive = typeof spec.session === 'number' && spec.session > 0;
  const user = spec.tokenUser ?? (interactive ? INTERACTIVE_USER : 'S-1-5-18');
  const system = user === 'S-1-5-18';
  const integrity = spec.integrity ?? (spec.packageSid ? 'low' : system ? 'system' : 'medium');
  const groups = system
    ? [
        { sid: 'S-1-5-32-544', attributes: GROUP_DEFAULT | SE_GROUP_OWNER },
        { sid: 'S-1-1-0', attributes: GROUP_DEFAULT },
        { sid: 'S-1-5-11', attributes: GROUP_DEFAULT },
      ]
    : [
        { sid: 'S-1-5-21-3623811015-3361044348-30300820-513', attributes: GROUP_DEFAULT },
        { sid: 'S-1-1-0', attributes: GROUP_DEFAULT },
        { sid: 'S-1-5-32-545', attributes: GROUP_DEFAULT },
        { sid: 'S-1-5-4', attributes: GROUP_DEFAULT },
        { sid: 'S-1-2-1', attributes: GROUP_DEFAULT },
        { sid: 'S-1-5-11', attributes: GROUP_DEFAULT },
        { sid: 'S-1-5-15', attributes: GROUP_DEFAULT },
        { sid: LOGON_SID, attributes: GROUP_DEFAULT | SE_GROUP_LOGON_ID },
        { sid: 'S-1-2-0', attributes: GROUP_DEFAULT },
      ];
  if (spec.packageSid) groups.push({ sid: 'S-1-15-2-1', attributes: GROUP_DEFAULT });
  groups.push({ sid: `S-1-16-${INTEGRITY_RID[integrity]}`, attributes: SE_GROUP_INTEGRITY | SE_GROUP_INTEGRITY_ENABLED });
  return { user, integrity, groups, privileges: system ? SYSTEM_PRIVILEGES : USER_PRIVILEGES, pkg: spec.packageSid ?? null };
}

/** Step: the process's token object. */
export function buildToken(k: KernelCtx, o: ObjectSpace, spec: ScenarioProcess): TokenModel {
  const { layout } = k;
  const t = tokenSpec(spec);
  const entries = [{ sid: t.user, attributes: 0 }, ...t.groups];
  const tokenSize = layout.size('_TOKEN');
  const saSize = layout.size('_SID_AND_ATTRIBUTES');
  const sids = entries.map((e) => sidBytes(e.sid));
  const pkg = t.pkg ? sidBytes(t.pkg) : null;
  const arrayOff = tokenSize;
  let sidOff = arrayOff + saSize * entries.length;
  const variable = sids.reduce((a, s) => a + s.length, 0) + (pkg?.length ?? 0);
  const obj = o.allocObject(tokenSize + saSize * entries.length + variable, 'Toke', typeIndexOf('Token'), 'large');
  const at = (off: number) => obj.bodyVa + BigInt(off);
  const w = new StructWriter(layout, '_TOKEN', obj.block.buf, obj.bodyOff);
  entries.forEach((e, i) => {
    const sa = new StructWriter(layout, '_SID_AND_ATTRIBUTES', obj.block.buf, obj.bodyOff + arrayOff + saSize * i);
    sa.set('Sid', at(sidOff));
    sa.set('Attributes', e.attributes >>> 0);
    sids[i].copy(obj.block.buf, obj.bodyOff + sidOff);
    sidOff += sids[i].length;
  });
  let pkgVa = 0n;
  if (pkg) {
    pkgVa = at(sidOff);
    pkg.copy(obj.block.buf, obj.bodyOff + sidOff);
  }
  let present = 0n;
  let enabled = 0n;
  for (const [name, on] of t.privileges) {
    const bit = 1n << BigInt(PRIVILEGE_LUIDS[name]);
    present |= bit;
    if (on) enabled |= bit;
  }
  w.bytes('TokenSource', Buffer.from('*SYSTEM*\0\0\0\0\0\0\0\0', 'latin1'), true);
  w.set('TokenId.LowPart', 0x1000 + spec.pid, true);
  w.set('Privileges.Present', present);
  w.set('Privileges.Enabled', enabled);
  w.set('Privileges.EnabledByDefault', enabled);
  w.set('SessionId', typeof spec.session === 'number' ? spec.session : 0, true);
  w.set('UserAndGroupCount', entries.length);
  w.set('RestrictedSidCount', 0, true);
  w.set('VariableLength', variable, true);
  w.set('UserAndGroups', at(arrayOff));
  w.set('RestrictedSids', 0n, true);
  w.set('TokenFlags', pkg ? TOKEN_LOWBOX : 0, true);
  w.set('IntegrityLevelIndex', entries.length - 1);
  w.set('MandatoryPolicy', 3, true);
  w.set('Package', pkgVa, true);
  const integritySid = `S-1-16-${INTEGRITY_RID[t.integrity]}`;
  return {
    obj,
    fastRef: obj.bodyVa | TOKEN_REF_COUNT,
    user: { sid: t.user, name: sidName(t.user) },
    integrity: { sid: integritySid, level: integrityLevelName(INTEGRITY_RID[t.integrity]) },
    groups: t.groups.map((g) => ({ sid: g.sid, attributes: g.attributes >>> 0 })),
    privileges: t.privileges.map(([name, on]) => ({ name, present: true, enabled: on, enabledByDefault: on })).sort((a, b) => PRIVILEGE_LUIDS[a.name] - PRIVILEGE_LUIDS[b.name]),
    package: t.pkg ? { sid: t.pkg } : null,
  };
}
