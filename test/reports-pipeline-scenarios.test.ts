// The real pipeline on every scenario of the samples corpus (full crash dumps): generate the sample
// under test/.tmp, run `analyze` with --json/--ndjson/--html, and check every report it wrote.
import test from 'ava';
import { fileURLToPath } from 'node:url';
import { checkReports, runSample, scenarioNames } from './reports-pipeline.ts';

const DIR = fileURLToPath(new URL('./.tmp/reports-pipeline-scenarios/', import.meta.url));

for (const scenario of scenarioNames()) {
  test(`${scenario} (full): JSON validates, NDJSON is ECS, terminal has no ESC, HTML matches`, async (t) => {
    const s = await runSample(DIR, scenario, 'full');
    checkReports(t, s);
    t.is(s.report.evidence.dumpType, 1);
    t.is(s.report.run.case, `CASE-${scenario}`);
  });
}
