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
  /** At the fixed VA 0xFFFFF780'00000000: the build number, readable without symbols (0x260 in every table kernel). */
  'KUSER_SHARED_DATA.NtBuildNumber': [['_KUSER_SHARED_DATA', 'NtBuildNumber']],
} as const satisfies Record<string, ReadonlyArray<readonly [string, string]>>;

export type LayoutFieldKey = keyof typeof LAYOUT_FIELDS;

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

/** Which secure-process marker a layout offers: SecureState (17763+), SecurePid (14393), or none. */
export function secureMarker(layout: KernelLayout): 'SecureState' | 'SecurePid' | undefined {
  if (layout.fields['KPROCESS.SecureState']) return 'SecureState';
  if (layout.fields['KPROCESS.SecurePid']) return 'SecurePid';
  return undefined;
}
