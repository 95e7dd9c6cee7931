// `vsm-forensics synth`: writes a synthetic dump and its ground truth from a scenario and a real kernel layout.
import { UsageError } from '../errors.ts';
import { generate, parseSize, FORMS, type Form } from '../../samples/generate.ts';

export async function run(argv: Record<string, unknown>): Promise<number> {
  const form = String(argv.form ?? 'full') as Form;
  if (!FORMS.includes(form)) throw new UsageError(`--form must be one of ${FORMS.join(', ')}`);
  let sizeBytes: number;
  try {
    sizeBytes = parseSize(String(argv.size ?? '64MiB'));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (sizeBytes < 16 * 2 ** 20) throw new UsageError('--size must be at least 16MiB');
  const seed = Number(argv.seed ?? 1);
  if (!Number.isInteger(seed) || seed < 0) throw new UsageError('--seed must be a non-negative integer');
  const out = String(argv.o ?? argv.output);
  const truncate = argv.truncate === undefined ? undefined : Number(argv.truncate);
  if (truncate !== undefined && !(truncate > 0 && truncate <= 1)) throw new UsageError('--truncate must be a fraction in (0, 1]');
  let r;
  try {
    r = generate({
      scenario: String(argv.scenario ?? 'vsm-credential-guard'),
      isf: argv.isf === undefined ? undefined : String(argv.isf),
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
