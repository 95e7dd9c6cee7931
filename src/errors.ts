// Typed errors and the documented exit codes. Every failure a user can cause with an input
// ends as one of these: a one-line message and a distinct exit code, never a stack trace.

export const ExitCode = {
  /** Analysis finished (findings, if any, were below --fail-on). */
  Ok: 0,
  /** A finding at or above --fail-on. */
  Finding: 1,
  /** The input is damaged, truncated beyond use, or not a memory dump at all. */
  BadInput: 2,
  /** The input is a recognised format we do not analyse (32-bit, ARM64, an old dump type). */
  Unsupported: 3,
  /** The kernel's symbols are needed and none were found: the message says which file, where. */
  SymbolsNeeded: 4,
  /** Wrong command-line usage. */
  Usage: 64,
  /** A service the command needs (the Redis of the job queue) cannot be reached. */
  Unavailable: 69,
  /** A bug in vsm-forensics itself. */
  Internal: 70,
  /** An output file or directory cannot be created or written (sysexits EX_CANTCREAT); checked before any work. */
  CantCreate: 73,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export class VsmError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    /** A stable, machine-readable code, e.g. `dump.truncated-header`. */
    readonly code: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The evidence is not what it claims to be, or is damaged past use. */
export class BadInputError extends VsmError {
  constructor(message: string, code = 'bad-input') {
    super(message, ExitCode.BadInput, code);
  }
}

/** The evidence is recognised but not supported (architecture, dump type, 32-bit). */
export class UnsupportedError extends VsmError {
  constructor(message: string, code = 'unsupported') {
    super(message, ExitCode.Unsupported, code);
  }
}

/** No symbols for this kernel: carries what to fetch and where to put it. */
export class SymbolsNeededError extends VsmError {
  constructor(
    message: string,
    readonly wanted: { pdbName: string; guid: string; age: number; storePath: string; isfPath: string; url?: string },
  ) {
    super(message, ExitCode.SymbolsNeeded, 'symbols.needed');
  }
}

export class UsageError extends VsmError {
  constructor(message: string) {
    super(message, ExitCode.Usage, 'usage');
  }
}

/** A service the command needs is down or unreachable (sysexits EX_UNAVAILABLE). */
export class UnavailableError extends VsmError {
  constructor(message: string, code = 'unavailable') {
    super(message, ExitCode.Unavailable, code);
  }
}

/** An output path (--json, --html, --csv, --output-dir, -o, batch --out) cannot be written. */
export class OutputPathError extends VsmError {
  constructor(message: string, code = 'output.path') {
    super(message, ExitCode.CantCreate, code);
  }
}

/** An input path given as an option (--symbols, --isf, a scenario file) does not exist or cannot be read: bad input. */
export class InputPathError extends VsmError {
  constructor(message: string, code = 'input.path') {
    super(message, ExitCode.BadInput, code);
  }
}
