// Steps 2 and 3: the TypeIndex key the pool scan checks object headers with, what the list walk
// already placed (so the scan need not re-resolve it), and the scan itself.
import type { IdleWork, PhysicalMemory, VirtualMemory } from '../../dump/types.ts';
import { PAGE_SIZE } from '../../dump/types.ts';
import { log } from '../../log.ts';
import type { KernelLayout } from '../../ntos/layout.ts';
import { PARTLY_ABSENT, scanProcesses, typeIndexKeyFromCookie, typeIndexKeyFromKnown, type ScanHit, type TypeIndexCheck } from '../../ntos/pool-scan.ts';
import type { ListWalk } from '../../ntos/process-list.ts';
import { notes, plural, type StepNotes } from './notes.ts';

/** Bytes before an EPROCESS body that its pool and object headers may occupy. */
const HEADERS_BEFORE_BODY = 0x200n;
const PAGE = BigInt(PAGE_SIZE);
/** EPROCESS size assumed when the layout lacks it: one page. */
const DEFAULT_EPROCESS_BYTES = 0x1000;

export interface TypeIndexInput {
  readonly vm: VirtualMemory;
  readonly layout: KernelLayout;
  readonly base: bigint | null;
  readonly list: ListWalk | undefined;
}

/**
 * The kernel's own cookie and type table, else the listed processes. When both exist and disagree,
 * the objects actually on the list win: symbols can be another revision's.
 */
export function chooseTypeIndexKey(inp: TypeIndexInput): TypeIndexCheck {
  const fromCookie = inp.base !== null ? typeIndexKeyFromCookie(inp.vm, inp.layout, inp.base) : undefined;
  const listVas = inp.list?.entries.map((e) => e.va) ?? [];
  const fromList = listVas.length >= 2 ? typeIndexKeyFromKnown(inp.vm, inp.layout, listVas) : undefined;
  if (fromCookie && fromList !== undefined && fromCookie.key !== fromList) log().warn({ cookieKey: fromCookie.key, listKey: fromList }, 'TypeIndex key from ObHeaderCookie disagrees with the listed processes; using the list');
  if (fromList !== undefined) return { kind: 'key', key: fromList, source: 'list' };
  if (fromCookie) return { kind: 'key', key: fromCookie.key, source: 'cookie' };
  return { kind: 'unchecked', reason: 'neither ObHeaderCookie nor listed processes were available' };
}

export interface KnownObjects {
  /** EPROCESS body PA → VA of listed processes. */
  readonly knownVaByPa: ReadonlyMap<number, bigint>;
  /** Physical page → kernel VA for the pages under each listed object and its headers. */
  readonly knownPageVas: ReadonlyMap<number, bigint>;
}

export function knownObjects(vm: VirtualMemory, layout: KernelLayout, list: ListWalk | undefined): KnownObjects {
  const knownVaByPa = new Map<number, bigint>();
  const knownPageVas = new Map<number, bigint>();
  const size = BigInt(layout.sizes._EPROCESS ?? DEFAULT_EPROCESS_BYTES);
  for (const e of list?.entries ?? []) {
    if (e.info.pa !== null) knownVaByPa.set(e.info.pa, e.va);
    for (let va = (e.va - HEADERS_BEFORE_BODY) & ~(PAGE - 1n); va < e.va + size; va += PAGE) {
      const t = vm.translate(va);
      if (t.ok) knownPageVas.set(Math.floor(t.pa / PAGE_SIZE), va);
    }
  }
  return { knownVaByPa, knownPageVas };
}

export interface ScanStepInput extends KnownObjects {
  readonly pm: PhysicalMemory;
  readonly vm: VirtualMemory;
  readonly layout: KernelLayout;
  readonly typeIndex: TypeIndexCheck;
  readonly vmForDtb: (dtb: number) => VirtualMemory;
  readonly enabled: boolean;
  readonly maxHits?: number;
  readonly onProgress?: (done: number, total: number) => void;
  /** Work to run where the scan's read waits for the hash (the reads done ahead). */
  readonly idle?: IdleWork;
}

export interface ScanStep extends StepNotes {
  readonly hits: readonly ScanHit[];
  readonly candidates: number;
  readonly pagesScanned: number;
}

export function scanStep(inp: ScanStepInput): ScanStep {
  if (!inp.enabled) return { hits: [], candidates: 0, pagesScanned: 0, ...notes({}) };
  const r = scanProcesses(inp.pm, inp.layout, {
    kernel: inp.vm,
    vmForDtb: inp.vmForDtb,
    typeIndex: inp.typeIndex,
    knownVaByPa: inp.knownVaByPa,
    knownPageVas: inp.knownPageVas,
    maxHits: inp.maxHits,
    onProgress: inp.onProgress,
    idle: inp.idle,
  });
  const partly = r.stats.rejected[PARTLY_ABSENT] ?? 0;
  if (inp.typeIndex.kind === 'unchecked') log().info({ reason: inp.typeIndex.reason }, 'pool scan ran without the TypeIndex check');
  const reasons = partly > 0 ? [`${partly} pool object${plural(partly)} tagged as a process ${plural(partly, 'are', 'is')} partly absent from the dump and could not be read as ${plural(partly, 'processes', 'a process')}.`] : [];
  return { hits: r.hits, candidates: r.stats.candidates, pagesScanned: r.stats.pagesScanned, ...notes({ capsHit: r.capsHit, reasons }) };
}
