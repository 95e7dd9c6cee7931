// What every command module shares: the global options, the typed-argv helpers, the value checks
// that yargs does not do itself (a scalar option given twice, a number that is not one, an integer
// range), "did you mean" for a mistyped option or value, and the checks of output and input paths
// that run before any work. Kept light (no analysis code): the CLI loads it for every command.
import { accessSync, closeSync, constants, mkdirSync, openSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import leven from 'leven';
import type { ArgumentsCamelCase, Argv, InferredOptionTypes, Options } from 'yargs';
import { InputPathError, OutputPathError, UsageError } from '../errors.ts';

export type OptionTable = Record<string, Options>;

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'silent'] as const;
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;

/** Options every command takes. */
export const GLOBAL_OPTIONS = {
  'log-level': { type: 'string', choices: LOG_LEVELS, default: 'warn', requiresArg: true, describe: 'Log level on stderr', global: true },
  'log-format': {
    type: 'string',
    choices: LOG_FORMATS,
    default: 'auto',
    requiresArg: true,
    describe: 'Logs as JSON lines (json), human-readable lines (pretty), or pretty on a terminal and JSON otherwise (auto)',
    global: true,
  },
  quiet: { type: 'boolean', default: false, describe: 'Only errors on stderr (no progress bars, no warnings)', global: true },
} as const satisfies OptionTable;

/** Symbol sources: analyze, symbols which, and the jobs batch and queue submit start. */
export const SYMBOL_OPTIONS = {
  symbols: { type: 'string', array: true, requiresArg: true, describe: 'PDB, ISF file (.json/.json.xz), or symbol directory; repeatable' },
  'symbol-server': { type: 'string', requiresArg: true, describe: 'Download missing kernel PDBs from this symbol server URL' },
} as const satisfies OptionTable;

export type GlobalArgs = InferredOptionTypes<typeof GLOBAL_OPTIONS>;

/** The parsed arguments a builder produces, as its handler receives them (kebab and camelCase keys). */
export type ArgvOf<B> = B extends (y: Argv<GlobalArgs>) => Argv<infer U> ? ArgumentsCamelCase<U> : never;

/** Where a command handler leaves its exit code for main() (handlers return nothing to yargs). */
let exitCode = 0;
export function resetExitCode(): void {
  exitCode = 0;
}
export function lastExitCode(): number {
  return exitCode;
}
/** Wraps a command's run(args) → exit code as a yargs handler. */
export function exitWith<A>(run: (args: A) => Promise<number>): (args: A) => Promise<void> {
  return async (args) => {
    exitCode = await run(args);
  };
}

/** Options that take a file name or `-` (stdout): `--json -` is joined to `--json=-` before parsing. */
export const DASH_VALUE_OPTIONS = ['--json', '--ndjson', '--html', '--csv'] as const;

/**
 * Checks yargs leaves to us, from the option table itself: a scalar option given twice (yargs
 * would make it an array), a number option whose value is not a finite number (yargs gives NaN or
 * null). Returns a yargs `check` function: it throws a UsageError, which the CLI prints as one line.
 */
/** Options whose value is a URL, with the schemes each accepts (checked by tableCheck). */
export const URL_OPTIONS: Readonly<Record<string, readonly string[]>> = { 'symbol-server': ['http:', 'https:'] };

/** Whether `v` parses as a URL with one of `schemes`. */
function isUrl(v: string, schemes: readonly string[]): boolean {
  try {
    return schemes.includes(new URL(v).protocol);
  } catch {
    return false;
  }
}

export function tableCheck(table: OptionTable): (argv: Record<string, unknown>) => true {
  return (argv) => {
    for (const [name, o] of Object.entries(table)) {
      const v = argv[name];
      if (v === undefined) continue;
      const schemes = URL_OPTIONS[name];
      if (schemes && typeof v === 'string' && v !== '' && !isUrl(v, schemes)) throw new UsageError(`--${name} must be an ${schemes.map((x) => x.replace(':', '')).join(' or ')} URL, got ${JSON.stringify(v)}`);
      if (!o.array && Array.isArray(v)) throw new UsageError(`--${name} given more than once`);
      if (o.type === 'number') {
        const values = Array.isArray(v) ? v : [v];
        if (values.some((x) => typeof x !== 'number' || !Number.isFinite(x))) throw new UsageError(`--${name} needs a number`);
      }
      if (o.type === 'string' && (Array.isArray(v) ? v : [v]).some((x) => x === '')) throw new UsageError(`--${name} needs a value`);
    }
    return true;
  };
}

/** Throws a UsageError unless `v` is undefined or an integer in [min, max]. */
export function checkInteger(name: string, v: number | undefined, min: number, max: number): void {
  if (v !== undefined && (!Number.isInteger(v) || v < min || v > max)) throw new UsageError(`--${name} must be an integer from ${min} to ${max}`);
}

/**
 * The candidate a mistyped `word` most likely meant: the only one it is a prefix of (`--out` for
 * `--output`), else the nearest by edit distance when near enough (2 edits from 4 characters on,
 * 1 below; a third of the length for long words).
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  const prefixed = candidates.filter((c) => c.toLowerCase().startsWith(w));
  if (w.length >= 2 && prefixed.length === 1) return prefixed[0];
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = leven(w, c.toLowerCase());
    if (d < bestD) [best, bestD] = [c, d];
  }
  const near = Math.max(w.length >= 4 ? 2 : 1, Math.floor(w.length / 3));
  return best !== undefined && bestD <= near ? best : undefined;
}

/** Whether `name` (as yargs reports it, without dashes) was written as an option in the raw arguments. */
function writtenAsOption(name: string, raw: readonly string[]): boolean {
  if (name.startsWith('-')) return true;
  return raw.some((t) => t === `--${name}` || t === `-${name}` || t.startsWith(`--${name}=`) || t === `--no-${name}`);
}

/** yargs' validation message, made one line, with a suggestion where a known name is close. */
export function usageMessage(
  msg: string,
  context: {
    readonly raw: readonly string[];
    readonly options: readonly string[];
    readonly choicesOf: (option: string) => readonly string[] | undefined;
    readonly subcommands?: readonly string[];
  },
): string {
  const unknown = /^Unknown arguments?: (.+)$/s.exec(msg);
  if (unknown) {
    const names = unknown[1].split(', ').map((s) => s.trim());
    const opts = names.filter((n) => writtenAsOption(n, context.raw)).map((n) => n.replace(/^-+/, ''));
    // A mistyped subcommand first: its options are unknown only because it is (`queue add --redis …`).
    const subs = context.subcommands ?? [];
    const word = names.find((n) => !writtenAsOption(n, context.raw));
    if (subs.length && word !== undefined && !context.raw.some((t) => subs.includes(t))) {
      const sub = closest(word, subs);
      return `unknown command ${JSON.stringify(word)}${sub ? `; did you mean ${sub}?` : ` (one of ${subs.join(', ')})`}`;
    }
    if (opts.length) {
      const hint = closest(opts[0], context.options);
      return `unknown option ${opts.map((n) => (n.length === 1 ? `-${n}` : `--${n}`)).join(', ')}${hint && hint !== opts[0] ? `; did you mean --${hint}?` : ''}`;
    }
    return `unexpected argument${names.length > 1 ? 's' : ''} ${names.map((n) => JSON.stringify(n)).join(', ')}`;
  }
  const invalid = /Argument: ([^,]+), Given: "([^"]*)", Choices: (.+)$/s.exec(msg);
  if (invalid) {
    const [, option, given, choices] = invalid;
    const hint = closest(given, context.choicesOf(option) ?? []);
    return `--${option} ${JSON.stringify(given)} is not one of ${choices.replace(/\s+/g, ' ').trim()}${hint ? `; did you mean ${hint}?` : ''}`;
  }
  const notEnough = /^Not enough arguments following: (.+)$/.exec(msg);
  if (notEnough) return `--${notEnough[1]} needs a value`;
  const missing = /^Not enough non-option arguments: got (\d+), need at least (\d+)$/.exec(msg);
  if (missing) return `missing argument (got ${missing[1]}, need ${missing[2]}): name the ${missing[2] === '1' ? 'input' : 'inputs'}`;
  const required = /^Missing required arguments?: (.+)$/.exec(msg);
  if (required) return `missing ${required[1].split(', ').map((r) => (r.length === 1 ? `-${r}` : r === 'dump' || r === 'pdb' || r === 'inputs' ? `<${r}>` : `--${r}`)).join(', ')}`;
  return msg.replace(/\s*\n\s*/g, ' ').trim();
}

function writableDir(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The error code of a failed file-system call ('error' when it has none). */
function errorCode(e: unknown): string {
  return e instanceof Error && 'code' in e ? String(e.code) : 'error';
}

/**
 * Opens `path` as the write will (`wx`: a new file, removed again at once; `r+`: an existing one,
 * not truncated) and returns the error code when that fails, else null. access() alone is not
 * enough: for root it says yes to /proc and /sys, where creating a file fails.
 */
function openProbe(path: string, existing: boolean): string | null {
  try {
    closeSync(openSync(path, existing ? 'r+' : 'wx'));
    if (!existing) unlinkSync(path);
    return null;
  } catch (e) {
    const code = errorCode(e);
    // A file of the probe's name already there: files can be made here; it is not ours to remove.
    return code === 'EEXIST' ? null : code;
  }
}

/** A file of this name is created in a directory to prove files can be written there. */
const PROBE_NAME = `.vsm-forensics-probe-${process.pid}`;

/**
 * An output file can be written: `-` (stdout) when allowed; otherwise its directory exists and is
 * writable, and the path is not a directory. Checked before the analysis so that a typo in a path
 * costs nothing and ends as one line with its own exit code (73), never after minutes of work.
 */
export function checkOutputFile(option: string, path: string, opts: { allowStdout?: boolean; createDirs?: boolean } = {}): void {
  if (path === '-') {
    if (opts.allowStdout) return;
    throw new UsageError(`--${option} needs a file name (it cannot write to stdout)`);
  }
  const abs = resolve(path);
  let st;
  try {
    st = statSync(abs);
  } catch {
    st = undefined;
  }
  if (st?.isDirectory()) throw new OutputPathError(`--${option} ${path}: is a directory`);
  const dir = dirname(abs);
  if (opts.createDirs && !st) {
    ensureOutputDir(option, dir);
    const failed = openProbe(abs, false);
    if (failed) throw new OutputPathError(`--${option} ${path}: cannot be written (${failed})`);
    return;
  }
  let dst;
  try {
    dst = statSync(dir);
  } catch {
    throw new OutputPathError(`--${option} ${path}: directory ${dir} does not exist`);
  }
  if (!dst.isDirectory()) throw new OutputPathError(`--${option} ${path}: ${dir} is not a directory`);
  if (st) {
    try {
      accessSync(abs, constants.W_OK);
    } catch {
      throw new OutputPathError(`--${option} ${path}: file is not writable`);
    }
  } else if (!writableDir(dir)) throw new OutputPathError(`--${option} ${path}: directory ${dir} is not writable`);
  const failed = openProbe(abs, st !== undefined);
  if (failed) throw new OutputPathError(`--${option} ${path}: cannot be written (${failed})`);
}

/**
 * An output directory exists and is writable, or is created now, one level at a time (not
 * `mkdirSync(recursive)`, which never returns on some pseudo file systems such as /proc).
 */
export function ensureOutputDir(option: string, path: string): void {
  const abs = resolve(path);
  const missing: string[] = [];
  let d = abs;
  for (;;) {
    let st;
    try {
      st = statSync(d);
    } catch {
      st = undefined;
    }
    if (st) {
      if (!st.isDirectory()) throw new OutputPathError(`--${option} ${path}: ${d} is not a directory`);
      break;
    }
    const up = dirname(d);
    if (up === d) throw new OutputPathError(`--${option} ${path}: cannot be created`);
    missing.unshift(d);
    d = up;
  }
  if (!writableDir(d)) throw new OutputPathError(`--${option} ${path}: ${d === abs ? 'directory' : `parent ${d}`} is not writable`);
  for (const m of missing) {
    try {
      mkdirSync(m);
    } catch (e) {
      const code = errorCode(e);
      if (code !== 'EEXIST') throw new OutputPathError(`--${option} ${path}: cannot create ${m} (${code})`);
    }
  }
  const failed = openProbe(join(abs, PROBE_NAME), false);
  if (failed) throw new OutputPathError(`--${option} ${path}: files cannot be created in it (${failed})`);
}

/** An input path (a symbols file or directory, a scenario) exists and can be read. */
export function checkInputPath(option: string, path: string): void {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new InputPathError(`--${option} ${path}: no such file or directory`);
  }
  try {
    accessSync(path, st.isDirectory() ? constants.R_OK | constants.X_OK : constants.R_OK);
  } catch {
    throw new InputPathError(`--${option} ${path}: not readable`);
  }
}
