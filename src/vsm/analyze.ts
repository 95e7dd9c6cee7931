// The analysis: list walk → pool scan → merge by EPROCESS address → secure/trustlet/protection →
// isolation of secure pages (against an ordinary-process baseline) → posture → findings, with every
// shortfall (dump nature, missing ranges, caps, broken list, unreadable fields) marked as partial.
import type { Dump, DumpFormat, MissingRange, PhysicalMemory, VirtualMemory } from '../dump/types.ts';
import { PAGE_SIZE } from '../dump/types.ts';
import { X64VirtualMemory } from '../dump/x64.ts';
import { UnsupportedError } from '../errors.ts';
import { log } from '../log.ts';
import { discoverKernel, observedRvas } from '../ntos/kernel.ts';
import { resolveKernelLayout, type ResolveOptions } from '../ntos/symbols.ts';
import type { KernelLayout } from '../ntos/layout.ts';
import { findMarkers, PARTLY_ABSENT, scanProcesses, typeIndexKeyFromCookie, typeIndexKeyFromKnown, type ScanHit, type TypeIndexCheck } from '../ntos/pool-scan.ts';
import { walkProcessList, type ListIssueKind, type ListWalk } from '../ntos/process-list.ts';
import { filetimeToIso, hex, pageTableRoot } from '../dump/numbers.ts';
import { hasExited, isUserPointer, type EprocessInfo } from '../ntos/process.ts';
import { walkVads } from '../ntos/vad.ts';
import { MASQUERADE_NAME, ROOTKIT } from './attack.ts';
import { baselineUsable, classifyUserPages, judgeIsolation, type Baseline } from './isolation.ts';
import { computePosture, systemVerdict } from './posture.ts';
import { decodeProtection } from './protection.ts';
import { judgeSecure } from './secure.ts';
import { SECURE_SYSTEM } from '../ntos/process-names.ts';
import type { Analysis, Finding, KernelInfo, ProcessRecord, ProcessSource, Severity } from './types.ts';

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
  /** Progress of the physical scan. */
  readonly onScanProgress?: (done: number, total: number) => void;
  /** Builds a process address space (default: X64VirtualMemory over the dump's physical memory). */
  readonly vmForDtb?: (dtb: number) => VirtualMemory;
}

export const DEFAULT_BASELINE_PROCESSES = 16;
export const DEFAULT_BASELINE_PAGES = 4096;

/** Marker of the secure kernel's image in memory: the CodeView PDB name of securekernel.exe. */
const SECURE_KERNEL_MARKER = Buffer.from('securekernel.pdb', 'latin1');

interface Merged {
  info: EprocessInfo;
  va: bigint | null;
  pa: number | null;
  sources: Set<ProcessSource>;
  listIndex: number;
}

const LIST_RULES: Record<ListIssueKind, { rule: string; title: string; severity: Severity }> = {
  'head-unreadable': { rule: 'ntos.list-head-unreadable', title: 'Process list head unreadable', severity: 'medium' },
  'link-non-canonical': { rule: 'ntos.list-bad-link', title: 'Process list link is not a kernel address', severity: 'medium' },
  'link-unreadable': { rule: 'ntos.list-unreadable', title: 'Process list entry missing from the dump', severity: 'medium' },
  'link-unmapped': { rule: 'ntos.list-bad-link', title: 'Process list link points at unmapped memory', severity: 'medium' },
  cycle: { rule: 'ntos.list-cycle', title: 'Process list loops without returning to its head', severity: 'medium' },
  'blink-mismatch': { rule: 'ntos.list-blink-mismatch', title: 'Process list back link does not match', severity: 'low' },
  'implausible-entry': { rule: 'ntos.list-bad-link', title: 'Process list link leads to something that is not a process', severity: 'medium' },
  cap: { rule: 'ntos.list-cap', title: 'Process list walk hit its cap', severity: 'low' },
};

export function analyzeKernel(ev: EvidenceView, k: KernelContext, opts: AnalyzeOptions = {}): Analysis {
  const { layout } = k;
  const pm = ev.physical;
  const vmForDtb = opts.vmForDtb ?? ((dtb: number) => new X64VirtualMemory(pm, dtb));
  const findings: Finding[] = [];
  const capsHit: { cap: string; limit: number }[] = [];
  const reasons: string[] = [...ev.partialReasons];
  if (ev.partialByNature && reasons.length === 0) reasons.push(`The evidence (${ev.formatName}) holds only part of memory by nature.`);

  // 1. The active process list.
  let list: ListWalk | undefined;
  if (k.psActiveProcessHead !== null) {
    list = walkProcessList(k.vm, layout, k.psActiveProcessHead, { maxEntries: opts.maxListEntries, vmForDtb });
    const pidAt = new Map(list.entries.map((e) => [e.va, e.info.pid]));
    for (const i of list.issues) {
      const r = LIST_RULES[i.kind];
      const pid = i.from !== null ? pidAt.get(i.from) : undefined;
      findings.push({
        rule: r.rule,
        title: r.title,
        severity: r.severity,
        message: `${i.message}.`,
        evidence: { address: hex(i.address), ...(pid !== undefined ? { pid: Number(pid) } : {}), ...(i.from !== null ? { eprocessVa: hex(i.from) } : {}) },
      });
    }
    if (list.capHit) capsHit.push({ cap: 'list.entries', limit: list.cap });
    if (!list.complete) reasons.push(`The process list is broken (${list.issues.filter((i) => i.kind !== 'blink-mismatch').map((i) => i.kind).join(', ') || 'incomplete'}): ${list.entries.length} entries recovered${list.entries.some((e) => e.direction === 'backward') ? ', some by walking back from the head' : ''}.`);
  } else {
    reasons.push('PsActiveProcessHead is unknown: the process list could not be walked.');
    findings.push({ rule: 'ntos.list-head-unknown', title: 'Process list head unknown', severity: 'medium', message: 'PsActiveProcessHead could not be located; processes come from the pool scan only.', evidence: {} });
  }

  // 2. TypeIndex key for the scan: the kernel's own cookie and type table, else the listed processes.
  let typeIndex: TypeIndexCheck = { kind: 'unchecked', reason: 'neither ObHeaderCookie nor listed processes were available' };
  const fromCookie = k.base !== null ? typeIndexKeyFromCookie(k.vm, layout, k.base) : undefined;
  const listVas = list?.entries.map((e) => e.va) ?? [];
  const fromList = listVas.length >= 2 ? typeIndexKeyFromKnown(k.vm, layout, listVas) : undefined;
  // When both exist and disagree, the objects actually on the list win: symbols can be another revision's.
  if (fromList !== undefined) typeIndex = { kind: 'key', key: fromList, source: 'list' };
  else if (fromCookie) typeIndex = { kind: 'key', key: fromCookie.key, source: 'cookie' };
  if (fromCookie && fromList !== undefined && fromCookie.key !== fromList) log().warn({ cookieKey: fromCookie.key, listKey: fromList }, 'TypeIndex key from ObHeaderCookie disagrees with the listed processes; using the list');

  // 3. Pool scan.
  let hits: readonly ScanHit[] = [];
  let candidates = 0;
  let pagesScanned = 0;
  let secureKernelMarkers: number[] = [];
  const knownVaByPa = new Map<number, bigint>();
  const knownPageVas = new Map<number, bigint>();
  for (const e of list?.entries ?? []) {
    if (e.info.pa !== null) knownVaByPa.set(e.info.pa, e.va);
    // The pages under each listed object and its pool/object headers.
    const first = (e.va - 0x200n) & ~0xfffn;
    for (let va = first; va < e.va + BigInt(layout.sizes._EPROCESS ?? 0x1000); va += 0x1000n) {
      const t = k.vm.translate(va);
      if (t.ok) knownPageVas.set(Math.floor(t.pa / PAGE_SIZE), va);
    }
  }
  if (opts.scan !== false) {
    const r = scanProcesses(pm, layout, { kernel: k.vm, vmForDtb, typeIndex, knownVaByPa, knownPageVas, maxHits: opts.maxScanHits, onProgress: opts.onScanProgress });
    hits = r.hits;
    candidates = r.stats.candidates;
    pagesScanned = r.stats.pagesScanned;
    capsHit.push(...r.capsHit);
    const partly = r.stats.rejected[PARTLY_ABSENT] ?? 0;
    if (partly > 0) reasons.push(`${partly} pool object${partly === 1 ? '' : 's'} tagged as a process ${partly === 1 ? 'is' : 'are'} partly absent from the dump and could not be read as ${partly === 1 ? 'a process' : 'processes'}.`);
    if (typeIndex.kind === 'unchecked') log().info({ reason: typeIndex.reason }, 'pool scan ran without the TypeIndex check');
  }

  // 4. Merge by EPROCESS VA (PA when the VA is unknown).
  const merged: Merged[] = [];
  const byVa = new Map<bigint, Merged>();
  const byPa = new Map<number, Merged>();
  (list?.entries ?? []).forEach((e, i) => {
    if (byVa.has(e.va)) return;
    const m: Merged = { info: e.info, va: e.va, pa: e.info.pa, sources: new Set(['list']), listIndex: i };
    merged.push(m);
    byVa.set(e.va, m);
    if (m.pa !== null) byPa.set(m.pa, m);
  });
  for (const h of hits) {
    const m = (h.va !== null ? byVa.get(h.va) : undefined) ?? byPa.get(h.pa);
    if (m) {
      m.sources.add('scan');
      if (m.pa === null) m.pa = h.pa;
      continue;
    }
    const n: Merged = { info: h.info, va: h.va, pa: h.pa, sources: new Set(['scan']), listIndex: Number.MAX_SAFE_INTEGER };
    merged.push(n);
    if (h.va !== null) byVa.set(h.va, n);
    byPa.set(h.pa, n);
  }
  merged.sort((a, b) => a.listIndex - b.listIndex || (a.pa ?? 0) - (b.pa ?? 0));

  // 5. Per-process records (isolation added below).
  type Draft = { -readonly [K in keyof ProcessRecord]: ProcessRecord[K] };
  const drafts: { rec: Draft; m: Merged }[] = [];
  let unreadableCount = 0;
  for (const m of merged) {
    const p = m.info;
    const name = p.imageFileName ?? { text: '' };
    const terminated = hasExited(p);
    const sources = (['list', 'scan'] as const).filter((s) => m.sources.has(s));
    // "Not on the list" is a finding only when the whole list was read; otherwise it may sit in the unread part.
    const unlinked = !m.sources.has('list') && !terminated && list !== undefined && list.covered;
    const sj = judgeSecure(p, name.text);
    const unreadable = [...p.unreadable];
    if (p.protection === undefined && !unreadable.includes('protection')) unreadable.push('protection');
    if (unreadable.length) unreadableCount++;
    const rec: Draft = {
      pid: Number(p.pid ?? -1n),
      ppid: Number(p.ppid ?? -1n),
      name,
      imagePath: p.imagePath,
      createTime: filetimeToIso(p.createTime),
      exitTime: filetimeToIso(p.exitTime),
      sessionId: p.sessionId,
      peb: p.peb !== undefined && p.peb !== 0n ? hex(p.peb) : null,
      dtb: hex(p.dtb ?? 0n),
      // VA null only when no pointer or page table leads back to a scanned object (PA only). The shared
      // type still says Hex: the reports layer is asked to accept null (see the lead's note).
      eprocess: { va: (m.va !== null ? hex(m.va) : null) as string, pa: m.pa !== null ? hex(m.pa) : null },
      wow64: p.wow64 === true,
      sources,
      terminated,
      unlinked,
      protection: p.protection === undefined ? null : decodeProtection(p.protection),
      secure: sj.secure,
      trustlet: sj.trustlet,
    };
    if (unreadable.length) rec.unreadableFields = unreadable;
    drafts.push({ rec, m });
    const ev0 = { pid: rec.pid, ...(rec.eprocess.va ? { eprocessVa: rec.eprocess.va } : {}), ...(rec.eprocess.pa ? { eprocessPa: rec.eprocess.pa } : {}) };
    if (unlinked)
      findings.push({ rule: 'ntos.process-unlinked', title: 'Process hidden from the process list', severity: 'high', message: `${name.text} (PID ${rec.pid}) is alive in memory but not on the active process list: possible DKOM unlinking.`, evidence: ev0, attack: ROOTKIT });
    if (sj.anomaly) {
      const sev: Severity = sj.anomaly.kind === 'trustlet-not-secure' ? 'high' : 'medium';
      const rule = sj.anomaly.kind === 'trustlet-not-secure' ? 'vsm.trustlet-not-secure' : sj.anomaly.kind === 'secure-unknown-name' ? 'vsm.secure-unknown-name' : 'vsm.trustlet-id-mismatch';
      const title = sj.anomaly.kind === 'trustlet-not-secure' ? 'Trustlet name on a non-secure process' : sj.anomaly.kind === 'secure-unknown-name' ? 'Secure process with an unknown name' : 'Trustlet ID does not match its name';
      findings.push({ rule, title, severity: sev, message: `${sj.anomaly.message} (PID ${rec.pid}).`, evidence: ev0, ...(sj.anomaly.kind === 'trustlet-not-secure' ? { attack: MASQUERADE_NAME } : {}) });
    }
  }
  const unplaced = drafts.filter(({ rec }) => !rec.sources.includes('list') && !rec.terminated).length;
  if (list && !list.covered && unplaced > 0)
    reasons.push(`${unplaced} process${unplaced === 1 ? ' was' : 'es were'} found only by the scan; with part of the list unread, whether ${unplaced === 1 ? 'it was' : 'they were'} unlinked cannot be told.`);
  if (unreadableCount) reasons.push(`${unreadableCount} process${unreadableCount === 1 ? ' has' : 'es have'} fields that could not be read from the dump.`);

  // 6. Baseline over ordinary processes, then isolation of each secure process.
  const baseline = { processes: 0, pagesMapped: 0, pagesNotResident: 0, pagesAbsent: 0, pagesUnreadable: 0, pagesReadable: 0 };
  const maxBase = opts.baselineProcesses ?? DEFAULT_BASELINE_PROCESSES;
  const ordinary = drafts.filter(({ rec, m }) => rec.secure === false && !rec.terminated && !!m.info.dtb);
  let baselineCapped = false;
  // Highest physical page the kernel's own structures reference that the evidence lacks.
  let maxAbsentPfn = -1;
  for (const { m } of ordinary.slice(0, maxBase)) {
    const c = classifyUserPages(vmForDtb(pageTableRoot(m.info.dtb!)), pm, { maxPagesRead: opts.baselinePagesPerProcess ?? DEFAULT_BASELINE_PAGES, maxEntries: 1 << 16 });
    if (c.capHit) baselineCapped = true;
    maxAbsentPfn = Math.max(maxAbsentPfn, c.maxAbsentPfn);
    if (c.pagesMapped === 0) continue;
    baseline.processes++;
    baseline.pagesMapped += c.pagesMapped;
    baseline.pagesNotResident += c.pagesNotResident;
    baseline.pagesAbsent += c.pagesAbsent;
    baseline.pagesUnreadable += c.pagesUnreadable;
    baseline.pagesReadable += c.pagesReadable;
  }
  if (baselineCapped) log().debug('baseline sampled (page cap per process)');
  if (ordinary.length > maxBase) log().debug({ ordinary: ordinary.length, sampled: maxBase }, 'baseline sampled a subset of ordinary processes');

  for (const d of drafts) {
    if (d.rec.secure !== true || !d.m.info.dtb) continue;
    const vadRoot = d.m.info.vadRoot;
    const vads = vadRoot !== undefined && vadRoot !== 0n ? walkVads(k.vm, layout, vadRoot) : undefined;
    const c = classifyUserPages(vmForDtb(pageTableRoot(d.m.info.dtb)), pm, { vads: vads?.ranges });
    if (c.capHit) capsHit.push({ cap: `isolation.pages(pid ${d.rec.pid})`, limit: 0 });
    maxAbsentPfn = Math.max(maxAbsentPfn, c.maxAbsentPfn);
    const iso = judgeIsolation({ ...c, partial: c.partial || (vads !== undefined && !vads.complete) }, baseline);
    d.rec.isolation = iso;
    if (iso.partial) reasons.push(`The page walk of ${d.rec.name.text} (PID ${d.rec.pid}) is incomplete${c.tablePagesAbsent ? ` (${c.tablePagesAbsent} page-table pages absent)` : ''}.`);
    const ev0 = { pid: d.rec.pid, eprocessVa: d.rec.eprocess.va ?? undefined, pages: { pagesMapped: iso.pagesMapped, pagesNotResident: iso.pagesNotResident, pagesAbsent: iso.pagesAbsent, pagesUnreadable: iso.pagesUnreadable, pagesReadable: iso.pagesReadable } };
    if (iso.verdict === 'exposed') {
      findings.push({
        rule: 'vsm.trustlet-pages-readable',
        title: 'Secure process pages readable in the dump',
        severity: 'high',
        message: `${d.rec.name.text} (PID ${d.rec.pid}) has ${iso.pagesReadable} readable page${iso.pagesReadable === 1 ? '' : 's'}: VTL1 isolation did not hold for this dump, which may contain isolated secrets (handle it as credential material).`,
        evidence: { ...ev0, sampleAddresses: iso.sampleReadable },
      });
    } else if (iso.verdict === 'indeterminate' && d.rec.name.text !== SECURE_SYSTEM) {
      findings.push({ rule: 'vsm.isolation-indeterminate', title: 'Isolation of a secure process cannot be judged', severity: 'low', message: `${d.rec.name.text} (PID ${d.rec.pid}): ${iso.reason}.`, evidence: ev0 });
    }
  }
  const processes = drafts.map((d) => d.rec as ProcessRecord);

  // 7. Posture and the system verdict. The secure kernel's image is looked for only where it decides
  // something (a raw image with readable trustlet pages): it costs a second pass over memory.
  if (ev.format === 'raw' && processes.some((p) => p.secure === true && p.name.text !== SECURE_SYSTEM && (p.isolation?.pagesReadable ?? 0) > 0)) {
    secureKernelMarkers = findMarkers(pm, [SECURE_KERNEL_MARKER])[0];
  }
  const posture = computePosture({ processes, format: ev.format, formatName: ev.formatName, secureKernelMarkers });
  const sv = systemVerdict(processes);
  if (sv.verdict === 'not-running') findings.push({ rule: 'vsm.not-running', title: 'VSM trustlets not running', severity: 'info', message: 'No secure process was found: Virtual Secure Mode and Credential Guard were not protecting this system.', evidence: {} });
  else if (!posture.credentialGuard && processes.some((p) => p.secure === true))
    findings.push({ rule: 'vsm.credential-guard-off', title: 'Credential Guard not running', severity: 'low', message: 'VSM was running but no live, secure LsaIso.exe was found: credentials were not isolated.', evidence: {} });
  if (sv.verdict === 'indeterminate' && !baselineUsable(baseline).usable && processes.some((p) => p.secure === true)) log().info({ baseline }, 'baseline unusable');

  // 8. Partial marks.
  const missingRanges = pm.missing.map((r: MissingRange) => ({ start: hex(r.basePage * PAGE_SIZE), pages: r.pageCount, reason: r.reason }));
  for (const i of list?.issues ?? []) {
    if (i.kind !== 'link-unreadable') continue;
    const tr = k.vm.translate(i.address);
    if (!tr.ok && tr.pa !== undefined) maxAbsentPfn = Math.max(maxAbsentPfn, Math.floor(tr.pa / PAGE_SIZE));
  }
  // A raw image has no header to say how long it should be: page tables pointing past its end are the evidence.
  if (ev.format === 'raw' && missingRanges.length === 0 && maxAbsentPfn >= pm.pageLimit) {
    const pages = maxAbsentPfn + 1 - pm.pageLimit;
    missingRanges.push({ start: hex(pm.pageLimit * PAGE_SIZE), pages, reason: 'referenced by the page tables beyond the end of the raw image (at least this much)' });
    reasons.push(`The raw image looks truncated: the kernel's page tables reference physical pages up to ${hex((maxAbsentPfn + 1) * PAGE_SIZE)}, past its end at ${hex(pm.pageLimit * PAGE_SIZE)}.`);
  }
  if (missingRanges.length && !reasons.some((r) => /missing|truncat/i.test(r))) reasons.push(`${missingRanges.reduce((n, r) => n + r.pages, 0)} pages the format promises are missing from the file.`);
  for (const c of capsHit) if (!reasons.some((r) => r.includes(c.cap))) reasons.push(`The analysis cap ${c.cap} (${c.limit}) was hit: results past it are missing.`);
  const partial = ev.partialByNature || missingRanges.length > 0 || capsHit.length > 0 || reasons.length > 0;

  return {
    kernel: k.info,
    processes,
    findings: sortFindings(findings),
    vsm: { verdict: sv.verdict, reason: sv.reason, posture, baseline },
    partial: { partial, reasons, missingRanges },
    capsHit,
    stats: { listed: list?.entries.length ?? 0, scanned: hits.length, scanHits: candidates, pagesScanned },
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
