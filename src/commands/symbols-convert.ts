// `vsm-forensics symbols convert X.pdb -o out.json.xz`: a PDB to a Volatility 3 ISF file
// (compression chosen by the output name). Prints one summary line; details go to the log.
import { ExitCode, UsageError } from '../errors.ts';
import { log } from '../log.ts';
import { pdbToIsfWithStats, writeIsfFile } from '../ntos/isf-write.ts';
import { openPdbFile } from '../ntos/pdb/index.ts';
import { guidDashed } from '../ntos/pe.ts';

export async function runConvert(argv: Record<string, unknown>): Promise<number> {
  const input = String(argv.pdb ?? '');
  const output = String(argv.output ?? argv.o ?? '');
  if (!input || !output) throw new UsageError('symbols convert needs a PDB and -o OUTPUT (.json, .json.xz or .json.gz)');
  const t0 = performance.now();
  const pdb = openPdbFile(input);
  const pdbName = typeof argv.pdbName === 'string' && argv.pdbName ? argv.pdbName : pdb.name;
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
