// The `analyze` options that batch and `queue submit` pass through to every job, in one place.
import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import { UsageError } from '../errors.ts';
import type { AnalyzeOptions } from './types.ts';

export function withAnalyzeOptions<T>(y: Argv<T>) {
  return y
    .option('symbols', { type: 'string', array: true, describe: 'PDB, ISF file, or symbol directory for every dump (repeatable; paths as the workers see them)' })
    .option('symbol-server', { type: 'string', describe: 'Symbol server URL for missing kernel PDBs' })
    .option('scan', { type: 'boolean', default: true, describe: 'Scan memory for process objects (--no-scan to skip)' })
    .option('case', { type: 'string', describe: 'Case id for every report header' })
    .option('examiner', { type: 'string', describe: 'Examiner name for every report header' })
    .option('timeout', { type: 'number', default: 0, describe: 'Stop an analysis after this many seconds (0: no limit)' });
}

export function analyzeOptionsFromArgv(argv: Record<string, unknown>): AnalyzeOptions {
  const timeout = (argv.timeout as number | undefined) ?? 0;
  if (!Number.isFinite(timeout) || timeout < 0) throw new UsageError('--timeout must be a number of seconds ≥ 0');
  const o: { -readonly [K in keyof AnalyzeOptions]: AnalyzeOptions[K] } = {};
  const symbols = argv.symbols as string[] | undefined;
  if (symbols?.length) o.symbols = symbols.map((p) => resolve(p));
  if (typeof argv.symbolServer === 'string') o.symbolServer = argv.symbolServer;
  if (argv.scan === false) o.scan = false;
  if (typeof argv.case === 'string') o.case = argv.case;
  if (typeof argv.examiner === 'string') o.examiner = argv.examiner;
  if (timeout > 0) o.timeoutSec = timeout;
  return o;
}
