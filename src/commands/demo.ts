// `vsm-forensics demo` (what `npm start` runs): generates the bundled default sample — the
// Credential Guard scenario on a real Windows 10 19041 layout — once, then analyzes it exactly as
// `analyze` would, writing the JSON, NDJSON and HTML reports under out/ (or -o DIR) in the current
// directory — never inside the installed package.
import { existsSync, mkdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { generate } from '../../samples/generate.ts';
import { ensureOutputDir, exitWith, tableCheck, type ArgvOf, type GlobalArgs, type OptionTable } from './args.ts';
import { run as analyze } from './analyze.ts';
import { entry } from './catalogue.ts';

export const DEMO_OPTIONS = {
  output: { alias: 'o', type: 'string', default: 'out', requiresArg: true, describe: 'Directory for the sample (DIR/sample/) and the reports' },
  case: { type: 'string', default: 'DEMO-0001', requiresArg: true, describe: 'Case id for the report header' },
  examiner: { type: 'string', default: 'vsm-forensics demo', requiresArg: true, describe: 'Examiner name for the report header' },
} as const satisfies OptionTable;

const builder = (y: Argv<GlobalArgs>) =>
  y
    .options(DEMO_OPTIONS)
    .check(tableCheck(DEMO_OPTIONS))
    .example('$0 demo', 'out/sample/vsm-credential-guard.full.dmp, then out/report.json, out/events.ndjson, out/report.html')
    .example('$0 demo -o /tmp/vsm-demo', 'the same under /tmp/vsm-demo');

export type DemoArgs = ArgvOf<typeof builder>;

const { command, describe } = entry('demo');
export const cli = {
  options: DEMO_OPTIONS,
  register: (y: Argv<GlobalArgs>) => y.command({ command, describe, builder, handler: exitWith((a: DemoArgs) => run(a)) }),
};

export async function run(argv: DemoArgs): Promise<number> {
  ensureOutputDir('output', argv.output);
  const outDir = resolve(argv.output);
  const dumpPath = join(outDir, 'sample', 'vsm-credential-guard.full.dmp');
  mkdirSync(join(outDir, 'sample'), { recursive: true });
  if (!existsSync(dumpPath) || !existsSync(`${dumpPath}.truth.json`)) {
    process.stderr.write(`generating the default sample (Credential Guard scenario, full crash dump, 64 MiB)…\n`);
    generate({ scenario: 'vsm-credential-guard', form: 'full', sizeBytes: 64 * 2 ** 20, seed: 1, out: dumpPath });
  }
  const reports = { json: join(outDir, 'report.json'), ndjson: join(outDir, 'events.ndjson'), html: join(outDir, 'report.html') };
  const code = await analyze({ dump: dumpPath, ...reports, case: argv.case, examiner: argv.examiner, quiet: argv.quiet });
  const rel = (p: string) => relative(process.cwd(), p) || p;
  process.stdout.write(
    `\nEvidence: ${rel(dumpPath)} (ground truth beside it: ${rel(dumpPath)}.truth.json)\n` +
      `Reports:  ${rel(reports.json)}  ${rel(reports.ndjson)}  ${rel(reports.html)}\n`,
  );
  return code;
}
