// Fuzz entry points: one per target, each taking the path of a mutated input and driving the
// code under test as far as the input allows (open → parse → everything a command would do).
// They return a small summary; a thrown error is classified by outcome.ts. Used by the fuzz
// child process and, in-process, by the regression tests.
import { readFileSync } from 'node:fs';
import { BadInputError } from '../src/errors.ts';
import { classifyError } from './outcome.ts';

export interface EntrySummary {
  /** The result says it is partial (a dump with holes, a damaged list, a PDB with bad records…). */
  partial: boolean;
}

export type Entry = (path: string) => Promise<EntrySummary>;

/** Throws a plain Error (counted as a crash) when a result breaks an invariant the callers rely on. */
function invariant(ok: boolean, what: string): void {
  if (!ok) throw new Error(`invariant: ${what}`);
}

function checkLayout(layout: { fields: Record<string, unknown>; sizes: Record<string, unknown>; symbols: Record<string, unknown> }): void {
  for (const [k, v] of Object.entries(layout.fields)) {
    const f = v as { offset: unknown; size: unknown };
    invariant(Number.isSafeInteger(f.offset) && (f.offset as number) >= 0, `layout field ${k} offset ${String(f.offset)} is not a non-negative integer`);
    invariant(Number.isSafeInteger(f.size) && (f.size as number) >= 0, `layout field ${k} size ${String(f.size)} is not a non-negative integer`);
  }
  for (const [k, v] of Object.entries(layout.sizes)) invariant(Number.isSafeInteger(v) && (v as number) >= 0, `layout size ${k} = ${String(v)}`);
  for (const [k, v] of Object.entries(layout.symbols)) invariant(Number.isSafeInteger(v) && (v as number) >= 0, `layout symbol ${k} = ${String(v)}`);
}

/** ISF text/xz/gzip → document → types → the analyzer's layout. */
export const isfEntry: Entry = async (path) => {
  const { loadIsfFile, IsfTypes } = await import('../src/ntos/isf.ts');
  const { layoutFromIsf } = await import('../src/ntos/layout.ts');
  const types = new IsfTypes(loadIsfFile(path));
  const layout = layoutFromIsf(types, { kind: 'isf', path });
  checkLayout(layout);
  void types.identity;
  return { partial: false };
};

/** PE headers, sections and CodeView record, in file layout and as a mapped image. */
export const peEntry: Entry = async (path) => {
  const { readPeDebugInfo } = await import('../src/ntos/pe.ts');
  const buf = readFileSync(path);
  const info = readPeDebugInfo(buf, 'file');
  // The mapped-image layout through a reader, as kernel discovery reads a PE in memory.
  try {
    readPeDebugInfo((off, len) => (off >= 0 && off < buf.length ? buf.subarray(off, Math.min(buf.length, off + len)) : undefined), 'memory');
  } catch (e) {
    if (!(e instanceof BadInputError)) throw e;
  }
  return { partial: info.codeView === undefined };
};

/** MSF → info/DBI → TPI records → publics → ISF conversion → layout. */
export const pdbEntry: Entry = async (path) => {
  const { Pdb } = await import('../src/ntos/pdb/index.ts');
  const { pdbToIsfWithStats, stringifyIsf } = await import('../src/ntos/isf-write.ts');
  const { IsfTypes } = await import('../src/ntos/isf.ts');
  const { layoutFromIsf } = await import('../src/ntos/layout.ts');
  const pdb = new Pdb(readFileSync(path), 'ntkrnlmp.pdb');
  let records = 0;
  pdb.tpi.forEach(() => records++);
  void pdb.sections;
  const { publics, truncated } = pdb.publics;
  const { doc, stats } = pdbToIsfWithStats(pdb, { datetime: '1970-01-01T00:00:00.000Z' });
  const text = stringifyIsf(doc);
  invariant(text.length > 0, 'empty ISF text');
  const layout = layoutFromIsf(new IsfTypes(doc), { kind: 'pdb', path });
  checkLayout(layout);
  void publics;
  return { partial: truncated || stats.damagedRecords > 0 || records === 0 };
};

/**
 * Evidence, end to end: the library pass (openDump → header/details → physical map invariants →
 * x64 translation and page walks → the analysis core with the built-in layout of the header's
 * build → every renderer), then the commands a user runs: `info --json`, `symbols which --json`
 * and `analyze` with JSON, NDJSON and HTML outputs (their files are parsed back).
 * A typed error in one stage does not stop the others; any other error is the verdict.
 */
export const dumpEntry: Entry = async (path) => {
  const stages = new Stages();
  await stages.run(() => libraryPass(path));
  await stages.run(async () => {
    const { run } = await import('../src/commands/info.ts');
    await run({ dump: path, json: true, hash: false, quiet: true });
    return { partial: false };
  });
  await stages.run(async () => {
    const { runWhich } = await import('../src/commands/symbols-which.ts');
    await runWhich({ dump: path, json: true });
    return { partial: false };
  });
  const analyzed = await stages.run(async () => {
    const { run } = await import('../src/commands/analyze.ts');
    const out = `${path}.out`;
    await run({ dump: path, json: `${out}.json`, ndjson: `${out}.ndjson`, html: `${out}.html`, hash: false, quiet: true, scan: true });
    const report = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as { partial?: { partial?: boolean } };
    for (const line of readFileSync(`${out}.ndjson`, 'utf8').split('\n')) if (line) JSON.parse(line);
    invariant(/^<!doctype html>/i.test(readFileSync(`${out}.html`, 'utf8')), 'HTML report does not start with a doctype');
    return { partial: report.partial?.partial === true };
  });
  // When the command could not analyse (no kernel found, no symbols), drive the analysis core anyway
  // with the built-in layout of the header's build: damaged dumps still reach the list walk and the scan.
  if (!analyzed) await stages.run(() => analyzeWithBuiltinLayout(path));
  return stages.finish();
};

/** Runs stages, keeping typed errors (documented outcomes) and rethrowing anything else at once. */
class Stages {
  private typed: unknown[] = [];
  private results: EntrySummary[] = [];
  /** True when the stage ended in a result. */
  async run(fn: () => Promise<EntrySummary>): Promise<boolean> {
    try {
      this.results.push(await fn());
      return true;
    } catch (e) {
      if (classifyError(e, 0).kind !== 'typed') throw e;
      this.typed.push(e);
      return false;
    }
  }
  finish(): EntrySummary {
    if (this.results.length === 0) throw this.typed[0];
    return { partial: this.typed.length > 0 || this.results.some((r) => r.partial) };
  }
}

async function libraryPass(path: string): Promise<EntrySummary> {
  const { openDump } = await import('../src/dump/open.ts');
  const { X64VirtualMemory } = await import('../src/dump/x64.ts');
  const dump = openDump(path, { cachePages: 64 });
  try {
    JSON.stringify(dump.details, (_k, v) => (typeof v === 'bigint' ? v.toString(16) : v));
    let partial = dump.partialReasons.length > 0;
    const pm = dump.physical;
    if (!pm) return { partial: true };
    let runs = 0;
    for (const r of pm.runs()) {
      invariant(Number.isSafeInteger(r.basePage) && Number.isSafeInteger(r.pageCount) && r.pageCount > 0, `bad run ${r.basePage}+${r.pageCount}`);
      if (++runs > 1_000_000) throw new Error('invariant: more than 1,000,000 runs yielded');
    }
    partial ||= pm.missing.length > 0;
    let pages = 0;
    pm.forEachChunk((_base, data) => {
      pages += data.length / 4096;
    }, 1 << 20);
    invariant(pages === pm.presentPages, `forEachChunk visited ${pages} pages, presentPages says ${pm.presentPages}`);
    const pa = Math.max(0, Math.min(pm.pageLimit - 1, 0x1ad)) * 4096;
    const r = pm.read(pa, 0x3000);
    invariant(r.data.length === 0x3000, 'short physical read');

    const dtb = dump.header?.directoryTableBase ?? 0x1ad000n;
    const vm = new X64VirtualMemory(pm, dtb);
    for (const va of [0n, 0x1000n, 0xfffff80000000100n, 0xfffff80000201000n, 0xfffff6fb7dbed000n, 0x0000800000000000n, 0xffffffffffffffffn]) vm.translate(va);
    const user = vm.walk(0n, 0x0000800000000000n, 4096);
    const kernel = vm.walk(0xffff800000000000n, 0xffffffffffffffffn, 4096);
    invariant(user.pages.length <= 4096 && kernel.pages.length <= 4096, 'walk returned more entries than its cap');
    return { partial };
  } finally {
    dump.close();
  }
}

/** The analysis core over the header's DTB and PsActiveProcessHead, with the built-in layout of the header's build (19041 by default). */
async function analyzeWithBuiltinLayout(path: string): Promise<EntrySummary> {
  const { openDump } = await import('../src/dump/open.ts');
  const { X64VirtualMemory } = await import('../src/dump/x64.ts');
  const { builtinByBuild } = await import('../src/ntos/layout-table.ts');
  const { analyzeKernel } = await import('../src/vsm/analyze.ts');
  const dump = openDump(path, { cachePages: 64 });
  try {
    const pm = dump.physical;
    const layout = builtinByBuild(dump.header?.minorVersion ?? 19041) ?? builtinByBuild(19041);
    if (!pm || !layout) return { partial: true };
    const vm = new X64VirtualMemory(pm, dump.header?.directoryTableBase ?? 0x1ad000n);
    const head = dump.header?.psActiveProcessHead ?? 0xfffff80000000100n;
    const hexs = (v: bigint) => `0x${v.toString(16)}`;
    const analysis = analyzeKernel({ ...dump, physical: pm }, {
      vm,
      layout,
      base: null,
      psActiveProcessHead: head,
      info: {
        base: null,
        build: dump.header?.minorVersion ?? null,
        dtb: hexs(BigInt(vm.dtb)),
        psActiveProcessHead: hexs(head),
        psLoadedModuleList: null,
        kdDebuggerDataBlock: null,
        pdb: null,
        symbolsSource: 'builtin-build',
        discovery: 'crash-header',
      },
    });
    await renderAll(analysis, dump);
    return { partial: analysis.partial.partial };
  } finally {
    dump.close();
  }
}

/** Every renderer over the analysis: a hostile dump string must not break any of them. */
async function renderAll(analysis: import('../src/vsm/types.ts').Analysis, dump: import('../src/dump/types.ts').Dump): Promise<void> {
  let reports: typeof import('../src/reports/index.ts');
  try {
    reports = await import('../src/reports/index.ts');
  } catch {
    return;
  }
  const now = '2026-01-01T00:00:00.000Z';
  const report = reports.buildReport(
    analysis,
    { commandLine: 'vsm-forensics analyze fuzz', startedAt: now, finishedAt: now, durationMs: 0 },
    {
      path: dump.path,
      fileName: 'fuzz.dmp',
      size: dump.fileSize,
      sha256: null,
      sha256ComputedAt: null,
      mtime: null,
      format: dump.format,
      formatName: dump.formatName,
      dumpType: dump.header?.dumpType ?? null,
      systemTime: null,
      build: dump.header?.minorVersion ?? null,
      machine: dump.header ? `0x${dump.header.machineImageType.toString(16)}` : null,
      // The header comment is evidence text: it goes through every renderer as found.
      comment: dump.header?.comment ?? null,
      partialByNature: dump.partialByNature,
    },
  );
  const json = reports.renderJson(report);
  JSON.parse(json);
  for (const line of reports.renderNdjson(report).split('\n')) if (line) JSON.parse(line);
  reports.renderHtml(report);
  reports.renderTerminal(report, { color: true });
}

/** Limits the walks run under in the fuzz target (small, so an input stays well inside the time bound). */
const WALK_LIMITS = { maxThreads: 256, maxApcs: 64, maxHandles: 4096, maxPages: 64, maxGroups: 128, maxVads: 1024, maxModules: 256 };

/**
 * The process walks (threads, APCs, handles, token, VADs, loaded modules, extended flags) over a
 * WALKSEED image: every walk must end in a result within its cap; a throw is a crash.
 */
export const walksEntry: Entry = async (path) => {
  const { parseWalkSeed, WALK_SEED_HEADER } = await import('./walk-seeds.ts');
  const { FakePhysical } = await import('../test/helpers/fake-machine.ts');
  const { X64VirtualMemory } = await import('../src/dump/x64.ts');
  const { builtinByPdb } = await import('../src/ntos/layout-table.ts');
  const { walkThreads } = await import('../src/ntos/threads.ts');
  const { walkApcs } = await import('../src/ntos/apcs.ts');
  const { walkHandles } = await import('../src/ntos/handles.ts');
  const { loadObjectTypes } = await import('../src/ntos/object-header.ts');
  const { readProcessToken } = await import('../src/ntos/token.ts');
  const { walkVadInfo } = await import('../src/ntos/vad-info.ts');
  const { walkDrivers, ModuleIndex } = await import('../src/ntos/drivers.ts');
  const { readExtendedInfo, readDebugPort, readExitStatus, readBasePriority } = await import('../src/ntos/extended-info.ts');
  const b = readFileSync(path);
  const h = parseWalkSeed(b);
  if (!h) throw new BadInputError('not a WALKSEED image', 'fuzz.walks');
  const layout = builtinByPdb(h.guid, 1);
  if (!layout) throw new BadInputError('unknown layout', 'fuzz.walks');
  const pm = new FakePhysical(0);
  for (let i = 0; i < h.pageCount; i++) pm.write((h.firstPfn + i) * 4096, b.subarray(WALK_SEED_HEADER + i * 4096, WALK_SEED_HEADER + (i + 1) * 4096));
  const vm = new X64VirtualMemory(pm, h.dtb & 0x000ffffffffff000n);
  const within = (w: { items: unknown[]; cap: number }, what: string) => invariant(w.items.length <= w.cap, `${what}: ${w.items.length} items over cap ${w.cap}`);
  let partial = false;
  const mods = walkDrivers(vm, layout, h.modules, WALK_LIMITS);
  within(mods, 'modules');
  const index = new ModuleIndex(mods.items);
  const types = loadObjectTypes(vm, layout, h.kernelBase).types;
  for (const ep of h.processes) {
    const th = walkThreads(vm, layout, ep, WALK_LIMITS);
    within(th, 'threads');
    for (const t of th.items) {
      const a = walkApcs(vm, layout, BigInt(t.ethread), WALK_LIMITS);
      invariant(a.items.length <= 2 * a.cap, 'apcs over cap');
      for (const x of a.items) index.attribute(x.kernelRoutine);
      partial ||= a.partial;
    }
    const hs = walkHandles(vm, layout, ep, types, WALK_LIMITS);
    within(hs, 'handles');
    const tok = readProcessToken(vm, layout, ep, WALK_LIMITS);
    invariant(!tok.token || tok.token.groups.length < tok.cap, 'groups over cap');
    const vads = walkVadInfo(vm, layout, ep, WALK_LIMITS);
    within(vads, 'vads');
    const x = readExtendedInfo(vm, layout, ep, { token: tok });
    invariant((x.knownFlags & x.unknownMask) === 0 && (x.flags === null) === (x.unknownMask !== 0), 'extended flags inconsistent');
    readDebugPort(vm, layout, ep);
    readExitStatus(vm, layout, ep);
    readBasePriority(vm, layout, ep);
    partial ||= th.partial || hs.partial || tok.partial || vads.partial;
  }
  return { partial: partial || mods.partial };
};

/** Loads every module the entries use, so the first input's time bound does not include compiling them. */
export async function warm(): Promise<void> {
  const mods = [
    import('../src/ntos/isf.ts'),
    import('../src/ntos/layout.ts'),
    import('../src/ntos/pe.ts'),
    import('../src/ntos/pdb/index.ts'),
    import('../src/ntos/isf-write.ts'),
    import('../src/dump/open.ts'),
    import('../src/dump/x64.ts'),
    import('../src/ntos/layout-table.ts'),
    import('../src/ntos/process-list.ts'),
    import('../src/ntos/pool-scan.ts'),
    import('../src/vsm/analyze.ts'),
    import('../src/reports/index.ts'),
    import('../src/commands/info.ts'),
    import('../src/commands/symbols-which.ts'),
    import('../src/commands/analyze.ts'),
    import('./walk-seeds.ts'),
    import('../src/ntos/handles.ts'),
    import('../src/ntos/extended-info.ts'),
  ];
  await Promise.allSettled(mods);
  (await import('../src/ntos/layout-table.ts')).builtinByBuild(19041);
}

/** The harness's own check: the input's first byte picks a hang, a memory blow-up, a crash, a typed error or a result. */
export const selftestEntry: Entry = async (path) => {
  const what = readFileSync(path).toString('latin1', 0, 1);
  if (what === 'H') for (;;);
  if (what === 'M') {
    const hold: Buffer[] = [];
    for (;;) hold.push(Buffer.alloc(64 * 1024 * 1024, 1));
  }
  if (what === 'C') throw new TypeError('selftest crash');
  if (what === 'T') throw new BadInputError('selftest typed error', 'selftest.typed');
  return { partial: what === 'P' };
};

export const ENTRIES: Readonly<Record<string, Entry>> = {
  selftest: selftestEntry,
  isf: isfEntry,
  pe: peEntry,
  pdb: pdbEntry,
  dump: dumpEntry,
  walks: walksEntry,
};
