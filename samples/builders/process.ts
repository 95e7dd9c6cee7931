// One process: its address space, the pool-allocated EPROCESS object (POOL_HEADER 'Proc',
// OBJECT_HEADER of the Process type), its user space, handle table, audit image name, WoW64 block,
// VAD tree and the EPROCESS body written field by field.
import { POOL_HEADER_BYTES } from '../../src/ntos/object-header.ts';
import { IMAGE_FILE_MACHINE_I386 } from '../../src/ntos/pe.ts';
import { AddressSpace } from '../memory.ts';
import { StructWriter, utf16 } from '../structs.ts';
import type { ScenarioProcess, SecurePages } from '../scenario.ts';
import { filetime, type KernelCtx } from './context.ts';
import type { ObjectSpace, PoolObject } from './object.ts';
import { unicodeString } from './object.ts';
import { PROCESS_TYPE_INDEX } from './object-types.ts';
import type { Sessions } from './sessions.ts';
import { buildHandleTable, type HandleModel } from './handle-table.ts';
import { buildUserSpace, imageBaseOf, type UserPte, type UserSpaceState, type VadRange } from './user-space.ts';
import { buildVadTree } from './vad-tree.ts';
import { AddressMap, type ModuleRange, type SystemDlls } from './address-map.ts';
import type { FileObjects } from './file-object.ts';
import { buildThreads, type ThreadModel, type TidAllocator } from './thread.ts';
import { buildToken, type TokenModel } from './token.ts';
import { typeIndexOf } from './object-types.ts';
import type { UserDetails } from './peb-details.ts';

export interface BuiltProcess {
  readonly spec: ScenarioProcess;
  readonly eprocessVa: bigint;
  readonly eprocessPa: number;
  readonly poolHeaderVa: bigint;
  readonly objectHeaderVa: bigint;
  readonly dtb: number;
  readonly pebVa: bigint;
  readonly imageFileName: Buffer;
  readonly imagePath: string;
  readonly createTime: bigint;
  readonly exitTime: bigint;
  readonly sessionId: number | null;
  readonly protection: number;
  readonly secure: boolean;
  readonly securePages: SecurePages | null;
  readonly terminated: boolean;
  readonly linked: boolean;
  /** Reached from PsActiveProcessHead by following Flinks (false after a bad Flink). */
  reachableForward: boolean;
  readonly userPtes: UserPte[];
  readonly tablePfns: number[];
  readonly wow64: boolean;
  /** VADs as the VAD tree holds them. */
  readonly vads: VadRange[];
  /** Issue 14: what the PEB side holds (command line, current directory, kept environment, DLLs, user). */
  readonly details: UserDetails | null;
  readonly threads: ThreadModel[];
  /** Filled by the handle step once every object exists. */
  handles: HandleModel[];
  readonly token: TokenModel;
  /** EPROCESS.DebugPort (0 when not set). */
  readonly debugPort: bigint;
  readonly exitStatus: number;
  readonly basePriority: number;
  /** The nine PROCESS_EXTENDED_BASIC_INFORMATION flags as the model set them. */
  readonly flags: ProcessFlags;
  /** Modules and regions of this process (for attributing addresses). */
  readonly map: AddressMap;
}

export interface ProcessFlags {
  readonly isProtectedProcess: boolean;
  readonly isWow64Process: boolean;
  readonly isProcessDeleting: boolean;
  readonly isCrossSessionCreate: boolean;
  readonly isFrozen: boolean;
  readonly isBackground: boolean;
  readonly isStronglyNamed: boolean;
  readonly isSecureProcess: boolean;
  readonly isSubsystemProcess: boolean;
}

/** What every process build shares besides the kernel context. */
export interface ProcessEnv {
  readonly objects: ObjectSpace;
  readonly sessions: Sessions;
  readonly userSpace: UserSpaceState;
  readonly files: FileObjects;
  readonly dlls: SystemDlls;
  readonly kernelModules: readonly ModuleRange[];
  readonly tids: TidAllocator;
}

/** A process while the machine is being built: the model plus the writers later steps still need. */
export interface ProcessDraft extends BuiltProcess {
  readonly obj: PoolObject;
  readonly ep: StructWriter;
  readonly space: AddressSpace;
  /** The HANDLE_TABLE header writer (null once exited). */
  readonly handleTable: StructWriter | null;
}

/** KPROCESS.Header.Type of a process (ProcessObject). */
const DISPATCHER_PROCESS_OBJECT = 3;
/** NTSTATUS STILL_ACTIVE, the exit status of a running process. */
export const STATUS_PENDING = 0x103;
/** KPROCESS.BasePriority of a normal-class process. */
export const NORMAL_BASE_PRIORITY = 8;
/** PS_PROTECTION.Type: the low 3 bits of the protection byte. */
const PROTECTION_TYPE_MASK = 0x7;
/** DEBUG_OBJECT body bytes (the ISFs do not describe it). */
const DEBUG_OBJECT_SIZE = 0x68;
/** ETHREAD objects built per process unless the scenario says otherwise (keeps 16 MiB dumps possible). */
export const DEFAULT_THREAD_OBJECT_CAP = 8;
/** A Pico provider's per-process context block. */
const PICO_CONTEXT_SIZE = 0x80;
/** SecureState: bit 0 SecureProcess; the rest is the secure handle. */
const SECURE_STATE_SECURE_PROCESS = 1n;

/** The secure-process marker this build has in KPROCESS. */
export function secureMarker(k: KernelCtx): 'SecureState' | 'SecurePid' | null {
  return k.layout.has('_KPROCESS', 'SecureState') ? 'SecureState' : k.layout.has('_KPROCESS', 'SecurePid') ? 'SecurePid' : null;
}

export function defaultPath(name: string): string {
  const lower = name.toLowerCase();
  if (!/\.exe$/.test(lower)) return name;
  return `\\Device\\HarddiskVolume3\\Windows\\System32\\${name}`;
}

/** Step: builds process number `index` of the scenario. */
export function buildProcess(k: KernelCtx, env: ProcessEnv, spec: ScenarioProcess, index: number): ProcessDraft {
  const { layout, mem, scenario } = k;
  const { objects: o, sessions, userSpace: us } = env;
  const isSystem = spec.pid === 4;
  const terminated = spec.exit !== undefined;
  const secure = !!spec.secure;
  const mode: SecurePages | null = secure ? (spec.securePages ?? scenario.securePages) : null;
  const space = isSystem ? k.system : new AddressSpace(mem, k.selfRefIndex, mem.alloc('kernel'));
  k.kernelPfns.add(space.pml4);
  const obj = o.allocObject(layout.size('_EPROCESS'), 'Proc', PROCESS_TYPE_INDEX, index % 3 === 1 ? 'small' : 'large');
  const epVa = obj.bodyVa;
  const ep = new StructWriter(layout, '_EPROCESS', obj.block.buf, obj.bodyOff);
  const imagePath = spec.path ?? defaultPath(spec.name);
  const dosPath = imagePath.replace(/^\\Device\\HarddiskVolume\d+/, 'C:');

  const imageFile = imagePath.replace(/^\\Device\\HarddiskVolume\d+/, '');
  const user = buildUserSpace(us, { spec, space, secure, mode, nUser: terminated ? 0 : (spec.userPages ?? 10), dosPath, imageFile, dlls: env.dlls });
  const table = terminated ? null : buildHandleTable(k, o, { pid: spec.pid, quotaProcess: isSystem ? 0n : epVa, urng: us.urng });
  const auditName = buildAuditImageName(k, o, imagePath);
  const wowVa = spec.wow64 ? buildWow64Block(k, o, user.pebVa) : 0n;
  const vadTree = buildVadTree(k, o, env.files, user.vads);
  const token = buildToken(k, o, spec);
  const debugPort = spec.debugPort ? o.allocObject(DEBUG_OBJECT_SIZE, 'DbgO', typeIndexOf('DebugObject'), 'large').bodyVa : 0n;
  const picoContext = spec.pico ? o.pool.alloc(layout, PICO_CONTEXT_SIZE, 'PcCx', 'large').headerVa + BigInt(POOL_HEADER_BYTES) : 0n;
  const dllList = user.image ? (spec.wow64 ? [env.dlls.ntdll, env.dlls.ntdll32, env.dlls.kernel32Wow] : [env.dlls.ntdll, env.dlls.kernel32]) : [];
  const imageName = imageFile.slice(imageFile.lastIndexOf('\\') + 1) || spec.name;
  const map = new AddressMap(env.kernelModules, user.image ? { name: imageName, base: user.image.base, size: user.image.size, path: imageFile } : null, dllList, user.regions, env.dlls);

  const createTime = spec.pid === 4 ? k.bootTime : filetime(k.bootMs + spec.start * 1000);
  const exitTime = terminated ? filetime(k.bootMs + spec.exit! * 1000) : 0n;
  const sessionId = typeof spec.session === 'number' ? spec.session : null;
  const protection = Number(spec.protection ?? '0');
  const imageFileName = Buffer.from(spec.name, 'latin1').subarray(0, 15);
  const threadCount = Math.min(spec.threads ?? 4, scenario.threadObjectCap ?? DEFAULT_THREAD_OBJECT_CAP);
  const exitStatus = spec.exitStatus ?? (terminated ? 0 : STATUS_PENDING);
  const basePriority = spec.basePriority ?? NORMAL_BASE_PRIORITY;
  const flags: ProcessFlags = {
    isProtectedProcess: (protection & PROTECTION_TYPE_MASK) !== 0,
    isWow64Process: !!spec.wow64,
    isProcessDeleting: !!spec.processDelete,
    isCrossSessionCreate: !!spec.crossSessionCreate,
    isFrozen: !!spec.frozen,
    isBackground: !!spec.background,
    isStronglyNamed: token.package !== null,
    isSecureProcess: secure,
    isSubsystemProcess: !!spec.pico,
  };
  writeEprocessBody(k, ep, {
    spec,
    epVa,
    dtb: space.dtb,
    secure,
    urng: us.urng,
    imageFileName,
    createTime,
    exitTime,
    terminated,
    pebVa: user.pebVa,
    sectionBase: user.pebVa ? imageBaseOf(user.userPtes, spec) : 0n,
    session: sessionId !== null ? sessions.get(sessionId)! : 0n,
    sessionId,
    protection,
    auditName,
    wowVa,
    vadRoot: vadTree.root,
    vadCount: vadTree.count,
    objectTable: table?.va ?? 0n,
    token: token.fastRef,
    debugPort,
    picoContext,
    exitStatus,
    basePriority,
    threadCount: terminated ? 0 : threadCount + (spec.extraThreads?.length ?? 0),
  });
  const threads = terminated
    ? []
    : buildThreads(k, o, ep, { epVa, pid: spec.pid, createTime, user: user.image !== null, count: threadCount, extra: spec.extraThreads ?? [], apcs: spec.apcs ?? [], map, tids: env.tids });

  return {
    spec,
    eprocessVa: epVa,
    eprocessPa: 0,
    poolHeaderVa: obj.block.headerVa,
    objectHeaderVa: obj.ohVa,
    dtb: space.dtb,
    pebVa: user.pebVa,
    imageFileName,
    imagePath,
    createTime,
    exitTime,
    sessionId,
    protection,
    secure,
    securePages: mode,
    terminated,
    linked: !spec.unlinked,
    reachableForward: !spec.unlinked,
    userPtes: user.userPtes,
    tablePfns: [space.pml4],
    wow64: !!spec.wow64,
    vads: user.vads,
    threads,
    handles: [],
    token,
    debugPort,
    exitStatus,
    basePriority,
    flags,
    map,
    details: user.details,
    obj,
    ep,
    space,
    handleTable: table?.w ?? null,
  };
}

/** SeAuditProcessCreationInfo.ImageFileName: an OBJECT_NAME_INFORMATION with the full NT path. */
function buildAuditImageName(k: KernelCtx, o: ObjectSpace, imagePath: string): bigint {
  const { layout } = k;
  const niSize = layout.size('_OBJECT_NAME_INFORMATION');
  const nameBody = Buffer.concat([Buffer.alloc(niSize), utf16(imagePath), Buffer.alloc(2)]);
  const ni = o.pool.alloc(layout, nameBody.length, 'SeAt', 'large');
  nameBody.copy(ni.buf, POOL_HEADER_BYTES);
  const niVa = ni.headerVa + BigInt(POOL_HEADER_BYTES);
  unicodeString(new StructWriter(layout, '_OBJECT_NAME_INFORMATION', ni.buf, POOL_HEADER_BYTES), 'Name', niVa + BigInt(niSize), imagePath);
  return niVa;
}

/** EWOW64PROCESS (the 32-bit PEB follows the 64-bit one). */
function buildWow64Block(k: KernelCtx, o: ObjectSpace, pebVa: bigint): bigint {
  const { layout, types } = k;
  const wsz = types.structSize('_EWOW64PROCESS') ?? 0x10;
  const wb = o.pool.alloc(layout, wsz, 'Wo64', 'large');
  const ww = new StructWriter(layout, '_EWOW64PROCESS', wb.buf, POOL_HEADER_BYTES);
  ww.set('Peb', pebVa ? pebVa + 0x1000n : 0n, true);
  ww.set('Machine', IMAGE_FILE_MACHINE_I386, true);
  return wb.headerVa + BigInt(POOL_HEADER_BYTES);
}

interface EprocessFields {
  readonly spec: ScenarioProcess;
  readonly epVa: bigint;
  readonly dtb: number;
  readonly secure: boolean;
  readonly urng: { int(lo: number, hi: number): number; u32(): number };
  readonly imageFileName: Buffer;
  readonly createTime: bigint;
  readonly exitTime: bigint;
  readonly terminated: boolean;
  readonly pebVa: bigint;
  readonly sectionBase: bigint;
  readonly session: bigint;
  readonly sessionId: number | null;
  readonly protection: number;
  readonly auditName: bigint;
  readonly objectTable: bigint;
  readonly token: bigint;
  readonly debugPort: bigint;
  readonly picoContext: bigint;
  readonly exitStatus: number;
  readonly basePriority: number;
  readonly threadCount: number;
  readonly wowVa: bigint;
  readonly vadRoot: bigint;
  readonly vadCount: number;
}

/** Points a LIST_ENTRY field at itself (an empty list), if the build has it. */
function selfLink(w: StructWriter, structVa: bigint, path: string): void {
  const f = w.layout.field(w.struct, path);
  if (!f) return;
  w.set(`${path}.Flink`, structVa + BigInt(f.offset));
  w.set(`${path}.Blink`, structVa + BigInt(f.offset));
}

/** The EPROCESS body, field by field (ActiveProcessLinks are set by the list step). */
function writeEprocessBody(k: KernelCtx, ep: StructWriter, f: EprocessFields): void {
  const { layout } = k;
  const { spec, epVa, urng } = f;
  const marker = secureMarker(k);
  ep.set('Pcb.Header.Type', DISPATCHER_PROCESS_OBJECT, true);
  ep.set('Pcb.Header.Size', Math.floor(layout.size('_KPROCESS') / 4) & 0xff, true);
  ep.set('Pcb.DirectoryTableBase', BigInt(f.dtb));
  ep.set('Pcb.UserDirectoryTableBase', 0n, true);
  selfLink(ep, epVa, 'Pcb.ReadyListHead');
  selfLink(ep, epVa, 'Pcb.ThreadListHead');
  if (f.secure && marker === 'SecureState') ep.set('Pcb.SecureState', (BigInt(urng.int(0x10, 0x3fffff)) << 2n) | SECURE_STATE_SECURE_PROCESS);
  if (f.secure && marker === 'SecurePid') ep.set('Pcb.SecurePid', BigInt(urng.int(0x100, 0x7fffffff)) * 4n);
  if (f.secure && layout.has('_EPROCESS', 'TrustletIdentity') && spec.trustletId !== undefined) ep.set('TrustletIdentity', spec.trustletId);
  ep.set('UniqueProcessId', spec.pid);
  ep.set('InheritedFromUniqueProcessId', spec.ppid);
  const ifn = Buffer.alloc(15);
  f.imageFileName.copy(ifn);
  ep.bytes('ImageFileName', ifn);
  ep.set('CreateTime', f.createTime);
  ep.set('ExitTime', f.exitTime);
  ep.set('ExitStatus', f.exitStatus, true);
  ep.set('Pcb.BasePriority', f.basePriority, true);
  ep.set('Token', f.token);
  ep.set('DebugPort', f.debugPort, true);
  if (spec.processDelete) ep.set('ProcessDelete', 1);
  if (spec.crossSessionCreate) ep.set('CrossSessionCreate', 1);
  if (spec.background) ep.set('Background', 1);
  if (spec.frozen) {
    ep.set('Pcb.DeepFreeze', 1);
    ep.set('Pcb.FreezeCount', 1);
  }
  if (spec.pico) {
    ep.set('SubsystemProcess', 1);
    ep.set('PicoContext', f.picoContext, true);
  }
  ep.set('Peb', f.pebVa);
  ep.set('SectionBaseAddress', f.sectionBase, true);
  ep.set('Session', f.session);
  ep.bytes('Protection', Buffer.from([f.protection]));
  ep.set('SeAuditProcessCreationInfo.ImageFileName', f.auditName);
  ep.set('ObjectTable', f.objectTable);
  if (!ep.set('WoW64Process', f.wowVa, true)) ep.set('Wow64Process', f.wowVa, true);
  selfLink(ep, epVa, 'ThreadListHead');
  ep.set('ActiveThreads', f.threadCount, true);
  selfLink(ep, epVa, 'SessionProcessLinks');
  if (f.terminated) ep.set('ProcessExiting', 1, true);
  ep.set('ProcessInSession', f.sessionId !== null ? 1 : 0, true);
  ep.set('UniqueProcessKey', BigInt(spec.pid), true);
  ep.set('ImagePathHash', urng.u32(), true);
  ep.set('VadRoot.Root', f.vadRoot, true);
  ep.set('VadCount', f.vadCount, true);
}
