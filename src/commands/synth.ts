// `vsm-forensics synth`: writes a synthetic dump and its ground truth from a scenario and a real kernel layout.
import type { Argv } from 'yargs';
import { UsageError } from '../errors.ts';
import { generate, parseSize, FORMS, type Form } from '../../samples/generate.ts';
import { checkInteger, checkOutputFile, exitWith, tableCheck, type ArgvOf, type GlobalArgs, type OptionTable } from './args.ts';
import { entry } from './catalogue.ts';

export const SYNTH_OPTIONS = {
  scenario: { type: 'string', default: 'vsm-credential-guard', requiresArg: true, describe: 'Scenario name (samples/scenarios/NAME.json) or path to a scenario JSON' },
  isf: { type: 'string', requiresArg: true, describe: 'Kernel layout: a build (19041), a GUID-age, or an ISF file (default: the scenario’s kernel)' },
  form: { type: 'string', choices: FORMS, default: 'full', requiresArg: true, describe: 'Dump form to write' },
  size: { type: 'string', default: '64MiB', requiresArg: true, describe: 'Physical memory size, at least 16MiB (e.g. 16MiB, 1GiB)' },
  seed: { type: 'number', default: 1, requiresArg: true, describe: 'Seed for the filler and addresses (a non-negative integer)' },
  truncate: { type: 'number', requiresArg: true, describe: 'Cut the file at this fraction of its size, in (0, 1], overriding the scenario' },
  output: { alias: 'o', type: 'string', demandOption: true, requiresArg: true, describe: 'Output dump path; the ground truth goes beside it as .truth.json' },
} as const satisfies OptionTable;

const builder = (y: Argv<GlobalArgs>) =>
  y
    .options(SYNTH_OPTIONS)
    .check(tableCheck(SYNTH_OPTIONS))
    .check((a) => {
      checkInteger('seed', a.seed, 0, Number.MAX_SAFE_INTEGER);
      if (a.truncate !== undefined && !(a.truncate > 0 && a.truncate <= 1)) throw new UsageError('--truncate must be a fraction in (0, 1]');
      return true;
    })
    .example('$0 synth -o cg.dmp', 'the Credential Guard scenario as a 64 MiB full crash dump, cg.dmp.truth.json beside it')
    .example('$0 synth --scenario process-unlinked --form bitmap --size 32MiB -o hidden.dmp', 'a DKOM-hidden process in a bitmap dump')
    .example('$0 synth --isf 22000 --form raw -o win11.raw', 'the default scenario on the Windows 11 21H2 layout, raw image');

export type SynthArgs = ArgvOf<typeof builder>;

const { command, describe } = entry('synth');
export const cli = {
  options: SYNTH_OPTIONS,
  register: (y: Argv<GlobalArgs>) => y.command({ command, describe, builder, handler: exitWith((a: SynthArgs) => run(a)) }),
};

export async function run(argv: SynthArgs): Promise<number> {
  const form: Form = argv.form;
  let sizeBytes: number;
  try {
    sizeBytes = parseSize(argv.size);
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  if (sizeBytes < 16 * 2 ** 20) throw new UsageError('--size must be at least 16MiB');
  const { seed, truncate } = argv;
  const out = argv.output;
  checkOutputFile('output', out, { createDirs: true });
  let r;
  try {
    r = generate({
      scenario: argv.scenario,
      isf: argv.isf,
      form,
      sizeBytes,
      seed,
      out,
      truncate: truncate === 1 ? null : truncate,
    });
  } catch (e) {
    if (e instanceof Error && /unknown kernel|no scenario|bad size|must be at least|raise --size|extends|unknown form/.test(e.message)) throw new UsageError(e.message);
    throw e;
  }
  const t = r.truth;
  process.stdout.write(
    `${r.dumpPath}: ${t.form}${t.dumpType !== null ? ` (DumpType ${t.dumpType})` : ''}, ${r.bytesWritten} bytes, scenario ${t.scenario}, build ${t.build} (${t.pdb.guidAge}), ` +
      `${t.processes.length} processes, verdict ${t.vsm.verdict}, ${(r.millis / 1000).toFixed(2)} s\n${r.truthPath}\n`,
  );
  return 0;
}
