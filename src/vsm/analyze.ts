// The analysis: list walk → pool scan → merge by EPROCESS address → secure/trustlet/protection →
// isolation of secure pages (against an ordinary-process baseline) → posture → findings, with every
// shortfall (dump nature, missing ranges, caps, broken list, unreadable fields) marked as partial.
// Each step is a function in ./steps/ with typed input and output; this file only wires them.
import type { Dump, DumpFormat, PhysicalMemory, VirtualMemory } from '../dump/types.ts';
import { X64VirtualMemory } from '../dump/x64.ts';
import { UnsupportedError } from '../errors.ts';
import { log } from '../log.ts';
import { discoverKernel, observedRvas } from '../ntos/kernel.ts';
import { resolveKernelLayout, type ResolveOptions } from '../ntos/symbols.ts';
import type { KernelLayout } from '../ntos/layout.ts';
import { hex } from '../dump/numbers.ts';
import { isolateSecure, measureBaseline } from './steps/isolate.ts';
import { walkListStep } from './steps/list.ts';
import { mergeProcesses } from './steps/merge.ts';
import { partialMark } from './steps/partial.ts';
import { processRecords } from './steps/records.ts';
import { chooseTypeIndexKey, knownObjects, scanStep } from './steps/scan.ts';
import { detailsStep } from './steps/details.ts';
import { withContext } from './finding-context.ts';
import { masqueradeFindings } from './masquerade.ts';
import { systemStep } from './steps/system.ts';
import { internalsStep, type InternalsCaps } from './steps/internals.ts';
import { NO_NOTES } from './steps/notes.ts';
import { tamperingStep } from './steps/tampering.ts';
import { workAhead } from './steps/ahead.ts';
import type { Analysis, Finding, KernelInfo, ProcessRecord, Severity } from './types.ts';

/** The kernel as discovery found it: its address space, layout and anchors. */
export interface KernelContext {
  readonly vm: VirtualMemory;
  readonly layout: KernelLayout;
  readonly base: bigint | null;
  readonly psActiveProcessHead: bigint | null;
  /** What Analysis.kernel reports. */
  readonly info: KernelInfo;
}

/** The parts of a Dump the analysis reads (a whole Dump fits). */
export interface EvidenceView {
  readonly format: DumpFormat;
  readonly formatName: string;
  readonly physical: PhysicalMemory;
  readonly partialByNature: boolean;
  readonly partialReasons: readonly string[];
}

export interface AnalyzeOptions {
  /** Pool-scan physical memory (default true). */
  readonly scan?: boolean;
  readonly maxListEntries?: number;
  readonly maxScanHits?: number;
  /** Ordinary processes sampled for the isolation baseline. */
  readonly baselineProcesses?: number;
  /** Pages read per baseline process. */
  readonly baselinePagesPerProcess?: number;
  /** Whole-analysis isolation work bound (default ISOLATION_WORK_BUDGET); reported in capsHit when reached. */
  readonly isolationWorkBudget?: number;
  /** Progress of the physical scan. */
  readonly onScanProgress?: (done: number, total: number) => void;
  /** Builds a process address space (default: X64VirtualMemory over the dump's physical memory). */
  readonly vmForDtb?: (dtb: number) => VirtualMemory;
  /** Walk each process's threads, APCs, handles, token, VADs and flags, and the loaded drivers (default true). */
  readonly internals?: boolean;
  /** Bounds of those walks (per process; APCs per queue). */
  readonly internalsCaps?: InternalsCaps;
}

export { DEFAULT_BASELINE_PAGES, DEFAULT_BASELINE_PROCESSES } from './steps/isolate.ts';

/**
 * The analysis as named steps over typed data: list walk → type-index key → scan → merge →
 * per-process records → isolation → posture → partial mark. Each step returns its data and its
 * notes (findings from its rule table, partial reasons, caps hit); they are gathered in step order.
 */
export function analyzeKernel(ev: EvidenceView, k: KernelContext, opts: AnalyzeOptions = {}): Analysis {
  const { layout, vm } = k;
  const pm = ev.physical;
  const vmForDtb = opts.vmForDtb ?? ((dtb: number) => new X64VirtualMemory(pm, dtb));
  const natureReasons = ev.partialByNature && ev.partialReasons.length === 0 ? [`The evidence (${ev.formatName}) holds only part of memory by nature.`] : [];

  const listed = walkListStep({ vm, layout, head: k.psActiveProcessHead, maxEntries: opts.maxListEntries, vmForDtb });
  const { list } = listed;
  const typeIndex = chooseTypeIndexKey({ vm, layout, base: k.base, list });
  // What the steps after the scan read, less their drafts: the same inputs for the work done ahead.
  const baselineIn = { pm, vmForDtb, maxProcesses: opts.baselineProcesses, pagesPerProcess: opts.baselinePagesPerProcess };
  const isolationIn = { vm, layout, pm, vmForDtb, workBudget: opts.isolationWorkBudget };
  const detailsIn = { vm, layout, base: k.base, build: k.info.build, vmForDtb };
  const internalsIn =
    opts.internals === false ? undefined : { vm, layout, base: k.base, psLoadedModuleList: k.info.psLoadedModuleList !== null ? BigInt(k.info.psLoadedModuleList) : null, vmForDtb, caps: opts.internalsCaps };
  const scan = opts.scan !== false;
  const ahead = scan ? workAhead({ list, baseline: baselineIn, isolation: isolationIn, details: detailsIn, internals: internalsIn }) : undefined;
  const scanned = scanStep({ pm, vm, layout, typeIndex, vmForDtb, ...knownObjects(vm, layout, list), enabled: scan, maxHits: opts.maxScanHits, onProgress: opts.onScanProgress, idle: ahead?.runOne });
  const merged = mergeProcesses(list?.entries ?? [], scanned.hits);
  const records = processRecords(merged, list);
  const base = measureBaseline({ drafts: records.drafts, ...baselineIn, ahead });
  const isolated = isolateSecure({ drafts: records.drafts, ...isolationIn, baseline: base.baseline, ahead });
  records.drafts.forEach((d, i) => {
    const iso = isolated.isolation.get(i);
    if (iso) d.rec.isolation = iso;
  });
  const details = detailsStep({ drafts: records.drafts, ...detailsIn, ahead });
  const internals = internalsIn ? internalsStep({ drafts: records.drafts, ...internalsIn, ahead }) : undefined;
  if (ahead) log().debug({ jobs: ahead.ran, used: ahead.used }, 'work done ahead while the hash ran');
  const processes = records.drafts.map((d) => d.rec as ProcessRecord);
  const tampering = internals ? tamperingStep({ processes, peHeaders: internals.peHeaders, kernelImage: internals.kernelImage }) : NO_NOTES;
  const system = systemStep({ processes, format: ev.format, formatName: ev.formatName, pm, baseline: base.baseline });

  const steps = [listed, scanned, records, isolated, details, ...(internals ? [internals] : []), tampering, system];
  const capsHit = steps.flatMap((s) => s.capsHit);
  const partial = partialMark({
    format: ev.format,
    partialByNature: ev.partialByNature,
    pm,
    vm,
    list,
    maxAbsentPfn: Math.max(base.maxAbsentPfn, isolated.maxAbsentPfn),
    capsHit,
    reasons: [...ev.partialReasons, ...natureReasons, ...steps.flatMap((s) => s.reasons)],
  });

  return {
    kernel: k.info,
    host: details.host,
    processes,
    findings: withContext(sortFindings([...steps.flatMap((s) => s.findings), ...masqueradeFindings(processes)]), processes),
    vsm: { verdict: system.verdict, reason: system.reason, posture: system.posture, baseline: base.baseline },
    partial,
    capsHit,
    stats: { listed: list?.entries.length ?? 0, scanned: scanned.hits.length, scanHits: scanned.candidates, pagesScanned: scanned.pagesScanned },
    ...(internals ? { modules: internals.modules } : {}),
  };
}

const RANK: Record<Severity, number> = { critical: 0, high: 1, medium: 2, low: 3, info: 4 };
function sortFindings(f: Finding[]): Finding[] {
  return f.map((x, i) => [x, i] as const).sort((a, b) => RANK[a[0].severity] - RANK[b[0].severity] || a[1] - b[1]).map(([x]) => x);
}

export interface AnalyzeDumpOptions extends AnalyzeOptions {
  /** Where symbols may come from (--symbols, --symbol-server, …). */
  readonly symbols?: ResolveOptions;
}

/**
 * Analyzes an opened dump: kernel discovery → symbols → analyzeKernel. Throws UnsupportedError for
 * evidence without physical memory (triage dumps: exit 3), SymbolsNeededError when no layout fits
 * (exit 4), BadInputError when no kernel is found (exit 2).
 */
export async function analyzeDump(dump: Dump, opts: AnalyzeDumpOptions = {}): Promise<Analysis> {
  if (!dump.physical) {
    throw new UnsupportedError(
      `${dump.formatName} holds no physical memory (only the crashing thread's context, stack and driver list): there are no processes to walk or scan and no pages to check; use \`vsm-forensics info\` to see what it holds`,
      'analyze.no-physical-memory',
    );
  }
  const found = discoverKernel(dump);
  for (const p of found.problems) log().debug({ problem: p }, 'kernel discovery');
  if (!found.vm) throw new UnsupportedError(`${dump.formatName}: no kernel address space could be built`, 'analyze.no-kernel-vm');
  // Symbols in the documented order; for a kernel no source knows, offsets inferred from the data.
  const resolved = await resolveKernelLayout(found, { ...opts.symbols, observedRvas: observedRvas(found) });
  const k = resolved.kernel;
  const layout = resolved.layout;
  const inferredReasons =
    layout.source.kind === 'inferred'
      ? [
          `No symbols for this kernel: ${Object.keys(layout.fields).length} structure offsets were inferred from the data (${(layout.inferred ?? []).join(', ') || 'see kernel.symbolsSource'}).`,
          ...(resolved.inference?.refused ?? []).map((r) => `Not inferred: ${r}.`),
        ]
      : [];
  const info: KernelInfo = {
    base: k.kernelBase !== undefined ? hex(k.kernelBase) : null,
    build: k.build ?? layout.build ?? null,
    dtb: hex(k.dtb),
    psActiveProcessHead: k.psActiveProcessHead !== undefined ? hex(k.psActiveProcessHead) : null,
    psLoadedModuleList: k.psLoadedModuleList !== undefined ? hex(k.psLoadedModuleList) : null,
    kdDebuggerDataBlock: k.kdbg !== undefined ? hex(k.kdbg) : null,
    pdb: k.pdb ? { name: k.pdb.name, guid: k.pdb.guid, age: k.pdb.age } : layout.pdb ?? null,
    symbolsSource: resolved.source,
    discovery: k.method,
  };
  const ev: EvidenceView = { format: dump.format, formatName: dump.formatName, physical: dump.physical, partialByNature: dump.partialByNature, partialReasons: [...dump.partialReasons, ...inferredReasons] };
  // Inexact symbols (same build, another revision) are named in kernel.symbolsSource.
  return analyzeKernel(ev, { vm: found.vm, layout, base: k.kernelBase ?? null, psActiveProcessHead: k.psActiveProcessHead ?? null, info }, opts);
}
