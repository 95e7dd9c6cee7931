// The command line: it only wires the layers together. Each command is a typed yargs CommandModule
// in its own file under src/commands, imported only when it runs (src/commands/catalogue.ts).
// Arguments are checked before any work: an unknown option, a wrong or missing value, an extra
// argument or a missing input ends as one line, a usage hint and exit 64 — the command never runs.
import yargs, { type Argv } from 'yargs';
import { ExitCode, UsageError, VsmError } from './errors.ts';
import { packageInfo } from './package-info.ts';
import { terminalText } from './reports/sanitize.ts';
import { DASH_VALUE_OPTIONS, GLOBAL_OPTIONS, closest, lastExitCode, resetExitCode, usageMessage, type GlobalArgs, type OptionTable } from './commands/args.ts';
import { CATALOGUE, type CatalogueEntry } from './commands/catalogue.ts';

/**
 * yargs reads a lone `-` as a positional (stdin), so `--json -` would lose its value: join such
 * pairs into `--json=-` before parsing.
 */
export function joinDashValues(args: readonly string[], options: readonly string[] = DASH_VALUE_OPTIONS): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (options.includes(args[i]) && args[i + 1] === '-') {
      out.push(`${args[i]}=-`);
      i++;
    } else out.push(args[i]);
  }
  return out;
}

/** Global options that take a separate value (`--log-level debug`), skipped when looking for the command. */
const GLOBAL_VALUE_OPTIONS = Object.entries(GLOBAL_OPTIONS)
  .filter(([, o]) => o.type !== 'boolean')
  .map(([name]) => `--${name}`);

/** The command word: the first argument that is neither an option nor a global option's value. */
export function commandWord(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') return args[i + 1];
    if (a.startsWith('-')) {
      if (GLOBAL_VALUE_OPTIONS.includes(a)) i++;
      continue;
    }
    return a;
  }
  return undefined;
}

/** A usage error: printed as one line and a hint naming the command's help. */
function usageHint(cmd: CatalogueEntry | undefined): string {
  return cmd
    ? `usage: vsm-forensics ${cmd.command} [options] — see vsm-forensics ${cmd.name} --help`
    : 'usage: vsm-forensics <command> [options] — see vsm-forensics --help';
}

function printUsageError(message: string, cmd: CatalogueEntry | undefined): number {
  process.stderr.write(`vsm-forensics: ${terminalText(message)}\n${usageHint(cmd)}\n`);
  return ExitCode.Usage;
}

/** The part of yargs' internal API that skipHelpCaching reaches (not in yargs' typings). */
interface YargsInternals {
  getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: unknown } };
}

/**
 * yargs formats the whole help screen after every command handler, in case the handler then asks
 * for it (ours never do): string-width over every option, ~50 ms on each run of every command.
 * Turned off on yargs' usage object, which the parser keeps for its lifetime; help asked for
 * (`--help`, `showHelp()`) is formatted when asked, as before. Returns whether yargs still has the
 * hook (test/cli-startup.test.ts fails when an upgrade of yargs removes it).
 */
export function skipHelpCaching(parser: Argv<GlobalArgs>): boolean {
  const usage = (parser as unknown as YargsInternals).getInternalMethods?.().getUsageInstance?.();
  if (!usage || typeof usage.cacheHelpMessage !== 'function') return false;
  usage.cacheHelpMessage = () => {};
  return true;
}

export async function main(rawArgs: string[]): Promise<number> {
  const args = joinDashValues(rawArgs);
  const word = commandWord(args);
  const selected = word === undefined ? undefined : CATALOGUE.find((c) => c.name === word);
  if (word !== undefined && !selected && !word.startsWith('-')) {
    const hint = closest(word, CATALOGUE.map((c) => c.name));
    return printUsageError(`unknown command ${JSON.stringify(word)}${hint ? `; did you mean ${hint}?` : ''}`, undefined);
  }
  resetExitCode();
  const options: OptionTable = { ...GLOBAL_OPTIONS };
  let subcommands: readonly string[] = [];
  let parser: Argv<GlobalArgs> = yargs(args)
    .scriptName('vsm-forensics')
    // yargs' own messages in English whatever LANG says: usageMessage() reads them (a German
    // "Unzulässige Werte" would reach the user unexplained and without "did you mean"), and the
    // built bundle carries no yargs translations.
    .locale('en')
    .usage('$0 <command> [options]\n\nMemory-dump forensics for Windows systems running Virtual Secure Mode.')
    .options(GLOBAL_OPTIONS)
    .middleware(async (argv) => {
      const { configureLog } = await import('./log.ts');
      await configureLog(argv.quiet ? 'error' : argv.logLevel, argv.logFormat);
    });
  for (const c of CATALOGUE) {
    if (c === selected) {
      const file = await c.load();
      Object.assign(options, file.options);
      subcommands = file.subcommands ?? [];
      parser = file.register(parser);
    } else {
      // Listed in the top-level help; never run (main() loads the command it runs).
      parser = parser.command(c.command, c.describe, {}, () => {
        throw new Error(`command ${c.name} was not loaded`);
      });
    }
  }
  const choicesOf = (name: string) => options[name]?.choices?.map(String);
  parser = parser
    .demandCommand(1, 'name a command')
    .strict()
    .help()
    .alias('help', 'h')
    .version(packageInfo().version)
    .wrap(Math.min(120, process.stdout.columns || 100))
    .showHelpOnFail(false)
    .fail((msg, err) => {
      // A handler's own error (or a bug) goes on to the catch below; yargs' validation becomes a usage error.
      if (err && !(err instanceof UsageError) && err.name !== 'YError') throw err;
      throw err instanceof UsageError ? err : new UsageError(usageMessage(msg ?? err?.message ?? 'wrong usage', { raw: args, options: Object.keys(options), choicesOf, subcommands }));
    })
    .exitProcess(false);
  skipHelpCaching(parser);
  try {
    await parser.parseAsync();
  } catch (e) {
    if (e instanceof UsageError) return printUsageError(e.message.split('\n')[0], selected);
    if (e instanceof VsmError) {
      // Messages can carry evidence-controlled text (a path, a name): no control character reaches the terminal.
      process.stderr.write(`vsm-forensics: ${terminalText(e.message.split('\n')[0])}\n`);
      return e.exitCode;
    }
    process.stderr.write(`vsm-forensics: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return ExitCode.Internal;
  }
  return lastExitCode();
}
