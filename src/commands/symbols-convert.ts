// `vsm-forensics symbols convert X.pdb -o out.json.xz`: a PDB to a Volatility 3 ISF file
// (compression chosen by the output name). Prints one summary line; details go to the log.
import type { Argv } from 'yargs';
import { ExitCode } from '../errors.ts';
import { log } from '../log.ts';
import { pdbToIsfWithStats, writeIsfFile } from '../ntos/isf-write.ts';
import { openPdbFile } from '../ntos/pdb/index.ts';
import { guidDashed } from '../ntos/pe.ts';
import { checkInputPath, checkOutputFile, exitWith, tableCheck, type ArgvOf, type GlobalArgs, type OptionTable } from './args.ts';

export const CONVERT_OPTIONS = {
  output: { alias: 'o', type: 'string', demandOption: true, requiresArg: true, describe: 'ISF file to write: .json, .json.xz or .json.gz' },
  'pdb-name': { type: 'string', requiresArg: true, describe: "Database name for the ISF metadata (default: the PDB's file name, e.g. ntkrnlmp.pdb)" },
} as const satisfies OptionTable;

const builder = (y: Argv<GlobalArgs>) =>
  y
    .positional('pdb', { type: 'string', demandOption: true, describe: 'PDB file (MSF 7.0)' })
    .options(CONVERT_OPTIONS)
    .check(tableCheck(CONVERT_OPTIONS))
    .example('$0 symbols convert ntkrnlmp.pdb -o ntkrnlmp.json.xz', 'an ISF Volatility 3 and analyze --symbols both read');

export type ConvertArgs = ArgvOf<typeof builder>;

export const convertCommand = {
  command: 'convert <pdb>',
  describe: 'Convert a PDB to a Volatility 3 ISF file (.json, .json.xz or .json.gz by the output name)',
  builder,
  handler: exitWith((a: ConvertArgs) => runConvert(a)),
};

export async function runConvert(argv: { readonly pdb: string; readonly output: string; readonly pdbName?: string }): Promise<number> {
  const input = argv.pdb;
  const output = argv.output;
  checkInputPath('pdb', input);
  checkOutputFile('output', output);
  const t0 = performance.now();
  const pdb = openPdbFile(input);
  const pdbName = argv.pdbName ? argv.pdbName : pdb.name;
  const { doc, stats } = pdbToIsfWithStats(pdb, { databaseName: pdbName });
  const bytes = writeIsfFile(doc, output);
  const ms = Math.round(performance.now() - t0);
  log().info({ input, output, ...stats, tpi: pdb.tpi.stats, ms }, 'converted PDB to ISF');
  if (stats.damagedRecords > 0) log().warn({ damagedRecords: stats.damagedRecords }, 'some type records could not be decoded and were skipped');
  process.stdout.write(
    `${output}: ${pdbName} ${guidDashed(pdb.guid)} age ${pdb.age}, ${stats.userTypes} types, ${stats.enums} enums, ` +
      `${stats.symbols} symbols, ${bytes} bytes (${ms} ms)\n` +
      `Volatility path: windows/${pdbName}/${pdb.guid}-${pdb.age}.json.xz\n`,
  );
  return ExitCode.Ok;
}
