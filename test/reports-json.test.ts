// The report model and its JSON: every fixture validates against the schema with ajv, the schema
// rejects what it should (tight types, hex and time formats, unknown keys), and buildReport marks
// partial evidence even when the analysis did not.
import test from 'ava';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { buildReport, renderJson, SCHEMA_VERSION, type Report } from '../src/reports/index.ts';
import { validateReport, reportSchema } from '../src/reports/validate.ts';
import * as F from './reports-fixtures.ts';

const cases = {
  credentialGuard: () => buildReport(F.credentialGuard(), F.runInfo(), F.evidenceInfo()),
  exposed: () => buildReport(F.exposed(), F.runInfo(), F.evidenceInfo()),
  partial: () => buildReport(F.partial(), F.runInfo(), F.evidenceInfo(F.PARTIAL_EVIDENCE)),
  hostile: () => buildReport(F.hostile(), F.runInfo(F.HOSTILE_RUN), F.evidenceInfo(F.HOSTILE_EVIDENCE)),
};

test('the schema is valid draft 2020-12 and carries the schema version', (t) => {
  const schema = reportSchema();
  t.is(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
  t.is(((schema.properties as Record<string, { const?: string }>).schemaVersion).const, SCHEMA_VERSION);
  const ajv = new Ajv2020({ strict: true });
  t.true(ajv.validateSchema(schema) as boolean, JSON.stringify(ajv.errors));
});

for (const [name, make] of Object.entries(cases)) {
  test(`${name}: renderJson validates against the schema`, (t) => {
    const text = renderJson(make());
    t.true(text.endsWith('}\n'));
    t.false(text.endsWith('\n\n'));
    // Valid UTF-8: a round trip through a Buffer changes nothing (no lone surrogate survives).
    t.is(Buffer.from(text, 'utf8').toString('utf8'), text);
    t.false(/\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f])/i.test(text), 'no escaped lone surrogate');
    const parsed = JSON.parse(text) as Report;
    const v = validateReport(parsed);
    t.true(v.valid, v.errors.join('\n'));
    t.is(parsed.schemaVersion, SCHEMA_VERSION);
  });
}

test('summary counts come from the analysis', (t) => {
  const r = cases.exposed();
  t.is(r.summary.verdict, 'exposed');
  t.is(r.summary.processes, r.processes.length);
  t.is(r.summary.secure, 2); // Secure System and LsaIso
  t.is(r.summary.trustlets, 1);
  t.is(r.summary.protected, r.processes.filter((p) => p.protection !== null && p.protection.raw !== 0).length);
  t.is(r.summary.unlinked, 1);
  t.is(r.summary.terminated, 1);
  t.deepEqual(r.summary.findings, { info: 1, low: 0, medium: 0, high: 2, critical: 1 });
  t.is(r.summary.highestSeverity, 'critical');
});

test('buildReport is pure and deterministic', (t) => {
  t.is(renderJson(cases.partial()), renderJson(cases.partial()));
  const a = F.credentialGuard();
  const before = JSON.stringify(a);
  buildReport(a, F.runInfo(), F.evidenceInfo());
  t.is(JSON.stringify(a), before, 'the analysis is not modified');
});

test('evidence partial by nature marks the report partial with a reason', (t) => {
  const r = buildReport(F.credentialGuard(), F.runInfo(), F.evidenceInfo(F.PARTIAL_EVIDENCE));
  t.true(r.partial.partial);
  t.true(r.partial.reasons.length > 0);
  t.regex(r.partial.reasons[0], /kernel memory dump/);
  t.true(validateReport(r).valid);
});

test('a cap hit marks the report partial', (t) => {
  const a = { ...F.credentialGuard(), capsHit: [{ cap: 'listWalk', limit: 65536 }] };
  const r = buildReport(a, F.runInfo(), F.evidenceInfo());
  t.true(r.partial.partial);
  t.regex(r.partial.reasons.join(' '), /listWalk \(65536\)/);
});

test('a plain-string header comment becomes a DumpString; tool defaults to package.json', (t) => {
  const { tool: _tool, ...run } = F.runInfo();
  const r = buildReport(F.credentialGuard(), run, F.evidenceInfo({ comment: 'LiveKD snapshot' }));
  t.deepEqual(r.evidence.comment, { text: 'LiveKD snapshot' });
  t.is(r.tool.name, 'vsm-forensics');
  t.regex(r.tool.version, /^\d+\.\d+\.\d+/);
  t.true(validateReport(r).valid);
});

/** Mutates a deep copy of a valid report and expects the schema to reject it. */
function rejects(t: import('ava').ExecutionContext, what: string, mutate: (r: any) => void) {
  const r = JSON.parse(renderJson(cases.exposed()));
  mutate(r);
  const v = validateReport(r);
  t.false(v.valid, `${what} should be rejected`);
}

test('the schema is tight', (t) => {
  rejects(t, 'upper-case hex', (r) => (r.processes[0].eprocess.va = '0xFFFFA30C3A8E2080'));
  rejects(t, 'hex without 0x', (r) => (r.kernel.dtb = '1aa000'));
  rejects(t, 'numeric address', (r) => (r.kernel.base = 18446735290870960128));
  rejects(t, 'local time', (r) => (r.processes[0].createTime = '2024-03-14T07:58:01+01:00'));
  rejects(t, 'not a time', (r) => (r.run.startedAt = 'yesterday'));
  rejects(t, 'unknown top-level key', (r) => (r.extra = 1));
  rejects(t, 'unknown process key', (r) => (r.processes[0].color = 'red'));
  rejects(t, 'unknown verdict', (r) => (r.vsm.verdict = 'fine'));
  rejects(t, 'bad sha256', (r) => (r.evidence.sha256 = 'abc'));
  rejects(t, 'protection byte > 255', (r) => (r.processes[0].protection!.raw = 256));
  rejects(t, 'empty sources', (r) => (r.processes[0].sources = []));
  rejects(t, 'odd rawHex', (r) => (r.processes[0].name.rawHex = 'abc'));
  rejects(t, 'partial without reasons', (r) => (r.partial = { partial: true, reasons: [], missingRanges: [] }));
  rejects(t, 'missing ranges on a whole result', (r) => (r.partial = { partial: false, reasons: [], missingRanges: [{ start: '0x1000', pages: 1, reason: 'x' }] }));
  rejects(t, 'other schema version', (r) => (r.schemaVersion = '1.0.0'));
  rejects(t, 'missing kernel field', (r) => delete r.kernel.symbolsSource);
  rejects(t, 'bad finding evidence address', (r) => (r.findings[0].evidence.eprocessVa = 'ffff'));
});

test('a process known only by its physical address validates; one with neither address does not', (t) => {
  const r = JSON.parse(renderJson(cases.partial()));
  const scanOnly = r.processes.find((p: { pid: number }) => p.pid === 7012);
  t.deepEqual(scanOnly.eprocess, { va: null, pa: '0x2b1f4080' });
  t.true(validateReport(r).valid);
  scanOnly.eprocess.pa = null;
  t.false(validateReport(r).valid);
});
