// The commands, as the top-level help lists them. Each command's module (options, examples,
// handler: a yargs CommandModule with typed arguments) lives in its own file and is imported only
// when that command runs, so start-up loads just what the command needs.
import type { Argv } from 'yargs';
import type { GlobalArgs, OptionTable } from './args.ts';

/** What a command file exports: how to add its module to the parser, and every option it accepts (for "did you mean"). */
export interface CommandFile {
  readonly register: (y: Argv<GlobalArgs>) => Argv<GlobalArgs>;
  readonly options: OptionTable;
  /** Subcommand names (symbols, queue), for "did you mean" on a mistyped one. */
  readonly subcommands?: readonly string[];
}

export interface CatalogueEntry {
  readonly name: string;
  /** yargs command string (name and positionals). */
  readonly command: string;
  readonly describe: string;
  readonly load: () => Promise<CommandFile>;
}

export const CATALOGUE: readonly CatalogueEntry[] = [
  {
    name: 'info',
    command: 'info <dump>',
    describe: 'Describe a dump: format, header, memory runs, SHA-256',
    load: async () => (await import('./info.ts')).cli,
  },
  {
    name: 'analyze',
    command: 'analyze <dump>',
    describe: 'List processes, mark secure processes and trustlets, check VTL1 page isolation; terminal table and JSON/NDJSON/HTML/CSV reports',
    load: async () => (await import('./analyze.ts')).cli,
  },
  {
    name: 'symbols',
    command: 'symbols',
    describe: 'Kernel symbols: which PDB a dump needs, convert a PDB to ISF',
    load: async () => (await import('./symbols.ts')).cli,
  },
  {
    name: 'synth',
    command: 'synth',
    describe: 'Write a synthetic dump from a scenario and a real kernel layout (for tests, training and SIEM pipelines)',
    load: async () => (await import('./synth.ts')).cli,
  },
  {
    name: 'batch',
    command: 'batch <inputs..>',
    describe: 'Analyze many dumps on this machine: one result directory per evidence SHA-256, an index and combined NDJSON',
    load: async () => (await import('./batch.ts')).cli,
  },
  {
    name: 'queue',
    command: 'queue',
    describe: 'Job queue on Redis (BullMQ) for workers on many machines',
    load: async () => (await import('./queue.ts')).cli,
  },
  {
    name: 'worker',
    command: 'worker',
    describe: 'Take analysis jobs from the Redis queue until stopped (SIGTERM: finish running jobs first)',
    load: async () => (await import('./worker.ts')).cli,
  },
  {
    name: 'demo',
    command: 'demo',
    describe: 'Generate the bundled sample dump (once) and analyze it, writing reports under out/ (or -o DIR)',
    load: async () => (await import('./demo.ts')).cli,
  },
];

export function entry(name: string): CatalogueEntry {
  const e = CATALOGUE.find((c) => c.name === name);
  if (!e) throw new Error(`no command ${name} in the catalogue`);
  return e;
}
