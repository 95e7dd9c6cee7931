// Unknown is null: a parent PID the dump does not give is null in the JSON report (and the schema
// accepts exactly that), absent from the ECS events, "?" in the terminal and marked in the HTML —
// never -1 or another number a reader could take for a PID. And every JSON output escapes
// U+2028/U+2029, so an NDJSON line is one line for every line reader.
import test from 'ava';
import { buildReport, renderHtml, renderJson, renderNdjson, renderTerminal } from '../src/reports/index.ts';
import { validateReport } from '../src/reports/validate.ts';
import type { Analysis } from '../src/vsm/types.ts';
import * as F from './reports-fixtures.ts';

function withUnknownParent(): Analysis {
  const a = F.credentialGuard();
  const processes = a.processes.map((p) => (p.name.text === 'lsass.exe' ? { ...p, ppid: null, sessionId: null, unreadableFields: ['ppid'] } : p));
  return { ...a, processes };
}

test('an unknown parent PID is null in JSON (schema-valid), absent in NDJSON, "?" in the terminal, marked in HTML', (t) => {
  const r = buildReport(withUnknownParent(), F.runInfo(), F.evidenceInfo());
  const v = validateReport(JSON.parse(renderJson(r)));
  t.true(v.valid, JSON.stringify(v.errors));
  const lsass = (JSON.parse(renderJson(r)) as { processes: { name: { text: string }; ppid: unknown }[] }).processes.find((p) => p.name.text === 'lsass.exe')!;
  t.is(lsass.ppid, null);
  // The schema refuses a sentinel where the value is a PID.
  const bad = JSON.parse(renderJson(r));
  bad.processes.find((p: { name: { text: string } }) => p.name.text === 'lsass.exe').ppid = -1;
  t.false(validateReport(bad).valid);

  const events = renderNdjson(r).trim().split('\n').map((l) => JSON.parse(l));
  const ev = events.find((e) => e.process?.name === 'lsass.exe' && e.event?.kind === 'state');
  t.truthy(ev, 'a state event for lsass.exe');
  t.is(ev.process.parent?.pid, undefined);
  t.regex(ev.message, /PPID unknown/);
  t.false(JSON.stringify(events).includes('"pid":-1'));

  const row = renderTerminal(r).split('\n').find((l) => l.includes('lsass.exe'))!;
  t.regex(row, /^\s*\d+\s+\?\s/, row);

  const html = renderHtml(r);
  t.regex(html, /<td class="num muted" data-v="" title="parent PID unknown">unknown<\/td>/);
});

test('U+2028 and U+2029 in evidence strings are escaped in JSON and NDJSON output', (t) => {
  const a = F.credentialGuard();
  const name = 'evil\u2028line\u2029para.exe';
  const processes = a.processes.map((p) => (p.name.text === 'lsass.exe' ? { ...p, name: { text: name } } : p));
  const r = buildReport({ ...a, processes }, F.runInfo(), F.evidenceInfo());
  for (const [what, out] of [
    ['JSON', renderJson(r)],
    ['NDJSON', renderNdjson(r)],
  ] as const) {
    t.false(/[\u2028\u2029]/.test(out), `${what} holds a raw separator`);
    t.true(out.includes('evil\\u2028line\\u2029para.exe'), `${what} keeps the name, escaped`);
  }
  for (const line of renderNdjson(r).split(/\r\n|[\n\r\u2028\u2029\u0085]/).filter(Boolean)) JSON.parse(line);
  t.is((JSON.parse(renderJson(r)) as { processes: { name: { text: string } }[] }).processes.find((p) => p.name.text.startsWith('evil'))!.name.text, name);
});
