// The command line: it only wires the layers together. Each command lives in src/commands.
import yargs, { type Argv } from 'yargs';
import { ExitCode, VsmError } from './errors.ts';
import { packageInfo } from './package-info.ts';
import { configureLog, type LogLevel } from './log.ts';
import { terminalText } from './reports/sanitize.ts';
import { withAnalyzeOptions } from './batch/cli-options.ts';
import { withQueueOptions } from './batch/queue/cli-options.ts';

type Handler = (argv: Record<string, unknown>) => Promise<number>;

/** Lazily imports a command module so that `--help` and small commands start fast. */
function lazy(load: () => Promise<{ run: Handler }>): Handler {
  return async (argv) => (await load()).run(argv);
}

/**
 * yargs reads a lone `-` as a positional (stdin), so `--json -` would lose its value: join such
 * pairs into `--json=-` before parsing.
 */
export function joinDashValues(args: readonly string[], options: readonly string[] = ['--json', '--ndjson', '--html']): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (options.includes(args[i]) && args[i + 1] === '-') {
      out.push(`${args[i]}=-`);
      i++;
    } else out.push(args[i]);
  }
  return out;
}

export async function main(rawArgs: string[]): Promise<number> {
  const args = joinDashValues(rawArgs);
  let exitCode: number = ExitCode.Ok;
  const wrap = (h: Handler) => async (argv: Record<string, unknown>) => {
    configureLog((argv.quiet ? 'error' : (argv.logLevel as LogLevel)) ?? 'warn');
    exitCode = await h(argv);
  };
  const parser: Argv = yargs(args)
    .scriptName('vsm-forensics')
    .usage('$0 <command> [options]\n\nMemory-dump forensics for Windows systems running Virtual Secure Mode.')
    .option('log-level', {
      type: 'string',
      choices: ['trace', 'debug', 'info', 'warn', 'error', 'silent'],
      default: 'warn',
      describe: 'Structured (JSON) log level on stderr',
    })
    .option('quiet', { type: 'boolean', default: false, describe: 'Only errors on stderr' })
    .command(
      'info <dump>',
      'Describe a dump: format, header, memory runs, SHA-256',
      (y) =>
        y
          .positional('dump', { type: 'string', demandOption: true })
          .option('json', { type: 'boolean', default: false, describe: 'Print JSON on stdout' })
          .option('hash', { type: 'boolean', default: true, describe: 'Compute the SHA-256 of the evidence (--no-hash to skip)' }),
      wrap(lazy(() => import('./commands/info.ts'))),
    )
    .command(
      'analyze <dump>',
      'List processes, mark secure processes and trustlets, check VTL1 page isolation',
      (y) =>
        y
          .positional('dump', { type: 'string', demandOption: true })
          .option('symbols', { type: 'string', array: true, describe: 'PDB, ISF file, or symbol directory (repeatable)' })
          .option('symbol-server', { type: 'string', describe: 'Download missing kernel PDBs from this symbol server URL' })
          .option('json', { type: 'string', describe: 'Write the JSON report to FILE (- for stdout)' })
          .option('ndjson', { type: 'string', describe: 'Write ECS NDJSON events to FILE (- for stdout)' })
          .option('html', { type: 'string', describe: 'Write the HTML report to FILE' })
          .option('scan', { type: 'boolean', default: true, describe: 'Scan memory for process objects (--no-scan to skip)' })
          .option('hash', { type: 'boolean', default: true, describe: 'Hash the evidence (--no-hash to skip)' })
          // batch/worker: the SHA-256 they computed, recorded instead of hashing again.
          .option('evidence-sha256', { type: 'string', hidden: true, describe: 'SHA-256 of the evidence computed by the caller (batch, worker)' })
          .option('evidence-sha256-at', { type: 'string', hidden: true, describe: 'When --evidence-sha256 was computed (ISO-8601 UTC)' })
          .option('fail-on', { type: 'string', choices: ['info', 'low', 'medium', 'high', 'critical'], describe: 'Exit 1 when a finding reaches this severity' })
          .option('case', { type: 'string', describe: 'Case id for the report header' })
          .option('examiner', { type: 'string', describe: 'Examiner name for the report header' }),
      wrap(lazy(() => import('./commands/analyze.ts'))),
    )
    .command('symbols', 'Kernel symbols: which PDB a dump needs, convert a PDB to ISF', (y) =>
      y
        .command(
          'which <dump>',
          "Print the kernel's PDB name, GUID and age, and where its symbols were found (or what to fetch)",
          (yy) =>
            yy
              .positional('dump', { type: 'string', demandOption: true })
              .option('symbols', { type: 'string', array: true })
              .option('symbol-server', { type: 'string' })
              .option('json', { type: 'boolean', default: false }),
          wrap(lazy(async () => ({ run: (await import('./commands/symbols.ts')).runWhich }))),
        )
        .command(
          'convert <pdb>',
          'Convert a PDB to a Volatility 3 ISF file (.json, .json.xz or .json.gz by the output name)',
          (yy) =>
            yy
              .positional('pdb', { type: 'string', demandOption: true })
              .option('o', { alias: 'output', type: 'string', demandOption: true })
              .option('pdb-name', { type: 'string', describe: "Database name for the ISF metadata (default: the PDB's file name, e.g. ntkrnlmp.pdb)" }),
          wrap(lazy(async () => ({ run: (await import('./commands/symbols.ts')).runConvert }))),
        )
        .demandCommand(1),
    )
    .command(
      'synth',
      'Write a synthetic dump from a scenario and a real kernel layout (for tests, training and SIEM pipelines)',
      (y) =>
        y
          .option('scenario', { type: 'string', default: 'vsm-credential-guard', describe: 'Scenario name or path to a scenario JSON' })
          .option('isf', { type: 'string', describe: 'ISF of the kernel layout (default: the scenario’s)' })
          .option('form', { type: 'string', choices: ['full', 'bitmap', 'active', 'kernel', 'raw'], default: 'full' })
          .option('size', { type: 'string', default: '64MiB', describe: 'Physical memory size, e.g. 16MiB, 1GiB' })
          .option('seed', { type: 'number', default: 1 })
          .option('truncate', { type: 'number', describe: 'Cut the file at this fraction of its size (0..1), overriding the scenario' })
          .option('o', { alias: 'output', type: 'string', demandOption: true, describe: 'Output dump path; ground truth goes beside it as .truth.json' }),
      wrap(lazy(() => import('./commands/synth.ts'))),
    )
    .command(
      'batch <inputs..>',
      'Analyze many dumps on this machine: a pool of workers, one result directory per evidence SHA-256, an index and combined NDJSON',
      (y) =>
        withAnalyzeOptions(
          y
            .positional('inputs', { type: 'string', array: true, demandOption: true, describe: 'Dump files and directories (walked; text files skipped)' })
            .option('out', { alias: 'o', type: 'string', demandOption: true, describe: 'Output directory: DIR/<sha256>/, DIR/index.html, DIR/events.ndjson' })
            .option('jobs', { alias: 'j', type: 'number', describe: 'Analyses at once (default: the number of cores)' })
            .option('force', { type: 'boolean', default: false, describe: 'Analyze again even when a result exists' })
            .option('fail-on', { type: 'string', choices: ['info', 'low', 'medium', 'high', 'critical'], describe: 'Exit 1 when any dump has a finding at or above this severity' })
            .option('json', { type: 'boolean', default: false, describe: 'Print the batch summary as JSON on stdout' }),
        ),
      wrap(lazy(() => import('./commands/batch.ts'))),
    )
    .command('queue', 'Job queue on Redis (BullMQ) for workers on many machines', (y) =>
      withQueueOptions(y)
        .command(
          'submit <inputs..>',
          'Hash dumps here and queue one analysis job per evidence SHA-256 (only paths and hashes go to Redis)',
          (yy) =>
            withAnalyzeOptions(
              yy
                .positional('inputs', { type: 'string', array: true, demandOption: true, describe: 'Dump files and directories, at paths every worker can read' })
                .option('out', { alias: 'o', type: 'string', demandOption: true, describe: 'Output directory, at a path every worker can write' })
                .option('attempts', { type: 'number', default: 3, describe: 'Attempts per job, retries included' })
                .option('backoff', { type: 'number', default: 10, describe: 'First retry delay in seconds (doubles each retry)' })
                .option('priority', { type: 'number', describe: 'Job priority, 1 = highest' })
                .option('json', { type: 'boolean', default: false, describe: 'Print the outcome per dump as JSON' }),
            ),
          wrap(lazy(async () => ({ run: (await import('./commands/queue.ts')).runSubmit }))),
        )
        .command(
          'status',
          'Job counts, workers, running and failed jobs',
          (yy) =>
            yy
              .option('json', { type: 'boolean', default: false, describe: 'Print JSON on stdout' })
              .option('limit', { type: 'number', default: 50, describe: 'At most this many running and failed jobs listed' })
              .option('clean', { type: 'boolean', default: false, describe: 'Remove temp directories that dead workers of this host left in the output directories' }),
          wrap(lazy(async () => ({ run: (await import('./commands/queue.ts')).runStatus }))),
        )
        .demandCommand(1),
    )
    .command(
      'worker',
      'Take analysis jobs from the Redis queue until stopped (SIGTERM: finish running jobs first)',
      (y) =>
        withQueueOptions(y)
          .option('concurrency', { alias: 'c', type: 'number', describe: 'Analyses at once (default: the number of cores)' })
          .option('name', { type: 'string', describe: 'Worker name in queue status (default: host:pid)' })
          .option('lock-duration', { type: 'number', default: 30000, describe: 'Job lock in ms: a dead worker’s job runs elsewhere after this long' })
          .option('grace', { type: 'number', describe: 'Seconds running analyses may take to finish after SIGTERM before they are stopped (default 1500)' }),
      wrap(lazy(() => import('./commands/worker.ts'))),
    )
    .command('demo', 'Generate the default sample if needed and analyze it, writing reports under out/', (y) => y, wrap(lazy(() => import('./commands/demo.ts'))))
    .demandCommand(1, 'Name a command; see --help.')
    .strict()
    .help()
    .version(packageInfo().version)
    .fail((msg, err, y) => {
      if (err) throw err;
      process.stderr.write(`vsm-forensics: ${msg}\n`);
      exitCode = ExitCode.Usage;
      void y;
    })
    .exitProcess(false);
  try {
    await parser.parseAsync();
  } catch (e) {
    if (e instanceof VsmError) {
      // Messages can carry evidence-controlled text (a path, a name): no control character reaches the terminal.
      process.stderr.write(`vsm-forensics: ${terminalText(e.message.split('\n')[0])}\n`);
      return e.exitCode;
    }
    process.stderr.write(`vsm-forensics: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
    return ExitCode.Internal;
  }
  return exitCode;
}
