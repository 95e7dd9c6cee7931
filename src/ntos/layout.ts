// The one place that lists every structure offset, size and kernel symbol the analyzer reads.
// A KernelLayout is filled from an ISF, a PDB (through the same ISF model), or the built-in
// table generated from real ISFs; nothing else in the analyzer hard-codes an offset.
import type { IsfTypes } from './isf.ts';

/** Fields the analyzer reads: key → [struct, dotted path within it]. Alternatives are tried in order. */
export const LAYOUT_FIELDS = {
  'EPROCESS.Pcb': [['_EPROCESS', 'Pcb']],
  'KPROCESS.DirectoryTableBase': [['_KPROCESS', 'DirectoryTableBase']],
  'KPROCESS.UserDirectoryTableBase': [['_KPROCESS', 'UserDirectoryTableBase']],
  /** 17763+: the 8-byte union whose bit 0 is SecureProcess. */
  'KPROCESS.SecureState': [['_KPROCESS', 'SecureState']],
  /** 14393: non-zero for a secure (IUM) process. */
  'KPROCESS.SecurePid': [['_KPROCESS', 'SecurePid']],
  'EPROCESS.UniqueProcessId': [['_EPROCESS', 'UniqueProcessId']],
  'EPROCESS.ActiveProcessLinks': [['_EPROCESS', 'ActiveProcessLinks']],
  'EPROCESS.ImageFileName': [['_EPROCESS', 'ImageFileName']],
  'EPROCESS.Peb': [['_EPROCESS', 'Peb']],
  'EPROCESS.Protection': [['_EPROCESS', 'Protection']],
  'EPROCESS.Flags': [['_EPROCESS', 'Flags']],
  'EPROCESS.Flags2': [['_EPROCESS', 'Flags2']],
  'EPROCESS.Flags3': [['_EPROCESS', 'Flags3']],
  'EPROCESS.ProcessExiting': [['_EPROCESS', 'ProcessExiting']],
  'EPROCESS.ProcessDelete': [['_EPROCESS', 'ProcessDelete']],
  /** 14393: the trustlet ID (later builds keep it in the secure kernel only). */
  'EPROCESS.TrustletIdentity': [['_EPROCESS', 'TrustletIdentity']],
  'EPROCESS.CreateTime': [['_EPROCESS', 'CreateTime']],
  'EPROCESS.ExitTime': [['_EPROCESS', 'ExitTime']],
  'EPROCESS.ExitStatus': [['_EPROCESS', 'ExitStatus']],
  'EPROCESS.InheritedFromUniqueProcessId': [['_EPROCESS', 'InheritedFromUniqueProcessId']],
  'EPROCESS.Session': [['_EPROCESS', 'Session']],
  'EPROCESS.WoW64Process': [
    ['_EPROCESS', 'WoW64Process'],
    ['_EPROCESS', 'Wow64Process'],
  ],
  'EPROCESS.SeAuditProcessCreationInfo': [['_EPROCESS', 'SeAuditProcessCreationInfo']],
  'EPROCESS.VadRoot': [['_EPROCESS', 'VadRoot']],
  'EPROCESS.ObjectTable': [['_EPROCESS', 'ObjectTable']],
  'EPROCESS.ThreadListHead': [['_EPROCESS', 'ThreadListHead']],
  'EPROCESS.ActiveThreads': [['_EPROCESS', 'ActiveThreads']],
  'EPROCESS.SectionBaseAddress': [['_EPROCESS', 'SectionBaseAddress']],
  'MM_SESSION_SPACE.SessionId': [['_MM_SESSION_SPACE', 'SessionId']],
  'SE_AUDIT_PROCESS_CREATION_INFO.ImageFileName': [['_SE_AUDIT_PROCESS_CREATION_INFO', 'ImageFileName']],
  'OBJECT_NAME_INFORMATION.Name': [['_OBJECT_NAME_INFORMATION', 'Name']],
  'UNICODE_STRING.Length': [['_UNICODE_STRING', 'Length']],
  'UNICODE_STRING.MaximumLength': [['_UNICODE_STRING', 'MaximumLength']],
  'UNICODE_STRING.Buffer': [['_UNICODE_STRING', 'Buffer']],
  'LIST_ENTRY.Flink': [['_LIST_ENTRY', 'Flink']],
  'LIST_ENTRY.Blink': [['_LIST_ENTRY', 'Blink']],
  'POOL_HEADER.PoolTag': [['_POOL_HEADER', 'PoolTag']],
  'POOL_HEADER.BlockSize': [['_POOL_HEADER', 'BlockSize']],
  'POOL_HEADER.PoolType': [['_POOL_HEADER', 'PoolType']],
  'POOL_HEADER.PreviousSize': [['_POOL_HEADER', 'PreviousSize']],
  'OBJECT_HEADER.PointerCount': [['_OBJECT_HEADER', 'PointerCount']],
  'OBJECT_HEADER.HandleCount': [['_OBJECT_HEADER', 'HandleCount']],
  'OBJECT_HEADER.TypeIndex': [['_OBJECT_HEADER', 'TypeIndex']],
  'OBJECT_HEADER.InfoMask': [['_OBJECT_HEADER', 'InfoMask']],
  'OBJECT_HEADER.Body': [['_OBJECT_HEADER', 'Body']],
  'OBJECT_TYPE.Name': [['_OBJECT_TYPE', 'Name']],
  'OBJECT_TYPE.Index': [['_OBJECT_TYPE', 'Index']],
  'OBJECT_TYPE.Key': [['_OBJECT_TYPE', 'Key']],
  'RTL_AVL_TREE.Root': [['_RTL_AVL_TREE', 'Root']],
  'MMVAD_SHORT.VadNode': [['_MMVAD_SHORT', 'VadNode']],
  'MMVAD_SHORT.StartingVpn': [['_MMVAD_SHORT', 'StartingVpn']],
  'MMVAD_SHORT.EndingVpn': [['_MMVAD_SHORT', 'EndingVpn']],
  'MMVAD_SHORT.StartingVpnHigh': [['_MMVAD_SHORT', 'StartingVpnHigh']],
  'MMVAD_SHORT.EndingVpnHigh': [['_MMVAD_SHORT', 'EndingVpnHigh']],
  'RTL_BALANCED_NODE.Left': [['_RTL_BALANCED_NODE', 'Left']],
  'RTL_BALANCED_NODE.Right': [['_RTL_BALANCED_NODE', 'Right']],
  'PEB.ProcessParameters': [['_PEB', 'ProcessParameters']],
  'RTL_USER_PROCESS_PARAMETERS.ImagePathName': [['_RTL_USER_PROCESS_PARAMETERS', 'ImagePathName']],
  'RTL_USER_PROCESS_PARAMETERS.CommandLine': [['_RTL_USER_PROCESS_PARAMETERS', 'CommandLine']],
  'LDR_DATA_TABLE_ENTRY.InLoadOrderLinks': [['_LDR_DATA_TABLE_ENTRY', 'InLoadOrderLinks']],
  'LDR_DATA_TABLE_ENTRY.DllBase': [['_LDR_DATA_TABLE_ENTRY', 'DllBase']],
  'LDR_DATA_TABLE_ENTRY.SizeOfImage': [['_LDR_DATA_TABLE_ENTRY', 'SizeOfImage']],
  'LDR_DATA_TABLE_ENTRY.FullDllName': [['_LDR_DATA_TABLE_ENTRY', 'FullDllName']],
  'LDR_DATA_TABLE_ENTRY.BaseDllName': [['_LDR_DATA_TABLE_ENTRY', 'BaseDllName']],
  // Issue 14: the PEB side of a process (process parameters, environment, loader lists).
  'PEB.Ldr': [['_PEB', 'Ldr']],
  'PEB_LDR_DATA.InLoadOrderModuleList': [['_PEB_LDR_DATA', 'InLoadOrderModuleList']],
  'RTL_USER_PROCESS_PARAMETERS.CurrentDirectory': [['_RTL_USER_PROCESS_PARAMETERS', 'CurrentDirectory.DosPath']],
  'RTL_USER_PROCESS_PARAMETERS.Environment': [['_RTL_USER_PROCESS_PARAMETERS', 'Environment']],
  'RTL_USER_PROCESS_PARAMETERS.EnvironmentSize': [['_RTL_USER_PROCESS_PARAMETERS', 'EnvironmentSize']],
  // Issue 14: the object manager's namespace (\GLOBAL?? drive-letter symbolic links).
  'OBJECT_DIRECTORY.HashBuckets': [['_OBJECT_DIRECTORY', 'HashBuckets']],
  'OBJECT_DIRECTORY_ENTRY.ChainLink': [['_OBJECT_DIRECTORY_ENTRY', 'ChainLink']],
  'OBJECT_DIRECTORY_ENTRY.Object': [['_OBJECT_DIRECTORY_ENTRY', 'Object']],
  'OBJECT_SYMBOLIC_LINK.LinkTarget': [['_OBJECT_SYMBOLIC_LINK', 'LinkTarget']],
  // Issue 14: host identity from KUSER_SHARED_DATA.
  'KUSER_SHARED_DATA.NtProductType': [['_KUSER_SHARED_DATA', 'NtProductType']],
  'KUSER_SHARED_DATA.NtMajorVersion': [['_KUSER_SHARED_DATA', 'NtMajorVersion']],
  'KUSER_SHARED_DATA.NtMinorVersion': [['_KUSER_SHARED_DATA', 'NtMinorVersion']],
  'KUSER_SHARED_DATA.SystemTime': [['_KUSER_SHARED_DATA', 'SystemTime']],
  'KUSER_SHARED_DATA.InterruptTime': [['_KUSER_SHARED_DATA', 'InterruptTime']],
  /** At the fixed VA 0xFFFFF780'00000000: the build number, readable without symbols (0x260 in every table kernel). */
  'KUSER_SHARED_DATA.NtBuildNumber': [['_KUSER_SHARED_DATA', 'NtBuildNumber']],

  // --- Issue 12: what hangs off a process (threads, APCs, handles, token, VADs, drivers, flags). ---
  // Checked in all 7 reference ISFs (14393..22000) and the 7601/9600 kernels of the table; a build
  // without a field leaves it absent (null results), never another build's offset.
  /** The KTHREAD inside the ETHREAD (its first member in every table kernel): KTHREAD.* offsets are relative to it. */
  'ETHREAD.Tcb': [['_ETHREAD', 'Tcb']],
  'ETHREAD.Cid.UniqueProcess': [['_ETHREAD', 'Cid.UniqueProcess']],
  'ETHREAD.Cid.UniqueThread': [['_ETHREAD', 'Cid.UniqueThread']],
  'ETHREAD.ThreadListEntry': [['_ETHREAD', 'ThreadListEntry']],
  'ETHREAD.StartAddress': [['_ETHREAD', 'StartAddress']],
  'ETHREAD.Win32StartAddress': [['_ETHREAD', 'Win32StartAddress']],
  'ETHREAD.CreateTime': [['_ETHREAD', 'CreateTime']],
  'ETHREAD.ExitTime': [['_ETHREAD', 'ExitTime']],
  'ETHREAD.ExitStatus': [['_ETHREAD', 'ExitStatus']],
  'KTHREAD.State': [['_KTHREAD', 'State']],
  'KTHREAD.ThreadListEntry': [['_KTHREAD', 'ThreadListEntry']],
  /** LIST_ENTRY[2]: [KernelMode], [UserMode]. */
  'KTHREAD.ApcState.ApcListHead': [['_KTHREAD', 'ApcState.ApcListHead']],
  'KTHREAD.ApcState.Process': [['_KTHREAD', 'ApcState.Process']],
  'KTHREAD.Process': [['_KTHREAD', 'Process']],
  'KTHREAD.BasePriority': [['_KTHREAD', 'BasePriority']],
  'KTHREAD.Teb': [['_KTHREAD', 'Teb']],
  'KPROCESS.ThreadListHead': [['_KPROCESS', 'ThreadListHead']],
  'KPROCESS.BasePriority': [['_KPROCESS', 'BasePriority']],
  /** 9600+ (bit 4 on 9600, bit 3 on 10); 7601 has no freeze state. */
  'KPROCESS.DeepFreeze': [['_KPROCESS', 'DeepFreeze']],
  'KPROCESS.FreezeCount': [['_KPROCESS', 'FreezeCount']],
  'KAPC.Thread': [['_KAPC', 'Thread']],
  'KAPC.ApcListEntry': [['_KAPC', 'ApcListEntry']],
  'KAPC.KernelRoutine': [['_KAPC', 'KernelRoutine']],
  'KAPC.NormalRoutine': [['_KAPC', 'NormalRoutine']],
  'KAPC.ApcMode': [['_KAPC', 'ApcMode']],
  'HANDLE_TABLE.TableCode': [['_HANDLE_TABLE', 'TableCode']],
  'HANDLE_TABLE.NextHandleNeedingPool': [['_HANDLE_TABLE', 'NextHandleNeedingPool']],
  /** 9600+: 44 bits at bit 20 of the first quadword; header = bits << 4 with the kernel-half sign bits. */
  'HANDLE_TABLE_ENTRY.ObjectPointerBits': [['_HANDLE_TABLE_ENTRY', 'ObjectPointerBits']],
  'HANDLE_TABLE_ENTRY.GrantedAccessBits': [['_HANDLE_TABLE_ENTRY', 'GrantedAccessBits']],
  'HANDLE_TABLE_ENTRY.Attributes': [['_HANDLE_TABLE_ENTRY', 'Attributes']],
  /** 7601: the OBJECT_HEADER pointer with attribute bits in its low 3 bits, and the plain access mask. */
  'HANDLE_TABLE_ENTRY.Object': [['_HANDLE_TABLE_ENTRY', 'Object']],
  'HANDLE_TABLE_ENTRY.GrantedAccess': [['_HANDLE_TABLE_ENTRY', 'GrantedAccess']],
  'OBJECT_HEADER_NAME_INFO.Name': [['_OBJECT_HEADER_NAME_INFO', 'Name']],
  'FILE_OBJECT.FileName': [['_FILE_OBJECT', 'FileName']],
  'EPROCESS.Token': [['_EPROCESS', 'Token']],
  'EPROCESS.DebugPort': [['_EPROCESS', 'DebugPort']],
  'EPROCESS.Protection.Type': [['_EPROCESS', 'Protection.Type']],
  /** In Flags2 on 9600+ (bit 7), in Flags on 7601 (bit 25). */
  'EPROCESS.CrossSessionCreate': [['_EPROCESS', 'CrossSessionCreate']],
  /** Flags bit 20 on 9600+; 7601 has none. */
  'EPROCESS.Background': [['_EPROCESS', 'Background']],
  /** Flags3: bit 8 on 14393, bit 6 on 17763+; older builds have none. */
  'EPROCESS.SubsystemProcess': [['_EPROCESS', 'SubsystemProcess']],
  'EPROCESS.PicoContext': [['_EPROCESS', 'PicoContext']],
  'EX_FAST_REF.RefCnt': [['_EX_FAST_REF', 'RefCnt']],
  'TOKEN.Privileges.Present': [['_TOKEN', 'Privileges.Present']],
  'TOKEN.Privileges.Enabled': [['_TOKEN', 'Privileges.Enabled']],
  'TOKEN.Privileges.EnabledByDefault': [['_TOKEN', 'Privileges.EnabledByDefault']],
  'TOKEN.UserAndGroupCount': [['_TOKEN', 'UserAndGroupCount']],
  'TOKEN.UserAndGroups': [['_TOKEN', 'UserAndGroups']],
  'TOKEN.IntegrityLevelIndex': [['_TOKEN', 'IntegrityLevelIndex']],
  'TOKEN.SessionId': [['_TOKEN', 'SessionId']],
  'TOKEN.TokenFlags': [['_TOKEN', 'TokenFlags']],
  /** 9600+: the package SID of a packaged app / app container (NULL otherwise); 7601 has none. */
  'TOKEN.Package': [['_TOKEN', 'Package']],
  'SID.Revision': [['_SID', 'Revision']],
  'SID.SubAuthorityCount': [['_SID', 'SubAuthorityCount']],
  'SID.IdentifierAuthority': [['_SID', 'IdentifierAuthority']],
  'SID.SubAuthority': [['_SID', 'SubAuthority']],
  'SID_AND_ATTRIBUTES.Sid': [['_SID_AND_ATTRIBUTES', 'Sid']],
  'SID_AND_ATTRIBUTES.Attributes': [['_SID_AND_ATTRIBUTES', 'Attributes']],
  'MMVAD_SHORT.Protection': [['_MMVAD_SHORT', 'u.VadFlags.Protection']],
  'MMVAD_SHORT.PrivateMemory': [['_MMVAD_SHORT', 'u.VadFlags.PrivateMemory']],
  'MMVAD_SHORT.VadType': [['_MMVAD_SHORT', 'u.VadFlags.VadType']],
  /** 9600+: u1.VadFlags1.CommitCharge (31 bits); 7601: u.VadFlags.CommitCharge (51 bits). */
  'MMVAD_SHORT.CommitCharge': [
    ['_MMVAD_SHORT', 'u1.VadFlags1.CommitCharge'],
    ['_MMVAD_SHORT', 'u.VadFlags.CommitCharge'],
  ],
  'MMVAD_SHORT.CommitChargeHigh': [['_MMVAD_SHORT', 'CommitChargeHigh']],
  /** 7601: the tree is an MM_AVL_TABLE with LeftChild/RightChild in the VAD itself. */
  'MMVAD_SHORT.LeftChild': [['_MMVAD_SHORT', 'LeftChild']],
  'MMVAD_SHORT.RightChild': [['_MMVAD_SHORT', 'RightChild']],
  'MMVAD.Subsection': [['_MMVAD', 'Subsection']],
  'SUBSECTION.ControlArea': [['_SUBSECTION', 'ControlArea']],
  'CONTROL_AREA.FilePointer': [['_CONTROL_AREA', 'FilePointer']],
  /** PsLoadedModuleList entries; 7601/9600 PDBs describe them only as _LDR_DATA_TABLE_ENTRY (same offsets in that build). */
  'KLDR_DATA_TABLE_ENTRY.InLoadOrderLinks': [
    ['_KLDR_DATA_TABLE_ENTRY', 'InLoadOrderLinks'],
    ['_LDR_DATA_TABLE_ENTRY', 'InLoadOrderLinks'],
  ],
  'KLDR_DATA_TABLE_ENTRY.DllBase': [
    ['_KLDR_DATA_TABLE_ENTRY', 'DllBase'],
    ['_LDR_DATA_TABLE_ENTRY', 'DllBase'],
  ],
  'KLDR_DATA_TABLE_ENTRY.SizeOfImage': [
    ['_KLDR_DATA_TABLE_ENTRY', 'SizeOfImage'],
    ['_LDR_DATA_TABLE_ENTRY', 'SizeOfImage'],
  ],
  'KLDR_DATA_TABLE_ENTRY.FullDllName': [
    ['_KLDR_DATA_TABLE_ENTRY', 'FullDllName'],
    ['_LDR_DATA_TABLE_ENTRY', 'FullDllName'],
  ],
  'KLDR_DATA_TABLE_ENTRY.BaseDllName': [
    ['_KLDR_DATA_TABLE_ENTRY', 'BaseDllName'],
    ['_LDR_DATA_TABLE_ENTRY', 'BaseDllName'],
  ],
} as const satisfies Record<string, ReadonlyArray<readonly [string, string]>>;

export type LayoutFieldKey = keyof typeof LAYOUT_FIELDS;

/** The optional headers OBJECT_HEADER.InfoMask selects, in bit order (bit 0 creator, nearest the header … bit 7 padding). */
export const OBJECT_OPTIONAL_HEADERS = [
  '_OBJECT_HEADER_CREATOR_INFO',
  '_OBJECT_HEADER_NAME_INFO',
  '_OBJECT_HEADER_HANDLE_INFO',
  '_OBJECT_HEADER_QUOTA_INFO',
  '_OBJECT_HEADER_PROCESS_INFO',
  '_OBJECT_HEADER_AUDIT_INFO',
  '_OBJECT_HEADER_EXTENDED_INFO',
  '_OBJECT_HEADER_PADDING_INFO',
] as const;

/** Structure sizes the analyzer needs. */
export const LAYOUT_SIZES = [
  '_EPROCESS',
  '_KPROCESS',
  '_OBJECT_HEADER',
  '_POOL_HEADER',
  '_MMVAD_SHORT',
  '_LDR_DATA_TABLE_ENTRY',
  '_KDDEBUGGER_DATA64',
  '_OBJECT_TYPE',
  '_ETHREAD',
  '_KTHREAD',
  '_KAPC',
  '_HANDLE_TABLE_ENTRY',
  '_TOKEN',
  '_SID_AND_ATTRIBUTES',
  '_MMVAD',
  '_KLDR_DATA_TABLE_ENTRY',
  '_FILE_OBJECT',
  ...OBJECT_OPTIONAL_HEADERS,
] as const;
export type LayoutSizeKey = (typeof LAYOUT_SIZES)[number];

/** Kernel globals the analyzer reads (RVAs from the kernel base). */
export const LAYOUT_SYMBOLS = [
  'PsActiveProcessHead',
  'PsLoadedModuleList',
  'KdDebuggerDataBlock',
  'PsInitialSystemProcess',
  'ObHeaderCookie',
  'ObTypeIndexTable',
  'PspCidTable',
  'NtBuildNumber',
  'MmPfnDatabase',
  'KiWaitNever',
  'KiWaitAlways',
  'ObpRootDirectoryObject',
] as const;
export type LayoutSymbolKey = (typeof LAYOUT_SYMBOLS)[number];

/** A field's place: byte offset from the start of its outer struct, size, and bit range for bitfields. */
export interface FieldPlace {
  readonly offset: number;
  readonly size: number;
  readonly bitPosition?: number;
  readonly bitLength?: number;
}

export type LayoutSource =
  | { kind: 'isf'; path: string }
  | { kind: 'pdb'; path: string }
  | { kind: 'builtin'; key: string; exact: boolean }
  | { kind: 'inferred'; method: string };

export interface KernelLayout {
  /** Kernel PDB identity when known (GUID upper-case hex, no dashes; age as in the RSDS record). */
  readonly pdb?: { name: string; guid: string; age: number };
  /** OS build number when known (e.g. 19041). */
  readonly build?: number;
  /** ntoskrnl file version when known (e.g. 10.0.19041.804). */
  readonly version?: string;
  readonly source: LayoutSource;
  /** Field places; absent keys mean the build has no such field. */
  readonly fields: Partial<Record<LayoutFieldKey, FieldPlace>>;
  readonly sizes: Partial<Record<LayoutSizeKey, number>>;
  /** Symbol RVAs; only present when the layout comes from this exact kernel's symbols. */
  readonly symbols: Partial<Record<LayoutSymbolKey, number>>;
  /** Field keys whose values were inferred from the data rather than read from symbols. */
  readonly inferred?: readonly LayoutFieldKey[];
}

/** Extracts the analyzer's layout from ISF types (ISF files and converted PDBs alike). */
export function layoutFromIsf(types: IsfTypes, source: LayoutSource, build?: number): KernelLayout {
  const fields: Partial<Record<LayoutFieldKey, FieldPlace>> = {};
  for (const [key, alternatives] of Object.entries(LAYOUT_FIELDS) as [LayoutFieldKey, readonly (readonly [string, string])[]][]) {
    for (const [struct, path] of alternatives) {
      const loc = types.field(struct, path);
      if (!loc) continue;
      const place: FieldPlace =
        loc.bitPosition === undefined
          ? { offset: loc.offset, size: loc.size }
          : { offset: loc.offset, size: loc.size, bitPosition: loc.bitPosition, bitLength: loc.bitLength };
      fields[key] = place;
      break;
    }
  }
  const sizes: Partial<Record<LayoutSizeKey, number>> = {};
  for (const s of LAYOUT_SIZES) {
    const size = types.structSize(s);
    if (size !== undefined) sizes[s] = size;
  }
  const symbols: Partial<Record<LayoutSymbolKey, number>> = {};
  for (const s of LAYOUT_SYMBOLS) {
    const rva = types.symbolRva(s);
    if (rva !== undefined) symbols[s] = rva;
  }
  const id = types.identity;
  return {
    pdb: id ? { name: id.database, guid: id.GUID.toUpperCase(), age: id.age } : undefined,
    build,
    source,
    fields,
    sizes,
    symbols,
  };
}

/** A value the analyzer assumes where a layout lacks it; `source` says where the value comes from. */
export interface AssumedPlace extends FieldPlace {
  readonly source: string;
}

/**
 * Assumed field places: NOT read from symbols. Used only where the layout has no such field (a layout
 * inferred from the data, an ISF without the type). x64, Windows 10/11; each value is the one every
 * kernel of the built-in table (213 JPCERTCC ISFs) and the seven ISFs in ../shared/data/isf carry,
 * except POOL_HEADER.BlockSize, which is a bitfield over the first ULONG on the oldest builds (the
 * table carries that build's place; this fallback is the 2-byte form of every later build).
 */
export const ASSUMED_FIELDS = {
  /** _POOL_HEADER: PreviousSize, PoolIndex, BlockSize, PoolType (1 byte each), then the 4-byte tag. */
  'POOL_HEADER.PoolTag': { offset: 4, size: 4, source: '_POOL_HEADER.PoolTag, x64 Windows 10/11 (all table kernels)' },
  'POOL_HEADER.BlockSize': { offset: 2, size: 2, bitPosition: 0, bitLength: 8, source: '_POOL_HEADER.BlockSize, x64 Windows 10 1607+ (table kernels)' },
  /** _OBJECT_HEADER: PointerCount and HandleCount (LONG_PTR each) open the header. */
  'OBJECT_HEADER.PointerCount': { offset: 0, size: 8, source: '_OBJECT_HEADER.PointerCount, x64 (all table kernels)' },
  'OBJECT_HEADER.HandleCount': { offset: 8, size: 8, source: '_OBJECT_HEADER.HandleCount, x64 (all table kernels)' },
  'OBJECT_HEADER.TypeIndex': { offset: 0x18, size: 1, source: '_OBJECT_HEADER.TypeIndex, x64 Windows 7+ (all table kernels)' },
  'OBJECT_HEADER.InfoMask': { offset: 0x1a, size: 1, source: '_OBJECT_HEADER.InfoMask, x64 Windows 7+ (all table kernels)' },
  'OBJECT_HEADER.Body': { offset: 0x30, size: 8, source: '_OBJECT_HEADER.Body, x64 Windows 7+ (all table kernels)' },
  /** Read by kernel discovery before any layout is chosen (PsLoadedModuleList's first entry is ntoskrnl). */
  'LDR_DATA_TABLE_ENTRY.DllBase': { offset: 0x30, size: 8, source: '_LDR_DATA_TABLE_ENTRY.DllBase, x64 (all table kernels)' },
} as const satisfies { readonly [K in LayoutFieldKey]?: AssumedPlace };
export type AssumedFieldKey = keyof typeof ASSUMED_FIELDS;

/** Assumed structure sizes (bytes), NOT read from symbols: used where the layout has no size. */
export const ASSUMED_SIZES = {
  /** _POOL_HEADER is 16 bytes on x64 (all table kernels). */
  _POOL_HEADER: 16,
  /** _OBJECT_HEADER is 0x38 bytes on x64 Windows 7+ (all table kernels), the last 8 being Body. */
  _OBJECT_HEADER: 0x38,
} as const satisfies { readonly [K in LayoutSizeKey]?: number };

/**
 * x64 pool granularity, assumed (not in any symbol file): BlockSize counts 16-byte units and pool
 * blocks (so their POOL_HEADERs) start on 16-byte boundaries (Windows Internals, 7th ed., ch. 5).
 */
export const ASSUMED_POOL_GRANULARITY = 16;

/** The optional OBJECT_HEADER_* blocks, in InfoMask bit order (bit 0 creator … bit 7 padding). */
export const OBJECT_INFO_SIZE_KEYS: readonly LayoutSizeKey[] = OBJECT_OPTIONAL_HEADERS;

/**
 * Sizes of the optional OBJECT_HEADER_* blocks selected by InfoMask bits 0..7, assumed (not read
 * from symbols) where a layout lacks them: CREATOR_INFO 0x20, NAME_INFO 0x20, HANDLE_INFO 0x10,
 * QUOTA_INFO 0x20, PROCESS_INFO 0x10, AUDIT_INFO 0x10, EXTENDED_INFO 0x10, PADDING_INFO 4 — the
 * struct sizes in all seven ISFs of ../shared/data/isf (x64 Windows 10/11); the kernel's
 * ObpInfoMaskToOffset table is built from them.
 */
export const ASSUMED_OBJECT_INFO_SIZES: readonly number[] = [0x20, 0x20, 0x10, 0x20, 0x10, 0x10, 0x10, 0x04];

/** The optional-header sizes by InfoMask bit: the layout's, else the assumed ones. */
export function objectInfoSizes(layout: KernelLayout): readonly number[] {
  return OBJECT_INFO_SIZE_KEYS.map((k, bit) => layout.sizes[k] ?? ASSUMED_OBJECT_INFO_SIZES[bit]!);
}

/** A field's place from the layout, else the assumed one; `assumed` says which. */
export function fieldOrAssumed(layout: KernelLayout, key: AssumedFieldKey): FieldPlace & { readonly assumed: boolean } {
  const place = layout.fields[key];
  if (place) return { ...place, assumed: false };
  const { source: _source, ...a } = ASSUMED_FIELDS[key] as AssumedPlace;
  return { ...a, assumed: true };
}

/** A structure's size from the layout, else the assumed one. */
export function sizeOrAssumed(layout: KernelLayout, key: keyof typeof ASSUMED_SIZES): number {
  return layout.sizes[key] ?? ASSUMED_SIZES[key];
}

/** Which secure-process marker a layout offers: SecureState (17763+), SecurePid (14393), or none. */
export function secureMarker(layout: KernelLayout): 'SecureState' | 'SecurePid' | undefined {
  if (layout.fields['KPROCESS.SecureState']) return 'SecureState';
  if (layout.fields['KPROCESS.SecurePid']) return 'SecurePid';
  return undefined;
}
