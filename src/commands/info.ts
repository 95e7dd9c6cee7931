// `vsm-forensics info <dump> [--json] [--no-hash]`: what the evidence is and what it holds.
// Human text by default, JSON with --json (64-bit values as "0x…" strings, times ISO-8601 UTC).
// Unsupported or damaged input ends as a typed error (exit 3 / 2) through the CLI.
import { openDump } from '../dump/open.ts';
import { hashEvidence } from '../dump/hash.ts';
import { dumpTypeName, machineName } from '../dump/crash-structs.ts';
import { PAGE_SIZE, type Dump } from '../dump/types.ts';
import { FilePhysicalMemory } from '../dump/physical.ts';
import { filetimeToIso, hex } from '../dump/numbers.ts';
import { createProgress } from '../reports/progress.ts';
import { jsonStringify, terminalText } from '../reports/sanitize.ts';
import { BadInputError, ExitCode } from '../errors.ts';
import { discoverKernel, findLowStub, selfMapCandidates } from '../ntos/kernel.ts';
import type { Argv } from 'yargs';
import { exitWith, tableCheck, type ArgvOf, type GlobalArgs, type OptionTable } from './args.ts';
import { entry } from './catalogue.ts';


function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const PRODUCT_TYPES: Record<number, string> = { 1: 'workstation', 2: 'domain controller', 3: 'server' };
const MAX_LISTED_RUNS = 64;

export interface InfoReport {
  file: { path: string; size: number; sha256: string | null };
  format: string;
  formatName: string;
  dumpType: number | null;
  dumpTypeName: string | null;
  machine: string | null;
  osBuild: number | null;
  majorVersion: number | null;
  productType: string | null;
  processors: number | null;
  bugCheck: { code: string; parameters: string[] } | null;
  dtb: string | null;
  pfnDataBase: string | null;
  psActiveProcessHead: string | null;
  psLoadedModuleList: string | null;
  kdDebuggerDataBlock: string | null;
  systemTime: string | null;
  systemUpTimeSeconds: number | null;
  comment: string | null;
  physical: {
    runCount: number;
    presentPages: number;
    presentBytes: number;
    pageLimit: number;
    holes: { count: number; pages: number };
    missing: { pages: number; ranges: Array<{ basePage: string; pageCount: number; reason: string }> };
    runs: Array<{ basePage: string; pageCount: number }>;
    runsListed: number;
  } | null;
  partialByNature: boolean;
  partialReasons: string[];
  details: Record<string, unknown>;
  /** Images without a header (raw, VMware): what kernel discovery found, as analyze would; null for crash dumps (the header says). */
  discovery: RawDiscovery | null;
}

export interface RawDiscovery {
  /** Physical address of the page-table root (PML4), and how it was found; null when none was. */
  pageTableRoot: { pa: string; from: string } | null;
  /** The kernel image (base VA and its PDB name) mapped by that root; null when none was found. */
  kernel: { base: string; pdb: string | null } | null;
  /** Why not, in analyze's words, when something was not found. */
  problem: string | null;
}

/** Kernel discovery on a headerless image: the same steps as analyze (low stub or self-map, then the kernel PE). */
export function discoverRawImage(d: Dump): RawDiscovery {
  try {
    const k = discoverKernel(d);
    return { pageTableRoot: { pa: hex(k.dtb), from: k.method }, kernel: k.kernelBase === undefined ? null : { base: hex(k.kernelBase), pdb: k.pdb?.name ?? null }, problem: null };
  } catch (e) {
    if (!(e instanceof BadInputError)) throw e;
    // No kernel: say whether a root was there at all (the first candidate analyze would have tried).
    const stub = findLowStub(d.physical!);
    const selfMap = stub ? undefined : selfMapCandidates(d.physical!).next().value;
    const pageTableRoot = stub ? { pa: hex(stub.cr3), from: 'low-stub' } : selfMap ? { pa: hex(selfMap.pa), from: 'self-map' } : null;
    return { pageTableRoot, kernel: null, problem: e.message };
  }
}

export function describeDump(d: Dump, sha256: string | null): InfoReport {
  const h = d.header;
  let physical: InfoReport['physical'] = null;
  if (d.physical) {
    const p = d.physical;
    const runs: Array<{ basePage: string; pageCount: number }> = [];
    let runCount = 0;
    let holes = 0;
    let holePages = 0;
    let prevEnd = -1;
    for (const r of p.runs()) {
      if (runs.length < MAX_LISTED_RUNS) runs.push({ basePage: hex(r.basePage), pageCount: r.pageCount });
      if (prevEnd >= 0 && r.basePage > prevEnd) {
        holes++;
        holePages += r.basePage - prevEnd;
      }
      prevEnd = r.basePage + r.pageCount;
      runCount++;
    }
    const missingPages = p instanceof FilePhysicalMemory ? p.missingPages : p.missing.reduce((a, m) => a + m.pageCount, 0);
    physical = {
      runCount,
      presentPages: p.presentPages,
      presentBytes: p.presentPages * PAGE_SIZE,
      pageLimit: p.pageLimit,
      holes: { count: holes, pages: holePages },
      missing: { pages: missingPages, ranges: p.missing.map((m) => ({ basePage: hex(m.basePage), pageCount: m.pageCount, reason: m.reason })) },
      runs,
      runsListed: runs.length,
    };
  }
  const details = { ...d.details };
  return {
    file: { path: d.path, size: d.fileSize, sha256 },
    format: d.format,
    formatName: d.formatName,
    dumpType: h ? h.dumpType : null,
    dumpTypeName: h ? dumpTypeName(h.dumpType) : null,
    machine: h ? machineName(h.machineImageType) : null,
    osBuild: h ? h.minorVersion : null,
    majorVersion: h ? h.majorVersion : null,
    productType: h ? (PRODUCT_TYPES[h.productType] ?? null) : null,
    processors: h ? h.numberProcessors : null,
    bugCheck: h ? { code: hex(h.bugCheckCode), parameters: h.bugCheckParameters.map(hex) } : null,
    dtb: h ? hex(h.directoryTableBase) : null,
    pfnDataBase: h ? hex(h.pfnDataBase) : null,
    psActiveProcessHead: h ? hex(h.psActiveProcessHead) : null,
    psLoadedModuleList: h ? hex(h.psLoadedModuleList) : null,
    kdDebuggerDataBlock: h ? hex(h.kdDebuggerDataBlock) : null,
    systemTime: h ? filetimeToIso(h.systemTime) : null,
    systemUpTimeSeconds: h && h.systemUpTime > 0n ? Number(h.systemUpTime / 10000000n) : null,
    comment: h ? h.comment : null,
    physical,
    partialByNature: d.partialByNature,
    partialReasons: [...d.partialReasons],
    details,
    discovery: !h && d.physical ? discoverRawImage(d) : null,
  };
}

function size(n: number): string {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i ? v.toFixed(1) : v} ${u[i]}`;
}

export function renderInfoText(r: InfoReport): string {
  const lines: string[] = [];
  const row = (k: string, v: string | number | null | undefined) => {
    if (v === null || v === undefined || v === '') return;
    lines.push(`${(k + ':').padEnd(22)}${terminalText(String(v))}`);
  };
  row('File', r.file.path);
  row('Size', `${r.file.size} bytes (${size(r.file.size)})`);
  row('SHA-256', r.file.sha256 ?? '(not computed: --no-hash)');
  row('Format', r.formatName);
  row('Machine', r.machine);
  if (r.osBuild !== null) row('OS build', `${r.osBuild} (header MajorVersion ${r.majorVersion})`);
  row('Product type', r.productType);
  row('Processors', r.processors);
  if (r.bugCheck) row('Bugcheck', `${r.bugCheck.code} (${r.bugCheck.parameters.join(', ')})`);
  row('DTB', r.dtb);
  row('PsActiveProcessHead', r.psActiveProcessHead);
  row('PsLoadedModuleList', r.psLoadedModuleList);
  row('KdDebuggerDataBlock', r.kdDebuggerDataBlock);
  row('PfnDataBase', r.pfnDataBase);
  row('System time', r.systemTime);
  if (r.systemUpTimeSeconds !== null) row('System up time', `${r.systemUpTimeSeconds} s`);
  row('Comment', r.comment);
  const p = r.physical;
  if (p) {
    row('Physical runs', p.runCount);
    row('Pages present', `${p.presentPages} (${size(p.presentBytes)})`);
    row('Highest page', hex(Math.max(0, p.pageLimit - 1)));
    row('Holes', `${p.holes.count} between runs (${p.holes.pages} pages)`);
    row('Missing (truncated)', p.missing.pages ? `${p.missing.pages} pages in ${p.missing.ranges.length}${p.missing.ranges.length >= 1024 ? '+' : ''} range(s)` : 'none');
    const shown = p.runs.slice(0, 16);
    for (const run of shown) lines.push(`  run ${run.basePage.padStart(12)} +${run.pageCount} pages`);
    if (p.runCount > shown.length) lines.push(`  … ${p.runCount - shown.length} more run(s) (--json lists ${p.runsListed})`);
  } else {
    row('Physical memory', 'none in this format');
  }
  // details are the dump layer's untyped facts: read with guards, not casts.
  const tri = r.details.triage;
  if (isRecord(tri)) {
    const k = isRecord(tri.kernel) ? tri.kernel : null;
    row('Triage drivers', `${String(tri.driverCount)}${k ? `; [0] ${terminalText(String(k.name ?? '?'))} at ${String(k.dllBase)} (size ${String(k.sizeOfImage)})` : ''}`);
    row('Triage process blob', `at file offset ${String(tri.processOffset)}; thread at ${String(tri.threadOffset)}`);
    const blocks = isRecord(tri.dataBlocks) ? tri.dataBlocks : {};
    row('Triage memory blocks', `${String(blocks.count ?? '?')} (${typeof blocks.bytes === 'number' ? size(blocks.bytes) : '?'} of virtual memory)`);
  }
  if (r.discovery) {
    const dsc = r.discovery;
    row('Page-table root', dsc.pageTableRoot ? `${dsc.pageTableRoot.pa} (${dsc.pageTableRoot.from})` : 'not found (no low stub, no self-referencing PML4)');
    row('Kernel', dsc.kernel ? `${dsc.kernel.base}${dsc.kernel.pdb ? ` (${dsc.kernel.pdb})` : ''}` : 'not found');
  }
  if (r.partialByNature) lines.push('Partial by nature:    yes');
  for (const reason of r.partialReasons) lines.push(`  - ${terminalText(reason)}`);
  return lines.join('\n') + '\n';
}

export const INFO_OPTIONS = {
  json: { type: 'boolean', default: false, describe: 'Print JSON on stdout (addresses as "0x…" strings)' },
  hash: { type: 'boolean', default: true, describe: 'Compute the SHA-256 of the evidence (--no-hash to skip)' },
} as const satisfies OptionTable;

const builder = (y: Argv<GlobalArgs>) =>
  y
    .positional('dump', { type: 'string', demandOption: true, describe: 'Memory dump: crash dump (.dmp), raw image, or VMware .vmem' })
    .options(INFO_OPTIONS)
    .check(tableCheck(INFO_OPTIONS))
    .example('$0 info memory.dmp', 'format, header, runs and SHA-256 as text')
    .example('$0 info memory.dmp --json --no-hash | jq .physical', 'JSON, without hashing');

export type InfoArgs = ArgvOf<typeof builder>;

/** What run() reads (the CLI's parsed arguments, or the fuzzer's own). */
export interface InfoInput {
  readonly dump: string;
  readonly json?: boolean;
  readonly hash?: boolean;
  readonly quiet?: boolean;
}

const { command, describe } = entry('info');
export const cli = {
  options: INFO_OPTIONS,
  register: (y: Argv<GlobalArgs>) => y.command({ command, describe, builder, handler: exitWith((a: InfoArgs) => run(a)) }),
};

export async function run(argv: InfoInput): Promise<number> {
  const path = argv.dump;
  const dump = openDump(path);
  let sha256: string | null = null;
  try {
    if (argv.hash !== false) {
      const bar = createProgress({ label: 'sha256', unit: 'bytes', enabled: argv.quiet ? false : undefined });
      try {
        sha256 = (await hashEvidence(path, { progress: bar.update })).sha256;
      } finally {
        bar.done();
      }
    }
    const report = describeDump(dump, sha256);
    process.stdout.write(argv.json ? jsonStringify(report, 2) + '\n' : renderInfoText(report));
    // A headerless image in which neither a page-table root nor a kernel is found is not a memory
    // image we can read: bad input, as analyze says (exit 2, one line naming what is missing).
    const dsc = report.discovery;
    if (dsc && !dsc.pageTableRoot && !dsc.kernel) {
      process.stderr.write(`vsm-forensics: ${terminalText(path)}: not a memory image we can read: no page-table root (no low stub, no self-referencing PML4) and no Windows x64 kernel found\n`);
      return ExitCode.BadInput;
    }
  } finally {
    dump.close();
  }
  return ExitCode.Ok;
}
