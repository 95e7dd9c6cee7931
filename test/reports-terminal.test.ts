// The terminal view: aligned columns, the verdict, the partial banner; colour only when asked;
// no ESC byte or other control character from a hostile dump reaches the output.
import test from 'ava';
import { buildReport, renderTerminal, createProgress } from '../src/reports/index.ts';
import { progressLine } from '../src/reports/progress.ts';
import { displayWidth } from '../src/reports/sanitize.ts';
import * as F from './reports-fixtures.ts';

const hostile = () => buildReport(F.hostile(), F.runInfo(F.HOSTILE_RUN), F.evidenceInfo(F.HOSTILE_EVIDENCE));

test('hostile-name analysis: no ESC byte and no other control character in the output', (t) => {
  const out = renderTerminal(hostile());
  t.false(out.includes('\x1b'), 'no ESC');
  t.false(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/.test(out), 'no C0 (but LF) / C1');
  t.false(/[\u202a-\u202e\u2066-\u2069\u2028\u2029]/.test(out), 'no bidi override or line separator');
  // The names are still there, visibly escaped.
  t.true(out.includes('<img src=x onerror=alert(1)>'));
  t.true(out.includes('\\x1b[31mred'));
  t.true(out.includes('\\x1b[1mroot'), 'examiner from the command line is escaped too');
});

test('even with colour on, the only escapes are our own SGR codes', (t) => {
  const out = renderTerminal(hostile(), { color: true });
  const stripped = out.replace(/\x1b\[[0-9;]*m/g, '');
  t.false(stripped.includes('\x1b'));
  t.true(out.includes('\x1b['));
});

test('colour only when asked', (t) => {
  const r = buildReport(F.exposed(), F.runInfo(), F.evidenceInfo());
  t.false(renderTerminal(r).includes('\x1b'));
  t.false(renderTerminal(r, { color: false }).includes('\x1b'));
  t.true(renderTerminal(r, { color: true }).includes('\x1b[1;31mVSM verdict: EXPOSED'));
});

test('the table is aligned and ends with the verdict', (t) => {
  const r = buildReport(F.credentialGuard(), F.runInfo(), F.evidenceInfo());
  const out = renderTerminal(r);
  const lines = out.split('\n');
  const head = lines.findIndex((l) => l.trimStart().startsWith('PID'));
  t.true(head > 0);
  const rows = lines.slice(head + 1, head + 1 + r.processes.length);
  // Column starts line up: the EPROCESS column (always last, 0x…) starts at the same display column.
  const eprocCol = (l: string) => displayWidth(l.slice(0, l.lastIndexOf('0x')));
  const header = lines[head];
  const want = displayWidth(header.slice(0, header.indexOf('EPROCESS')));
  for (const row of rows) t.is(eprocCol(row), want, row);
  // PIDs right-aligned.
  const pidEnd = displayWidth(header.slice(0, header.indexOf('PID') + 3));
  for (const row of rows) t.regex(row.slice(0, pidEnd), /^ *\d+$/);
  t.regex(lines.at(-3)!, /^VSM verdict: ISOLATED - /);
  t.regex(out, /LsaIso\.exe\s+secure\s+1 LsaIso\.exe\s+isolated 0\/1243/);
  t.regex(out, /lsass\.exe\s+PPL\s+Lsa-Light/);
  t.false(out.includes('PARTIAL'));
});

test('partial results get a banner with reasons, missing ranges and caps', (t) => {
  const out = renderTerminal(buildReport(F.partial(), F.runInfo(), F.evidenceInfo(F.PARTIAL_EVIDENCE)));
  t.regex(out, /!! PARTIAL RESULTS/);
  t.regex(out, /Kernel memory dump \(DumpType 8\)/);
  t.regex(out, /missing 0x7e000000 \+8192 pages: file truncated/);
  t.regex(out, /cap hit: scanHits \(limit 100000\)/);
  t.regex(out, /VSM verdict: INDETERMINATE/);
});

test('wide and long names are truncated to the name column', (t) => {
  const a = F.credentialGuard();
  const long = { ...a.processes[5], name: { text: '日本語'.repeat(20) } };
  const out = renderTerminal(buildReport({ ...a, processes: [...a.processes, long] }, F.runInfo(), F.evidenceInfo()), { nameWidth: 20 });
  const row = out.split('\n').find((l) => l.includes('日本語'))!;
  t.true(row.includes('…'));
});

test('progress bar: silent when not a TTY, bounded width and cleared when done on a TTY', (t) => {
  const written: string[] = [];
  const pipe = { isTTY: false, write: (s: string) => (written.push(s), true) };
  const off = createProgress({ label: 'hashing', stream: pipe });
  off.update(1, 2);
  off.done();
  t.deepEqual(written, []);
  t.false(off.enabled);

  let now = 0;
  const tty = { isTTY: true, columns: 100, write: (s: string) => (written.push(s), true) };
  const bar = createProgress({ label: 'hashing \x1b[31m', stream: tty, now: () => now });
  now = 1000;
  bar.update(512 * 1024 * 1024, 2048 * 1024 * 1024);
  now = 1050;
  bar.update(600 * 1024 * 1024, 2048 * 1024 * 1024); // throttled
  now = 2000;
  bar.update(2048 * 1024 * 1024, 2048 * 1024 * 1024);
  bar.done();
  t.is(written.length, 3);
  t.regex(written[0], /^\rhashing \\x1b\[31m \[#+-+\]  25% 512\.0 MiB\/2\.0 GiB 512\.0 MiB\/s ETA 3s\x1b\[K$/);
  t.is(written.at(-1), '\r\x1b[K');
  for (const w of written) t.true(displayWidth(w.replace(/\x1b\[K/g, '').replace('\r', '')) <= 100);
  t.true(progressLine('scanning', 5, 10, 0, 'items', 30).length < 30, 'narrow terminals drop the bar, not the numbers');
  t.regex(progressLine('scanning', 5, 10, 0, 'items', 30), /50% 5\/10/);
});

test('a scan-only process without a virtual address shows its physical one', (t) => {
  const out = renderTerminal(buildReport(F.partial(), F.runInfo(), F.evidenceInfo(F.PARTIAL_EVIDENCE)));
  t.regex(out, /notepad\.exe\s+exited.*PA 0x2b1f4080/);
});
