// ECS NDJSON: every line is JSON (and jq accepts it when jq is installed), every field name is in
// ECS's flat field list (test/data/ecs_flat.json, ECS 9.4.0) or under the custom `vsm.` namespace,
// ECS-typed values have the ECS type, and the events carry what a SIEM needs.
import test from 'ava';
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { buildReport, renderNdjson, ECS_VERSION, type Report } from '../src/reports/index.ts';
import * as F from './reports-fixtures.ts';

interface EcsField {
  type: string;
  array?: boolean;
  allowed?: string[];
}
const ECS = JSON.parse(readFileSync(new URL('./data/ecs_flat.json', import.meta.url), 'utf8')) as { ecsVersion: string; fields: Record<string, EcsField> };
const TMP = new URL('./.tmp/reports-ndjson/', import.meta.url);
mkdirSync(TMP, { recursive: true });

const reports: Record<string, () => Report> = {
  credentialGuard: () => buildReport(F.credentialGuard(), F.runInfo(), F.evidenceInfo()),
  exposed: () => buildReport(F.exposed(), F.runInfo(), F.evidenceInfo()),
  partial: () => buildReport(F.partial(), F.runInfo(), F.evidenceInfo(F.PARTIAL_EVIDENCE)),
  hostile: () => buildReport(F.hostile(), F.runInfo(F.HOSTILE_RUN), F.evidenceInfo(F.HOSTILE_EVIDENCE)),
  noHash: () => buildReport(F.credentialGuard(), F.runInfo({ case: undefined, examiner: undefined }), F.evidenceInfo({ sha256: null, sha256ComputedAt: null, systemTime: null, machine: null, build: null })),
};

/** Dotted leaf keys with their values; arrays of objects contribute their members' keys. */
export function flatten(v: unknown, prefix = '', out: [string, unknown][] = []): [string, unknown][] {
  if (Array.isArray(v)) {
    if (v.length && v.every((x) => x !== null && typeof x === 'object' && !Array.isArray(x))) for (const x of v) flatten(x, prefix, out);
    else out.push([prefix, v]);
  } else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  } else out.push([prefix, v]);
  return out;
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

/** Does a scalar fit an ECS field type? */
function fitsType(type: string, v: unknown): boolean {
  switch (type) {
    case 'keyword':
    case 'constant_keyword':
    case 'wildcard':
    case 'match_only_text':
    case 'text':
    case 'ip':
    case 'version':
      return typeof v === 'string';
    case 'long':
    case 'unsigned_long':
      return Number.isSafeInteger(v);
    case 'float':
    case 'scaled_float':
    case 'double':
      return typeof v === 'number';
    case 'boolean':
      return typeof v === 'boolean';
    case 'date':
      return typeof v === 'string' && ISO.test(v);
    default:
      return false;
  }
}

/** Checks one NDJSON text; returns the parsed events. */
function checkNdjson(t: import('ava').ExecutionContext, text: string): Record<string, unknown>[] {
  t.true(text.endsWith('\n'));
  const lines = text.slice(0, -1).split('\n');
  const events = lines.map((l, i) => {
    t.notThrows(() => JSON.parse(l), `line ${i + 1} parses`);
    return JSON.parse(l) as Record<string, unknown>;
  });
  for (const [i, e] of events.entries()) {
    for (const [key, value] of flatten(e)) {
      if (key.startsWith('vsm.')) {
        t.regex(key, /^vsm(\.[a-z0-9_]+)+$/, `line ${i + 1}: custom field ${key} is lower-case snake_case`);
        continue;
      }
      const f = ECS.fields[key];
      t.truthy(f, `line ${i + 1}: ${key} is not an ECS ${ECS.ecsVersion} field and not under vsm.`);
      if (!f) continue;
      const values = Array.isArray(value) ? value : [value];
      if (Array.isArray(value)) t.true(f.array === true || value.length <= 1 || ['keyword'].includes(f.type), `${key} holds an array`);
      for (const x of values) {
        t.true(fitsType(f.type, x), `line ${i + 1}: ${key}=${JSON.stringify(x)} does not fit ECS type ${f.type}`);
        if (f.allowed) t.true(f.allowed.includes(x as string), `${key}=${String(x)} is not an allowed ECS value`);
      }
    }
    t.truthy(e['@timestamp'], '@timestamp is required by ECS');
  }
  return events;
}

function jqAccepts(path: string): boolean | undefined {
  const which = spawnSync('jq', ['--version']);
  if (which.error) return undefined;
  const r = spawnSync('sh', ['-c', 'jq -c . < "$1" > /dev/null', 'sh', path]);
  return r.status === 0;
}

test('the ECS field list is the real one', (t) => {
  t.is(ECS.ecsVersion, ECS_VERSION);
  t.true(Object.keys(ECS.fields).length > 2000);
  for (const k of ['@timestamp', 'process.pid', 'process.parent.pid', 'process.entity_id', 'file.hash.sha256', 'event.severity', 'rule.name']) t.truthy(ECS.fields[k], k);
  t.deepEqual(ECS.fields['process.pid'].type, 'long');
});

for (const [name, make] of Object.entries(reports)) {
  test(`${name}: every field is ECS or vsm.*, every line is JSON (and jq accepts it)`, (t) => {
    const text = renderNdjson(make());
    const events = checkNdjson(t, text);
    const path = new URL(`${name}.ndjson`, TMP).pathname;
    writeFileSync(path, text);
    const jq = jqAccepts(path);
    if (jq !== undefined) t.true(jq, 'jq -c . accepts every line');
    t.is(events.length, make().processes.length + make().findings.length + 1);
  });
}

test('process events carry the ECS process fields, host, evidence hash and a stable entity id', (t) => {
  const r = reports.credentialGuard();
  const events = renderNdjson(r).trim().split('\n').map((l) => JSON.parse(l));
  const procs = events.filter((e) => e.event.kind === 'state');
  t.is(procs.length, r.processes.length);
  const lsaiso = procs.find((e) => e.process.name === 'LsaIso.exe');
  t.deepEqual(lsaiso.event.category, ['process']);
  t.deepEqual(lsaiso.event.type, ['info']);
  t.is(lsaiso['@timestamp'], r.evidence.systemTime);
  t.is(lsaiso.ecs.version, ECS_VERSION);
  t.is(lsaiso.process.pid, 728);
  t.is(lsaiso.process.parent.pid, 592);
  t.is(lsaiso.process.start, '2024-03-14T07:58:05.6611040Z');
  t.regex(lsaiso.process.executable, /LsaIso\.exe$/);
  t.is(lsaiso.file.hash.sha256, r.evidence.sha256);
  t.is(lsaiso.host.os.type, 'windows');
  t.is(lsaiso.vsm.secure, true);
  t.is(lsaiso.vsm.trustlet.id, 1);
  t.is(lsaiso.vsm.isolation.verdict, 'isolated');
  t.is(lsaiso.vsm.isolation.pages.absent, 1147);
  const wininit = procs.find((e) => e.process.pid === 592);
  t.is(lsaiso.process.parent.entity_id, wininit.process.entity_id, 'parent entity id links to the parent event');
  const lsass = procs.find((e) => e.process.name === 'lsass.exe');
  t.is(lsass.vsm.protection.signer, 'PsProtectedSignerLsa');
  t.is(lsass.vsm.protection.type, 'ProtectedLight');
  const cmd = procs.find((e) => e.process.name === 'cmd.exe');
  t.is(cmd.process.end, '2024-03-14T08:51:09.2048000Z');
  t.true(cmd.vsm.terminated);

  // Stable across runs (different run times), distinct across processes.
  const again = renderNdjson(buildReport(F.credentialGuard(), F.runInfo({ startedAt: '2025-01-01T00:00:00.000Z', finishedAt: '2025-01-01T00:00:09.000Z' }), F.evidenceInfo()))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.deepEqual(
    again.filter((e) => e.event.kind === 'state').map((e) => e.process.entity_id),
    procs.map((e) => e.process.entity_id),
  );
  t.is(new Set(procs.map((e) => e.process.entity_id)).size, procs.length);
  // Another evidence file, same processes: different ids.
  const other = renderNdjson(buildReport(F.credentialGuard(), F.runInfo(), F.evidenceInfo({ sha256: 'a'.repeat(64) }))).split('\n')[0];
  t.not(JSON.parse(other).process.entity_id, procs[0].process.entity_id);
});

test('finding events are ECS alerts with numeric severity, rule name and message', (t) => {
  const r = reports.exposed();
  const events = renderNdjson(r).trim().split('\n').map((l) => JSON.parse(l));
  const alerts = events.filter((e) => e.event.kind === 'alert');
  t.is(alerts.length, r.findings.length);
  const crit = alerts.find((e) => e.rule.name === 'vsm.trustlet-pages-readable');
  t.is(crit.event.severity, 5);
  t.is(crit.event.risk_score, 99);
  t.is(crit.vsm.finding.severity, 'critical');
  t.regex(crit.message, /312 of 1243/);
  t.is(crit.process.pid, 728);
  t.is(crit.vsm.evidence.pages.readable, 312);
  const lsaiso = events.find((e) => e.event.kind === 'state' && e.process.pid === 728);
  t.is(crit.process.entity_id, lsaiso.process.entity_id, 'the alert points at the process event');
  const unlinked = alerts.find((e) => e.rule.name === 'ntos.process-unlinked');
  t.is(unlinked.event.severity, 4);
  const severities = alerts.map((e) => e.event.severity);
  t.true(severities.every((s) => Number.isInteger(s)));
});

test('findings with an ATT&CK technique carry ECS threat.* (framework, tactic, technique, sub-technique); others carry none', (t) => {
  const r = reports.exposed();
  const alerts = renderNdjson(r).trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.event.kind === 'alert');
  const lsass = alerts.find((e) => e.rule.name === 'ntos.lsass-handle-access');
  t.deepEqual(lsass.threat, {
    framework: 'MITRE ATT&CK',
    tactic: { id: ['TA0006'], name: ['Credential Access'], reference: ['https://attack.mitre.org/tactics/TA0006/'] },
    technique: {
      id: ['T1003'],
      name: ['OS Credential Dumping'],
      reference: ['https://attack.mitre.org/techniques/T1003/'],
      subtechnique: { id: ['T1003.001'], name: ['LSASS Memory'], reference: ['https://attack.mitre.org/techniques/T1003/001/'] },
    },
  });
  t.is(lsass.process.pid, 736);
  t.is(lsass.vsm.evidence.owner.pid, 7720);
  const unlinked = alerts.find((e) => e.rule.name === 'ntos.process-unlinked');
  t.deepEqual(unlinked.threat.technique.id, ['T1014']);
  t.is(unlinked.threat.technique.subtechnique, undefined, 'no sub-technique when the mapping has none');
  const crit = alerts.find((e) => e.rule.name === 'vsm.trustlet-pages-readable');
  t.is(crit.threat, undefined, 'a posture finding maps to no technique');
});

test('the summary event is last and carries the verdict, counts and partial marks', (t) => {
  const r = reports.partial();
  const events = renderNdjson(r).trim().split('\n').map((l) => JSON.parse(l));
  const s = events.at(-1);
  t.is(s.event.dataset, 'vsm_forensics.summary');
  t.is(s.vsm.verdict, 'indeterminate');
  t.true(s.vsm.partial);
  t.is(s.vsm.partial_reasons.length, 2);
  t.deepEqual(s.vsm.missing_ranges, [{ start: '0x7e000000', pages: 8192, reason: 'file truncated' }]);
  t.deepEqual(s.vsm.caps_hit, [{ cap: 'scanHits', limit: 100000 }]);
  t.is(s.vsm.counts.processes, r.processes.length);
  t.is(s.event.duration, 8458 * 1e6);
  t.true(events.every((e) => e.vsm.partial === true), 'every event says the result is partial');
});

test('without a dump time or hash, @timestamp falls back to the run start and ids stay stable', (t) => {
  const r = reports.noHash();
  const events = renderNdjson(r).trim().split('\n').map((l) => JSON.parse(l));
  t.true(events.every((e) => e['@timestamp'] === r.run.startedAt && e.vsm.timestamp_source === 'run-start'));
  t.true(events.every((e) => e.file.hash === undefined));
  t.is(renderNdjson(reports.noHash()), renderNdjson(r));
});

test('hostile strings stay inside JSON strings; one event per line', (t) => {
  const text = renderNdjson(reports.hostile());
  const lines = text.trim().split('\n');
  const r = reports.hostile();
  t.is(lines.length, r.processes.length + r.findings.length + 1, 'CR/LF inside names never split a line');
  t.false(text.includes('\u001b'), 'ESC only appears escaped as \\u001b');
  const names = lines.map((l) => JSON.parse(l)).filter((e) => e.event.kind === 'state').map((e) => e.process.name);
  t.true(names.includes(F.HOSTILE_NAME));
  t.true(names.includes(F.ANSI_NAME), 'the data keeps the original string; escaping is JSON’s');
});
