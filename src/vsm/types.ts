// What an analysis finds, in JSON-ready values: 64-bit addresses as "0x…" strings, times as
// ISO-8601 UTC strings (null when unset), strings from the dump as DumpString. The reports layer
// wraps this in the versioned report model; renderers never touch memory.

import type { ExtendedInfo } from '../ntos/extended-info.ts';

/** "0x" + lower-case hex. */
export type Hex = string;

/** A string read from the evidence: `text` is safe Unicode (undecodable bytes escaped as \xNN); `rawHex` keeps the bytes where they differ. */
export interface DumpString {
  readonly text: string;
  readonly rawHex?: string;
}

export type Severity = 'info' | 'low' | 'medium' | 'high' | 'critical';
export const SEVERITIES: readonly Severity[] = ['info', 'low', 'medium', 'high', 'critical'];

/** A MITRE ATT&CK technique (and sub-technique) a finding's evidence shows; see src/vsm/attack.ts. */
export interface AttackMapping {
  /** E.g. 'TA0006'. */
  readonly tacticId: string;
  /** E.g. 'Credential Access'. */
  readonly tacticName: string;
  /** E.g. 'T1003'. */
  readonly techniqueId: string;
  readonly techniqueName: string;
  /** E.g. 'T1003.001'. */
  readonly subtechniqueId?: string;
  readonly subtechniqueName?: string;
}

export interface Finding {
  /** Stable rule id, e.g. `vsm.trustlet-pages-readable`, `ntos.process-unlinked`, `ntos.list-cycle`. */
  readonly rule: string;
  /** Short human title of the rule. */
  readonly title: string;
  readonly severity: Severity;
  /** One or two sentences; dump strings inside are already plain text (renderers escape). */
  readonly message: string;
  /** Pointers at the evidence: EPROCESS address, PID, page counts, sample addresses. */
  readonly evidence: {
    readonly pid?: number;
    readonly eprocessVa?: Hex;
    readonly eprocessPa?: Hex;
    readonly address?: Hex;
    readonly pages?: Partial<IsolationCounts>;
    readonly sampleAddresses?: readonly Hex[];
    readonly [k: string]: unknown;
  };
  /** The ATT&CK technique the evidence shows, when it shows one (posture and damage findings have none). */
  readonly attack?: AttackMapping;
  /** The process the finding concerns and its parent (issue 14), copied so a finding reads alone. */
  readonly context?: FindingContext;
  /** What it means and what to check next (short; docs/analyze.md holds the long form). */
  readonly guidance?: { readonly meaning: string; readonly next: string };
}

/** A process as a finding names it: full name, drive-letter path where known, command line, user. */
export interface FindingProcess {
  readonly pid: number | null;
  readonly name: string | null;
  readonly path: string | null;
  readonly commandLine: string | null;
  /** DOMAIN\\name where known. */
  readonly user: string | null;
  readonly createTime: string | null;
}

export interface FindingContext {
  readonly process: FindingProcess | null;
  readonly parent: FindingProcess | null;
}

export interface Protection {
  /** The raw PS_PROTECTION byte. */
  readonly raw: number;
  /** 'None' | 'ProtectedLight' | 'Protected' | 'Max' (type 3) | 'Unknown(n)'. */
  readonly type: string;
  /** E.g. 'PsProtectedSignerLsa', 'PsProtectedSignerNone'. */
  readonly signer: string;
  readonly audit: boolean;
  /** Windows' own notation, e.g. 'PsProtectedSignerLsa-Light', 'PsProtectedSignerWinTcb'; 'None' when unprotected. */
  readonly text: string;
}

export interface IsolationCounts {
  readonly pagesMapped: number;
  readonly pagesNotResident: number;
  readonly pagesAbsent: number;
  readonly pagesUnreadable: number;
  readonly pagesReadable: number;
}

export type IsolationVerdict = 'isolated' | 'exposed' | 'indeterminate';

export interface Isolation extends IsolationCounts {
  readonly verdict: IsolationVerdict;
  /** Why indeterminate, or a short reason for the verdict. */
  readonly reason: string;
  /** Up to a few virtual addresses of readable pages (never their contents). */
  readonly sampleReadable: readonly Hex[];
  /** True when a cap or missing table pages cut the walk short. */
  readonly partial: boolean;
  /** Page-table pages that were absent from the dump during the walk. */
  readonly tablePagesAbsent: number;
}

export type ProcessSource = 'list' | 'scan';

export interface ProcessRecord {
  readonly pid: number;
  /** InheritedFromUniqueProcessId; null when unknown (unreadable, or a layout without the field): never a sentinel. */
  readonly ppid: number | null;
  readonly name: DumpString;
  /** Full image path (SeAuditProcessCreationInfo or PEB), null where unreadable. */
  readonly imagePath: DumpString | null;
  readonly createTime: string | null;
  readonly exitTime: string | null;
  readonly sessionId: number | null;
  readonly peb: Hex | null;
  readonly dtb: Hex;
  readonly eprocess: { readonly va: Hex; readonly pa: Hex | null };
  readonly wow64: boolean;
  readonly sources: readonly ProcessSource[];
  /** Exited (ExitTime set or the object is being deleted). */
  readonly terminated: boolean;
  /** Seen by the scan, not exited, and not on the active list. */
  readonly unlinked: boolean;
  /** Null when the PS_PROTECTION byte could not be read (or the layout lacks it): unknown, not 'None'. */
  readonly protection: Protection | null;
  /** The seed's IsSecureProcess: 17763+ SecureState ≠ 0; 14393 SecurePid ≠ 0; null when the marker cannot be read. */
  readonly secure: boolean | null;
  /** Trustlet id and name for secure processes, null otherwise. */
  readonly trustlet: { readonly id: number | null; readonly name: string | null } | null;
  /** Present for secure processes (and baseline samples when requested). */
  readonly isolation?: Isolation;
  /** Fields that could not be read (e.g. 'imagePath', 'createTime'). */
  readonly unreadableFields?: readonly string[];
  // Issue 14: the PEB side (never read for secure processes: their user pages are VTL1's). Null = unknown; see detailReasons.
  /** RTL_USER_PROCESS_PARAMETERS.CommandLine. */
  readonly commandLine?: DumpString | null;
  /** RTL_USER_PROCESS_PARAMETERS.CurrentDirectory.DosPath. */
  readonly currentDirectory?: DumpString | null;
  /** The kept environment variables (src/ntos/environment.ts KEPT_ENVIRONMENT_VARIABLES), never the whole block. */
  readonly environment?: Readonly<Record<string, string>> | null;
  /** PEB loader list in load order (the image first); null when unreadable. */
  readonly dlls?: readonly LoadedDll[] | null;
  /** The image path with its drive letter (C:\…), null when no mapping was possible (imagePath keeps the NT path). */
  readonly imagePathDos?: string | null;
  /** Where imagePathDos came from: the kernel path mapped through \GLOBAL?? links, or the PEB's ImagePathName. */
  readonly imagePathDosSource?: 'symbolic-link' | 'peb' | null;
  /** The account the process ran as, from its environment (USERNAME, USERDOMAIN). */
  readonly user?: ProcessUser | null;
  /** Why a PEB-side field is null, by field name. */
  readonly detailReasons?: Readonly<Record<string, string>>;
  // Process internals (absent when the analysis ran with `internals: false`; null where unknown).
  /** What NtQueryInformationProcess(ProcessBasicInformation) with the extended structure would answer. */
  readonly extendedInfo?: ExtendedInfo;
  /** EPROCESS.ExitStatus; null when unreadable or the layout lacks it. */
  readonly exitStatus?: number | null;
  /** KPROCESS.BasePriority; null when unreadable. */
  readonly basePriority?: number | null;
  /** EPROCESS.DebugPort: the DEBUG_OBJECT address when set, null when not set or unreadable (then in unreadableFields). */
  readonly debugPort?: Hex | null;
  /** ThreadListHead walk; null when the list could not be read at all. */
  readonly threads?: readonly ThreadRecord[] | null;
  /** ObjectTable walk; null when the process has no table (exited) or it could not be read. */
  readonly handles?: readonly HandleRecord[] | null;
  readonly token?: TokenRecord | null;
  /** VAD tree; null when it could not be read. */
  readonly vads?: readonly VadRecord[] | null;
}

/** The nine PROCESS_EXTENDED_BASIC_INFORMATION flags (src/ntos/extended-info.ts composes them). */
export { EXTENDED_FLAG_NAMES, type ExtendedFlagName, type ExtendedInfo } from '../ntos/extended-info.ts';

export interface ApcRecord {
  readonly mode: 'kernel' | 'user';
  readonly kapc: Hex;
  readonly kernelRoutine: Hex | null;
  readonly normalRoutine: Hex | null;
  /** The image or driver the routine that runs lies in (NormalRoutine for user APCs, else KernelRoutine); null: none. */
  readonly module: string | null;
}

export interface ThreadRecord {
  readonly tid: number;
  readonly ethread: Hex;
  readonly startAddress: Hex | null;
  readonly win32StartAddress: Hex | null;
  /** The mapped image or driver Win32StartAddress lies in; null: none (or no Win32StartAddress). */
  readonly startModule: string | null;
  readonly createTime: string | null;
  readonly exitTime: string | null;
  readonly state: string | null;
  readonly apcs: readonly ApcRecord[];
}

export interface HandleRecord {
  readonly handle: number;
  readonly type: string | null;
  readonly grantedAccess: number;
  /** Decoded rights for Process and Thread handles (winnt.h names). */
  readonly rights: readonly string[];
  /** Object body address. */
  readonly object: Hex;
  /** For Process and Thread objects: the process (and thread) the handle opens. */
  readonly target: { readonly pid: number | null; readonly tid: number | null; readonly name: string | null } | null;
  /** Object name (File, Key, Section, named objects) where readable. */
  readonly name: string | null;
}

export interface TokenRecord {
  /** Null when the user SID is unreadable. */
  readonly user: { readonly sid: string; readonly name: string | null } | null;
  readonly integrity: { readonly sid: string; readonly level: string } | null;
  readonly groups: readonly { readonly sid: string; readonly attributes: number }[];
  readonly privileges: readonly { readonly name: string; readonly present: boolean; readonly enabled: boolean; readonly enabledByDefault: boolean }[];
  /** App container / packaged app identity. */
  readonly package: { readonly sid: string } | null;
}

export interface VadRecord {
  readonly start: Hex;
  /** Last byte (inclusive), as Volatility prints it. */
  readonly end: Hex;
  /** E.g. 'PAGE_EXECUTE_READWRITE'; null when the VAD flags are unreadable. */
  readonly protection: string | null;
  /** Private (allocated) memory rather than a mapped view; null when unreadable. */
  readonly private: boolean | null;
  /** Mapped file (image or data) where readable. */
  readonly file: string | null;
  /** Committed pages; null when unknown. */
  readonly commit: number | null;
}

/** A loaded kernel module (PsLoadedModuleList). */
export interface ModuleRecord {
  /** DllBase; null when unreadable. */
  readonly base: Hex | null;
  /** SizeOfImage; null when unreadable. */
  readonly size: number | null;
  readonly name: string | null;
  readonly path: string | null;
}

export interface LoadedDll {
  readonly base: Hex;
  readonly size: number | null;
  readonly path: string | null;
}

export interface ProcessUser {
  readonly name: string;
  readonly domain: string | null;
}

/** Who the imaged machine was (issue 14): from process environments, KUSER_SHARED_DATA and the kernel. */
export interface HostIdentity {
  /** COMPUTERNAME agreed by the most process environments (ties: the earliest-created process). */
  readonly computerName: string | null;
  /** The machine's domain or workgroup: USERDOMAIN of processes running as the machine account (NAME$), else null. */
  readonly domain: string | null;
  /** USERDNSDOMAIN where any environment has it. */
  readonly dnsDomain: string | null;
  /** One sentence: which processes the name came from. */
  readonly computerNameSource: string | null;
  /** Other COMPUTERNAME values seen (a disagreement is reported, never hidden). */
  readonly conflicts: readonly { readonly value: string; readonly pids: readonly number[] }[];
  readonly os: {
    readonly build: number | null;
    /** "10.0" from KUSER_SHARED_DATA.NtMajorVersion/NtMinorVersion. */
    readonly version: string | null;
    /** 'workstation' | 'domain-controller' | 'server' (KUSER_SHARED_DATA.NtProductType). */
    readonly productType: string | null;
    /** E.g. "Windows 10", "Windows Server 2019" from the build and product type. */
    readonly name: string | null;
  };
  /** SystemTime − InterruptTime from KUSER_SHARED_DATA (sleep not counted). */
  readonly bootTime: string | null;
  /** When the memory was captured: KUSER_SHARED_DATA.SystemTime, else the dump header's time. */
  readonly dumpTime: string | null;
  readonly dumpTimeSource: 'kuser-shared-data' | 'dump-header' | null;
  /** Drive letters read from \GLOBAL?? (letter → NT device). */
  readonly drives: readonly { readonly letter: string; readonly target: string }[];
  /** Why a field is null or partial. */
  readonly reasons: readonly string[];
}

export interface PartialMark {
  readonly partial: boolean;
  /** Each reason in a sentence: kernel-only dump, truncated file, walk cap hit… */
  readonly reasons: readonly string[];
  /** Physical ranges the format promised but the file lacks. */
  readonly missingRanges: readonly { readonly start: Hex; readonly pages: number; readonly reason: string }[];
}

export type VsmVerdict =
  /** VSM in use and every trustlet's pages unreadable in the dump. */
  | 'isolated'
  /** At least one trustlet page is readable. */
  | 'exposed'
  /** Cannot tell (kernel-only dump, damaged tables, baseline also unreadable…). */
  | 'indeterminate'
  /** No secure processes: VSM/Credential Guard not running. */
  | 'not-running';

export interface Posture {
  readonly secureProcesses: number;
  readonly secureSystemPresent: boolean;
  readonly credentialGuard: boolean;
  /** 'vtl0-crash-dump' | 'raw-acquisition' | 'hypervisor-capture' | 'unknown'. */
  readonly dumpOrigin: string;
  /** One sentence of evidence per conclusion. */
  readonly evidence: readonly string[];
}

export interface KernelInfo {
  readonly base: Hex | null;
  readonly build: number | null;
  readonly dtb: Hex;
  readonly psActiveProcessHead: Hex | null;
  readonly psLoadedModuleList: Hex | null;
  readonly kdDebuggerDataBlock: Hex | null;
  readonly pdb: { readonly name: string; readonly guid: string; readonly age: number } | null;
  /** Where the layout came from: 'isf:/path', 'pdb:/path', 'builtin:GUID-age', 'builtin-build:19041', 'inferred'. */
  readonly symbolsSource: string;
  /** How the kernel was found: 'crash-header', 'kdbg', 'rsds-scan', … */
  readonly discovery: string;
}

export interface Analysis {
  readonly kernel: KernelInfo;
  /** The imaged machine's identity (issue 14); absent only in analyses made before it existed. */
  readonly host?: HostIdentity;
  readonly processes: readonly ProcessRecord[];
  readonly findings: readonly Finding[];
  readonly vsm: {
    readonly verdict: VsmVerdict;
    readonly reason: string;
    readonly posture: Posture;
    /** Isolation counts over ordinary processes, for comparison. */
    readonly baseline: IsolationCounts & { readonly processes: number };
  };
  readonly partial: PartialMark;
  /** Caps hit during analysis (list walk, scan hits…), each with its limit. */
  readonly capsHit: readonly { readonly cap: string; readonly limit: number }[];
  readonly stats: { readonly listed: number; readonly scanned: number; readonly scanHits: number; readonly pagesScanned: number };
  /** Loaded kernel modules (drivers); absent with `internals: false`, null when the list could not be walked. */
  readonly modules?: readonly ModuleRecord[] | null;
}
