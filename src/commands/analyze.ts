// `vsm-forensics analyze <dump>`: processes (list + pool scan), secure processes and trustlets, PPL,
// VTL1 page isolation and the VBS posture. A terminal table and the verdict by default; --json,
// --ndjson (FILE or - for stdout) and --html FILE write the reports.
// Exit codes: 0 done; 1 a finding at or above --fail-on; 2 bad input; 3 unsupported input (a triage
// dump, DumpType 4, holds no physical memory: it is refused with exit 3 and a message saying so);
// 4 symbols needed; 64 wrong usage; 73 an output path cannot be written (checked before any work).
import { basename, join, resolve } from 'node:path';
import { hostname } from 'node:os';
import { statSync } from 'node:fs';
import type { Argv } from 'yargs';
import { openEvidencePass } from '../dump/evidence-pass.ts';
import { openDump } from '../dump/open.ts';
import type { Dump } from '../dump/types.ts';
import { machineName } from '../dump/crash-structs.ts';
import { ExitCode, UsageError } from '../errors.ts';
import { filetimeToIso } from '../dump/numbers.ts';
import { renderInternals, SHOW_KINDS, type ShowKind } from '../reports/internals-table.ts';
import { writeOutput } from './write-output.ts';
import { buildReport, createProgress, renderCsv, renderHtml, renderJsonChunks, renderNdjsonLines, renderTerminal, type EvidenceInfo, type ProcessFilter, type Report, type RunInfo } from '../reports/index.ts';
import { log } from '../log.ts';
import { analyzeDump } from '../vsm/analyze.ts';
import { SEVERITIES, type Severity } from '../vsm/types.ts';
import { SYMBOL_OPTIONS, checkInputPath, checkOutputFile, ensureOutputDir, exitWith, tableCheck, type ArgvOf, type GlobalArgs, type OptionTable } from './args.ts';
import { entry } from './catalogue.ts';

export const ANALYZE_OPTIONS = {
  ...SYMBOL_OPTIONS,
  json: { type: 'string', requiresArg: true, describe: 'Write the JSON report to FILE (- for stdout)' },
  ndjson: { type: 'string', requiresArg: true, describe: 'Write ECS NDJSON events to FILE (- for stdout)' },
  html: { type: 'string', requiresArg: true, describe: 'Write the self-contained HTML report to FILE' },
  csv: { type: 'string', requiresArg: true, describe: 'Write one CSV row per process to FILE (- for stdout); follows --pid/--name' },
  'output-dir': {
    type: 'string',
    requiresArg: true,
    describe: 'Write report.json, events.ndjson, report.html and report.csv into DIR (created if missing); --json/--ndjson/--html/--csv override one',
  },
  pid: { type: 'string', array: true, requiresArg: true, describe: 'Only this PID in the terminal table and the CSV (repeatable, or comma-separated); reports keep every process' },
  name: { type: 'string', requiresArg: true, describe: 'Only process names matching PATTERN (case-insensitive; * and ? wildcards, else a substring) in the table and the CSV' },
  wide: { type: 'boolean', default: false, describe: 'Every table column and full names, whatever the terminal width' },
  show: {
    type: 'string',
    choices: SHOW_KINDS,
    requiresArg: true,
    describe: "With --pid: print that process's threads, handles, VADs, token or APCs as a table (Volatility-style) instead of the process table",
  },
  internals: { type: 'boolean', default: true, describe: 'Walk each process\'s threads, APCs, handles, token and VADs and the loaded drivers (--no-internals to skip)' },
  scan: { type: 'boolean', default: true, describe: 'Scan memory for process objects (--no-scan: the process list only)' },
  hash: { type: 'boolean', default: true, describe: 'SHA-256 of the evidence in the report (--no-hash to skip)' },
  'fail-on': { type: 'string', choices: SEVERITIES, requiresArg: true, describe: 'Exit 1 when a finding reaches this severity (for CI gates)' },
  case: { type: 'string', requiresArg: true, describe: 'Case id for the report header' },
  examiner: { type: 'string', requiresArg: true, describe: 'Examiner name for the report header' },
  // batch/worker: the SHA-256 they computed, recorded instead of hashing again.
  'evidence-sha256': { type: 'string', hidden: true, requiresArg: true, describe: 'SHA-256 of the evidence computed by the caller (batch, worker)' },
  'evidence-sha256-at': { type: 'string', hidden: true, requiresArg: true, describe: 'When --evidence-sha256 was computed (ISO-8601 UTC)' },
} as const satisfies OptionTable;

const builder = (y: Argv<GlobalArgs>) =>
  y
    .positional('dump', { type: 'string', demandOption: true, describe: 'Memory dump: crash dump (.dmp), raw image, or VMware .vmem' })
    .options(ANALYZE_OPTIONS)
    .check(tableCheck(ANALYZE_OPTIONS))
    .check((a) => (parsePids(a.pid), true))
    .check((a) => {
      if (a.show !== undefined && !a.pid?.length) throw new UsageError('--show needs --pid (the process whose table to print)');
      if (a.show !== undefined && a.internals === false) throw new UsageError('--show needs the process internals (drop --no-internals)');
      return true;
    })
    .example('$0 analyze memory.dmp', 'terminal table and verdict')
    .example('$0 analyze memory.dmp --json report.json --html report.html', 'write the reports')
    .example('$0 analyze memory.dmp --json - --quiet | jq .vsm', 'JSON on stdout for a pipeline')
    .example('$0 analyze memory.dmp --symbols ntkrnlmp.pdb --fail-on high', 'with the kernel PDB; exit 1 on a high finding')
    .example('$0 analyze memory.dmp --output-dir case-117/', 'report.json, events.ndjson, report.html, report.csv in case-117/')
    .example('$0 analyze memory.dmp --name "lsa*" --csv -', 'CSV rows for lsass.exe and LsaIso.exe on stdout')
    .example('$0 analyze memory.dmp --pid 4 --pid 612 --wide', 'two processes, every column')
    .example('$0 analyze memory.dmp --pid 800 --show handles', "LsaIso.exe's handles, one row each");

export type AnalyzeArgs = ArgvOf<typeof builder>;

/** What run() reads: the CLI passes its parsed arguments; demo and the fuzzer pass their own. */
export interface AnalyzeInput {
  readonly dump: string;
  readonly json?: string;
  readonly ndjson?: string;
  readonly html?: string;
  readonly csv?: string;
  readonly outputDir?: string;
  readonly pid?: readonly number[];
  readonly name?: string;
  readonly wide?: boolean;
  /** With pid: one process's internals as a table instead of the process table. */
  readonly show?: ShowKind;
  /** Walk process internals (default true). */
  readonly internals?: boolean;
  readonly symbols?: readonly string[];
  readonly symbolServer?: string;
  readonly scan?: boolean;
  readonly hash?: boolean;
  readonly failOn?: Severity;
  readonly case?: string;
  readonly examiner?: string;
  readonly quiet?: boolean;
  readonly evidenceSha256?: string;
  readonly evidenceSha256At?: string;
}

/** Where each report goes: a file, '-' (stdout), or nowhere. --output-dir fills in the ones not given. */
export interface ReportTargets {
  readonly json?: string;
  readonly ndjson?: string;
  readonly html?: string;
  readonly csv?: string;
}

/** Fixed file names under --output-dir. */
export const OUTPUT_DIR_FILES = { json: 'report.json', ndjson: 'events.ndjson', html: 'report.html', csv: 'report.csv' } as const;

export function reportTargets(a: AnalyzeInput): ReportTargets {
  const dir = a.outputDir;
  const inDir = (k: keyof typeof OUTPUT_DIR_FILES) => (dir === undefined ? undefined : join(dir, OUTPUT_DIR_FILES[k]));
  return { json: a.json ?? inDir('json'), ndjson: a.ndjson ?? inDir('ndjson'), html: a.html ?? inDir('html'), csv: a.csv ?? inDir('csv') };
}

/**
 * Every path the analysis will write or read besides the dump, checked (and --output-dir created)
 * before the dump is opened; and the PID list flattened (`--pid 4,612` or `--pid 4 --pid 612`).
 */
export function checkAnalyzePaths(a: AnalyzeInput): ReportTargets {
  const targets = reportTargets(a);
  const toStdout = (['json', 'ndjson', 'csv'] as const).filter((k) => targets[k] === '-');
  if (toStdout.length > 1) throw new UsageError(`${toStdout.map((k) => `--${k} -`).join(' and ')} cannot both write to stdout`);
  if (a.outputDir !== undefined) ensureOutputDir('output-dir', a.outputDir);
  for (const k of ['json', 'ndjson', 'csv'] as const) {
    const path = targets[k];
    if (path !== undefined) checkOutputFile(k, path, { allowStdout: true });
  }
  if (targets.html !== undefined) checkOutputFile('html', targets.html);
  for (const s of a.symbols ?? []) checkInputPath('symbols', s);
  return targets;
}

/** `--pid 4,612 --pid 7` → [4, 612, 7]; yargs parses "4,612" as NaN, so the strings are read here. */
export function parsePids(values: readonly string[] | undefined): number[] | undefined {
  if (!values?.length) return undefined;
  return values.flatMap((v) =>
    String(v)
      .split(',')
      .map((x) => {
        const n = Number(x.trim());
        if (!/^\d+$/.test(x.trim()) || !Number.isSafeInteger(n)) throw new UsageError(`--pid needs process ids (integers), got ${JSON.stringify(v)}`);
        return n;
      }),
  );
}

const { command, describe } = entry('analyze');
export const cli = {
  options: ANALYZE_OPTIONS,
  register: (y: Argv<GlobalArgs>) => y.command({ command, describe, builder, handler: exitWith((a: AnalyzeArgs) => run({ ...a, pid: parsePids(a.pid) })) }),
};

export async function run(argv: AnalyzeInput): Promise<number> {
  const { json, ndjson, html, csv } = checkAnalyzePaths(argv);
  const path = argv.dump;
  const { failOn } = argv;
  const filter: ProcessFilter = { pids: argv.pid, name: argv.name };
  const quiet = argv.quiet === true;
  const started = new Date();
  const known = knownHash(argv);

  const dump = openDump(path);
  log().debug({ path, format: dump.format, formatName: dump.formatName, size: dump.fileSize, partialByNature: dump.partialByNature }, 'evidence opened');
  try {
    // One read of the evidence: the SHA-256 (on a worker thread) and the pool scan share its chunks.
    const hashing = argv.hash !== false && known === null;
    const bar = createProgress({ label: hashing ? 'sha256+scan' : 'scanning', unit: hashing ? 'bytes' : 'items', enabled: quiet ? false : undefined });
    const pass = hashing ? openEvidencePass(dump, { hashPath: path, progress: bar.update }) : undefined;
    let report: Report;
    let finished: Date;
    try {
      const analysis = await analyzeDump(pass?.dump ?? dump, {
        scan: argv.scan !== false,
        internals: argv.internals !== false,
        symbols: { symbols: argv.symbols ? [...argv.symbols] : undefined, symbolServer: argv.symbolServer },
        onScanProgress: pass ? undefined : bar.update,
      });
      // Built while the hash worker may still be on the last chunks; the digest and the end time go in after.
      const built = buildReport(analysis, runInfo(argv, started, started), evidenceInfo(dump, path, analysis.kernel.build, known));
      let hashed: { sha256: string; at: string } | null = known;
      if (pass) {
        const done = pass.finish();
        log().debug({ seconds: done.seconds, onePass: done.onePass, waitSeconds: done.waitSeconds, idleJobs: done.idleJobs, idleSeconds: done.idleSeconds }, 'evidence read and hashed');
        hashed = { sha256: done.sha256, at: new Date().toISOString() };
      }
      finished = new Date();
      report = withRunEnd(built, finished.toISOString(), finished.getTime() - started.getTime(), hashed);
    } finally {
      pass?.close();
      bar.done();
    }
    logAnalysis(report, finished.getTime() - started.getTime());
    if (json) await writeOutput(json, renderJsonChunks(report));
    if (ndjson) await writeOutput(ndjson, renderNdjsonLines(report));
    if (html) await writeOutput(html, [renderHtml(report)]);
    if (csv) await writeOutput(csv, [renderCsv(report, { filter })]);
    for (const [kind, target] of Object.entries({ json, ndjson, html, csv })) if (target) log().debug({ kind, target }, 'report written');
    if (argv.show !== undefined && json !== '-' && ndjson !== '-' && csv !== '-') {
      for (const pid of argv.pid ?? []) process.stdout.write(renderInternals(report, pid, argv.show));
    } else if (json !== '-' && ndjson !== '-' && csv !== '-') {
      const tty = process.stdout.isTTY === true;
      const color = tty && !process.env.NO_COLOR;
      process.stdout.write(renderTerminal(report, { color, wide: argv.wide === true, width: tty ? process.stdout.columns : undefined, filter }));
    }
    if (failOn) {
      const min = SEVERITIES.indexOf(failOn);
      if (report.findings.some((f) => SEVERITIES.indexOf(f.severity) >= min)) return ExitCode.Finding;
    }
    return ExitCode.Ok;
  } finally {
    dump.close();
  }
}

/** The run as the report records it; `finished` is the analysis's end (withRunEnd sets the final one). */
function runInfo(argv: AnalyzeInput, started: Date, finished: Date): RunInfo {
  return {
    commandLine: ['vsm-forensics', ...process.argv.slice(2)].join(' '),
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationMs: finished.getTime() - started.getTime(),
    case: argv.case,
    examiner: argv.examiner,
    host: hostname(),
  };
}

/** What the report says of the evidence file; `hashed`: its SHA-256 and when, when known yet. */
function evidenceInfo(dump: Dump, path: string, build: number | null, hashed: { sha256: string; at: string } | null): EvidenceInfo {
  let mtime: string | null = null;
  try {
    mtime = statSync(path).mtime.toISOString();
  } catch {
    mtime = null;
  }
  const h = dump.header;
  return {
    path: resolve(path),
    fileName: basename(path),
    size: dump.fileSize,
    sha256: hashed?.sha256 ?? null,
    sha256ComputedAt: hashed?.at ?? null,
    mtime,
    format: dump.format,
    formatName: dump.formatName,
    dumpType: h ? h.dumpType : null,
    systemTime: h ? filetimeToIso(h.systemTime) : null,
    build: build ?? (h ? h.minorVersion : null),
    machine: h ? machineName(h.machineImageType) : dump.format === 'raw' ? 'AMD64' : null,
    comment: h && h.comment ? h.comment : null,
    partialByNature: dump.partialByNature,
  };
}

/** The report with the run's end and the evidence's digest, known only once the hash is done (plain ASCII: nothing for buildReport to clean). */
function withRunEnd(r: Report, finishedAt: string, durationMs: number, hashed: { sha256: string; at: string } | null): Report {
  return { ...r, run: { ...r.run, finishedAt, durationMs }, evidence: { ...r.evidence, sha256: hashed?.sha256 ?? null, sha256ComputedAt: hashed?.at ?? null } };
}

/** --evidence-sha256/--evidence-sha256-at (from batch and worker): a hash to record instead of computing one. */
function knownHash(argv: { readonly evidenceSha256?: string; readonly evidenceSha256At?: string }): { sha256: string; at: string } | null {
  const sha256 = argv.evidenceSha256;
  const at = argv.evidenceSha256At;
  if (sha256 === undefined && at === undefined) return null;
  if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) throw new UsageError('--evidence-sha256 needs 64 lower-case hex digits');
  if (typeof at !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/.test(at) || Number.isNaN(Date.parse(at))) throw new UsageError('--evidence-sha256-at needs an ISO-8601 UTC time');
  return { sha256, at };
}

/** Debug log lines to follow an analysis: how the kernel was found, which symbols, what the walks and the scan saw. */
function logAnalysis(report: Report, ms: number): void {
  const k = report.kernel;
  log().debug({ discovery: k.discovery, base: k.base, build: k.build, dtb: k.dtb, pdb: k.pdb }, 'kernel found');
  log().debug({ symbols: k.symbolsSource }, 'kernel layout chosen');
  log().debug({ ...report.stats, processes: report.summary.processes, secure: report.summary.secure, unlinked: report.summary.unlinked }, 'process list walked and memory scanned');
  log().debug({ findings: report.findings.length, verdict: report.vsm.verdict, partial: report.partial.partial, capsHit: report.capsHit.length, ms }, 'analysis done');
}
