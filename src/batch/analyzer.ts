// Runs one analysis as a child process of our own CLI:
//   node --import orphan-guard.mjs dist/src/main.js analyze DUMP --json … --ndjson … --html …
// Why a process per job rather than a function call in a worker thread:
// - the result is exactly what `vsm-forensics analyze` alone writes (same code path, same flags);
// - a hostile dump that hangs, exhausts memory or crashes the analyzer takes down one child, which
//   we time out or kill, never the batch or the queue worker (and a worker's event loop stays free
//   to renew its BullMQ job locks however long the analysis computes);
// - a SIGKILLed parent takes its child with it (orphan-guard.mjs), so a stalled queue job is never
//   still being analyzed when another worker picks it up.
// The cost is one Node start per dump (compiled JavaScript: a fraction of a second), noise beside a
// multi-gigabyte dump.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readSync, fstatSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isAbsolute, join } from 'node:path';
import type { AnalyzeOptions } from './types.ts';
import { RESULT_FILES } from './types.ts';

/** The program that analyzes one dump; the runner appends `DUMP --json F --ndjson F --html F [options]`. */
export interface AnalyzerCommand {
  readonly command: string;
  readonly args: readonly string[];
}

/** True when this module runs as TypeScript source (tests, tsx), false when compiled into dist/. */
const FROM_SOURCE = import.meta.url.endsWith('.ts');
/** The CLI's entry in the same form as this module: dist/src/main.js, or src/main.ts under tsx. */
const ENTRY = fileURLToPath(new URL(FROM_SOURCE ? '../main.ts' : '../main.js', import.meta.url));
export const ORPHAN_GUARD = fileURLToPath(new URL('./orphan-guard.mjs', import.meta.url));

/**
 * Our own CLI's `analyze`, under the same Node binary that runs us, started from the compiled
 * dist/ (no TypeScript loader, no transform cache) — or, when we run from source ourselves, from
 * src/ through tsx (resolved here: the child's working directory is the result directory).
 */
export function cliAnalyzer(): AnalyzerCommand {
  const loader = FROM_SOURCE ? ['--import', import.meta.resolve('tsx')] : [];
  return { command: process.execPath, args: [...loader, '--import', ORPHAN_GUARD, ENTRY, 'analyze'] };
}

export interface AnalyzerRun {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  readonly aborted: boolean;
  /** The analyzer's one-line error (its last `vsm-forensics: …` stderr line), if any. */
  readonly message: string | null;
  readonly ms: number;
  /** The analyzer arguments after the program, for the record. */
  readonly argv: readonly string[];
}

/**
 * `analyze` arguments for one dump, run with the result directory as its working directory: the
 * report files are named relative to it, so the command line a report records is the same on
 * every worker and says nothing of temp directories.
 */
export function analyzeArgs(dump: string, o: AnalyzeOptions, hash?: KnownHash): string[] {
  if (!isAbsolute(dump)) throw new Error(`evidence path must be absolute: ${dump}`);
  const a = [dump, '--json', RESULT_FILES.report, '--ndjson', RESULT_FILES.events, '--html', RESULT_FILES.html];
  // The SHA-256 the runner computed: recorded by the analysis instead of reading the evidence again.
  if (hash) a.push(`--evidence-sha256=${hash.sha256}`, `--evidence-sha256-at=${hash.at}`);
  // --name=value: a value that starts with '-' (from a queue job) can never pass for a flag.
  for (const s of o.symbols ?? []) a.push(`--symbols=${s}`);
  if (o.symbolServer) a.push(`--symbol-server=${o.symbolServer}`);
  if (o.scan === false) a.push('--no-scan');
  if (o.case !== undefined) a.push(`--case=${o.case}`);
  if (o.examiner !== undefined) a.push(`--examiner=${o.examiner}`);
  return a;
}

/** An evidence hash computed before the analysis, and when (ISO-8601 UTC). */
export interface KnownHash {
  readonly sha256: string;
  readonly at: string;
}

/** The last non-empty line of a file's final 8 KiB (the analyzer's one-line error). */
function lastErrorLine(path: string): string | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const size = fstatSync(fd).size;
    const len = Math.min(size, 8192);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    const lines = buf.toString('utf8').split('\n').map((l) => l.trim()).filter(Boolean);
    const own = lines.filter((l) => l.startsWith('vsm-forensics: '));
    const line = own.at(-1)?.slice('vsm-forensics: '.length) ?? lines.at(-1) ?? null;
    return line === null ? null : line.slice(0, 1000);
  } finally {
    closeSync(fd);
  }
}

/**
 * Runs the analyzer on `dump` with reports written into `dir` (which must exist); its stdout (the
 * terminal view) goes to report.txt and its stderr to analyze.log there.
 */
export function runAnalyzer(
  analyzer: AnalyzerCommand,
  dump: string,
  dir: string,
  options: AnalyzeOptions,
  ctl: { signal?: AbortSignal; onSpawn?: (pid: number) => void; hash?: KnownHash } = {},
): Promise<AnalyzerRun> {
  const argv = [...analyzer.args, ...analyzeArgs(dump, options, ctl.hash)];
  const out = openSync(join(dir, RESULT_FILES.terminal), 'w');
  const err = openSync(join(dir, RESULT_FILES.log), 'w');
  const t0 = performance.now();
  return new Promise((resolve) => {
    let timedOut = false;
    let aborted = false;
    const child = spawn(analyzer.command, argv, {
      cwd: dir,
      stdio: ['ignore', out, err],
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', VSM_FORENSICS_PARENT_PID: String(process.pid) },
    });
    closeSync(out);
    closeSync(err);
    if (child.pid !== undefined) ctl.onSpawn?.(child.pid);
    const kill = () => {
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 2000).unref();
    };
    const timer = options.timeoutSec && options.timeoutSec > 0 ? setTimeout(() => ((timedOut = true), kill()), options.timeoutSec * 1000) : null;
    const onAbort = () => ((aborted = true), kill());
    ctl.signal?.addEventListener('abort', onAbort, { once: true });
    let settled = false;
    const finish = (code: number | null, sig: string | null, message: string | null) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      ctl.signal?.removeEventListener('abort', onAbort);
      resolve({ exitCode: code, signal: sig, timedOut, aborted, message, ms: Math.round(performance.now() - t0), argv });
    };
    // A failed spawn (no such program) reports 'error' and may never 'close'.
    child.on('error', (e) => {
      if (child.pid === undefined) finish(null, null, `cannot start the analyzer: ${e.message}`);
    });
    child.on('close', (code, sig) => finish(code, sig, lastErrorLine(join(dir, RESULT_FILES.log))));
  });
}
