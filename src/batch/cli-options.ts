// The `analyze` options that batch and `queue submit` pass through to every job, in one place.
import { resolve } from 'node:path';
import type { Options } from 'yargs';
import { UsageError } from '../errors.ts';
import type { AnalyzeOptions } from './types.ts';

export const JOB_ANALYZE_OPTIONS = {
  symbols: { type: 'string', array: true, requiresArg: true, describe: 'PDB, ISF file, or symbol directory for every dump (repeatable; paths as the workers see them)' },
  'symbol-server': { type: 'string', requiresArg: true, describe: 'Symbol server URL for missing kernel PDBs' },
  scan: { type: 'boolean', default: true, describe: 'Scan memory for process objects (--no-scan to skip)' },
  case: { type: 'string', requiresArg: true, describe: 'Case id for every report header' },
  examiner: { type: 'string', requiresArg: true, describe: 'Examiner name for every report header' },
  timeout: { type: 'number', default: 0, requiresArg: true, describe: 'Stop an analysis after this many seconds (0: no limit)' },
} as const satisfies Record<string, Options>;

/** The job options as the CLI parsed them. */
export interface JobAnalyzeInput {
  readonly symbols?: readonly string[];
  readonly symbolServer?: string;
  readonly scan?: boolean;
  readonly case?: string;
  readonly examiner?: string;
  readonly timeout?: number;
}

export function analyzeOptionsFromArgv(argv: JobAnalyzeInput): AnalyzeOptions {
  const timeout = argv.timeout ?? 0;
  if (!Number.isFinite(timeout) || timeout < 0) throw new UsageError('--timeout must be a number of seconds ≥ 0');
  const o: { -readonly [K in keyof AnalyzeOptions]: AnalyzeOptions[K] } = {};
  if (argv.symbols?.length) o.symbols = argv.symbols.map((p) => resolve(p));
  if (argv.symbolServer !== undefined) o.symbolServer = argv.symbolServer;
  if (argv.scan === false) o.scan = false;
  if (argv.case !== undefined) o.case = argv.case;
  if (argv.examiner !== undefined) o.examiner = argv.examiner;
  if (timeout > 0) o.timeoutSec = timeout;
  return o;
}
