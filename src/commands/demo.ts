// `vsm-forensics demo` (what `npm start` runs): generates the bundled default sample — the
// Credential Guard scenario on a real Windows 10 19041 layout — once, then analyzes it exactly as
// `analyze` would, writing the JSON, NDJSON and HTML reports under out/ (ignored by git).
import { existsSync, mkdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { generate } from '../../samples/generate.ts';
import { run as analyze } from './analyze.ts';

export async function run(argv: Record<string, unknown>): Promise<number> {
  const outDir = resolve('out');
  const dumpPath = join(outDir, 'sample', 'vsm-credential-guard.full.dmp');
  mkdirSync(join(outDir, 'sample'), { recursive: true });
  if (!existsSync(dumpPath) || !existsSync(`${dumpPath}.truth.json`)) {
    process.stderr.write(`generating the default sample (Credential Guard scenario, full crash dump, 64 MiB)…\n`);
    generate({ scenario: 'vsm-credential-guard', form: 'full', sizeBytes: 64 * 2 ** 20, seed: 1, out: dumpPath });
  }
  const reports = { json: join(outDir, 'report.json'), ndjson: join(outDir, 'events.ndjson'), html: join(outDir, 'report.html') };
  const code = await analyze({ ...argv, dump: dumpPath, ...reports, case: argv.case ?? 'DEMO-0001', examiner: argv.examiner ?? 'vsm-forensics demo' });
  const rel = (p: string) => relative(process.cwd(), p) || p;
  process.stdout.write(
    `\nEvidence: ${rel(dumpPath)} (ground truth beside it: ${rel(dumpPath)}.truth.json)\n` +
      `Reports:  ${rel(reports.json)}  ${rel(reports.ndjson)}  ${rel(reports.html)}\n`,
  );
  return code;
}
