// The evidence layer stack: file → physical memory (with holes) → x64 virtual memory.
// Analysis above this folder sees only PhysicalMemory and VirtualMemory, never the file.
import type { TriageInfo } from './triage.ts';

export const PAGE_SIZE = 4096;
export const PAGE_SHIFT = 12;

/** A run of present physical pages. */
export interface PhysicalRun {
  /** First physical page number of the run. */
  readonly basePage: number;
  readonly pageCount: number;
}

/** A range of physical memory the format says exists but the file does not hold (truncation, damage). */
export interface MissingRange {
  readonly basePage: number;
  readonly pageCount: number;
  readonly reason: string;
}

/**
 * Physical memory with explicit holes. A page is either present (its bytes are in the evidence)
 * or absent; an absent page is never returned as zeros.
 * Physical addresses and page numbers are plain numbers: x64 physical space is ≤ 2^52.
 */
export interface PhysicalMemory {
  /** One past the highest physical page the evidence describes. */
  readonly pageLimit: number;
  /** Number of present pages. */
  readonly presentPages: number;
  /** Present runs in increasing order. */
  runs(): Iterable<PhysicalRun>;
  /** Ranges the format promised but the file lacks (e.g. a truncated dump); empty when whole. */
  readonly missing: readonly MissingRange[];
  isPresent(pfn: number): boolean;
  /**
   * The 4 KiB page, or undefined when it is absent. The buffer may be shared by a cache: do not
   * modify it. It always holds this page (a cache drops a buffer, it never reuses it for another).
   */
  readPage(pfn: number): Buffer | undefined;
  /**
   * Copies the 4 KiB page into `into` (at least PAGE_SIZE bytes) without keeping it in a cache:
   * for passes that look at each page once. False when the page is absent.
   */
  readPageInto(pfn: number, into: Buffer): boolean;
  /**
   * Reads `length` bytes at `pa`. `data` holds the bytes of present pages; the bytes of absent
   * pages are zero in `data` but listed in `absentPages`, so a caller can never mistake them.
   */
  read(pa: number, length: number): PhysicalRead;
  /**
   * A sequential pass over every present page in large chunks (for hashing and scanning).
   * Calls `visit` with consecutive present pages starting at `basePage`; chunks never span a hole.
   * `data` is only valid during the call (the buffer is reused for the next chunk): copy what you keep.
   * `idle`: where the pass would wait on something else (the evidence pass's hash worker), it runs
   * the caller's queued work instead, one job at a time, until a job is no longer there.
   */
  forEachChunk(visit: (basePage: number, data: Buffer) => void, chunkBytes?: number, idle?: IdleWork): void;
  close(): void;
}

/**
 * Work a reader may run while it would otherwise wait (for the hash worker to free a buffer): runs
 * one queued job and returns true, or returns false when nothing is queued (then the reader waits).
 */
export type IdleWork = () => boolean;

export interface PhysicalRead {
  readonly data: Buffer;
  /** Page numbers within the request that are absent from the evidence. */
  readonly absentPages: readonly number[];
}

/** Why a virtual address has no physical page in the evidence. */
export type TranslationFailure =
  | 'non-canonical'
  /** A paging-structure page (PML4/PDPT/PD/PT) is absent from the dump. */
  | 'table-absent'
  /** An upper-level entry is not present: nothing is mapped there. */
  | 'not-mapped'
  /** Leaf PTE is zero or demand-zero (never touched). */
  | 'demand-zero'
  /** Leaf PTE points at a prototype PTE (shared section). */
  | 'prototype'
  /** Leaf PTE refers to the page file. */
  | 'pagefile'
  /** Leaf entry valid (or transition) but the physical page is not in the dump. */
  | 'page-absent';

export type Translation =
  | {
      readonly ok: true;
      readonly pa: number;
      /** 4 KiB, 2 MiB or 1 GiB. */
      readonly pageSize: number;
      /** True when the leaf was a transition PTE (not valid, but still in RAM at that frame). */
      readonly transition: boolean;
      readonly pte: bigint;
    }
  | {
      readonly ok: false;
      readonly reason: TranslationFailure;
      /** The physical page (for 'page-absent') or table page (for 'table-absent') concerned. */
      readonly pa?: number;
      readonly pte?: bigint;
      /** Paging level at which the walk stopped: 4 = PML4 … 1 = PT. */
      readonly level?: number;
    };

/** One mapped page found by walking a whole address space's page tables. */
export interface MappedPage {
  readonly va: bigint;
  readonly pageSize: number;
  readonly translation: Translation;
}

export interface VirtualMemory {
  readonly dtb: number;
  readonly physical: PhysicalMemory;
  translate(va: bigint): Translation;
  /** Bytes at `va`, or undefined if any page of the range cannot be read from the evidence. */
  read(va: bigint, length: number): Buffer | undefined;
  /**
   * Copies the bytes at `va` into `into` at `at`, with no buffer of its own: false if any page of
   * the range cannot be read (then `into` may hold the pages before it).
   */
  readInto(va: bigint, length: number, into: Buffer, at: number): boolean;
  readU64(va: bigint): bigint | undefined;
  readU32(va: bigint): number | undefined;
  /**
   * Every leaf entry that is not empty within [start, end): present, transition, prototype,
   * page-file and demand-zero-with-protection entries, and the table pages that are absent.
   * Bounded by `maxEntries`; `truncated` says whether the cap was hit.
   */
  walk(start: bigint, end: bigint, maxEntries?: number): { pages: MappedPage[]; truncated: boolean };
}

/** Format of the evidence, detected by content. */
export type DumpFormat =
  | 'crash-full' // DumpType 1
  | 'crash-bitmap' // DumpType 5
  | 'crash-live-kernel' // DumpType 6
  | 'crash-kernel' // DumpType 8 (RDMP)
  | 'crash-kernel-user' // DumpType 9 (RDMP)
  | 'crash-complete' // DumpType 0xA (RDMP)
  | 'crash-triage' // DumpType 4
  | 'raw'
  | 'vmware';

/** Facts from a crash dump header (all addresses as read; VAs as bigint). */
export interface CrashHeaderInfo {
  readonly majorVersion: number;
  readonly minorVersion: number;
  readonly dumpType: number;
  readonly machineImageType: number;
  readonly numberProcessors: number;
  readonly bugCheckCode: number;
  readonly bugCheckParameters: readonly bigint[];
  readonly directoryTableBase: bigint;
  readonly pfnDataBase: bigint;
  readonly psLoadedModuleList: bigint;
  readonly psActiveProcessHead: bigint;
  readonly kdDebuggerDataBlock: bigint;
  /** FILETIME, 0 when not set. */
  readonly systemTime: bigint;
  readonly systemUpTime: bigint;
  readonly comment: string;
  readonly productType: number;
  readonly requiredDumpSpace: bigint;
}

/** An opened piece of evidence. */
export interface Dump {
  readonly path: string;
  readonly fileSize: number;
  readonly format: DumpFormat;
  /** Human-readable name of the format, e.g. "full crash dump (DumpType 1)". */
  readonly formatName: string;
  readonly header?: CrashHeaderInfo;
  /** Physical memory; undefined for formats that hold none (triage dumps). */
  readonly physical?: PhysicalMemory;
  /** True when the format by nature holds only part of memory (kernel, active, triage dumps). */
  readonly partialByNature: boolean;
  /** Why the result is partial: truncation, kernel-only, etc. Empty when whole. */
  readonly partialReasons: readonly string[];
  /** Format-specific facts for `info` (e.g. the triage dump's structure offsets). */
  readonly details: Readonly<Record<string, unknown>>;
  /** Triage dumps (DumpType 4): the parsed triage structures and the virtual memory they saved, read through this dump's open file. */
  readonly triage?: TriageInfo;
  close(): void;
}
