// The analyst's views: a terminal table that fits the terminal (columns dropped in DROP_ORDER,
// --wide for all), full names where ImageFileName was cut at 15 bytes, unknown shown as "?",
// --pid/--name filters for the table and the CSV, and the CSV itself (stable columns, RFC 4180,
// no formula injection). The JSON report keeps every process whatever the filter.
import test from 'ava';
import { buildReport, CSV_COLUMNS, DROP_ORDER, renderCsv, renderJson, renderTerminal, fullProcessName, processMatcher } from '../src/reports/index.ts';
import { displayWidth } from '../src/reports/sanitize.ts';
import type { Analysis } from '../src/vsm/types.ts';
import * as F from './reports-fixtures.ts';

const LONG_PATH = '\\Device\\HarddiskVolume3\\Program Files\\Vendor\\MsMpEngCP_Service_Host.exe';

function analysis(): Analysis {
  const a = F.credentialGuard();
  return {
    ...a,
    processes: [
      ...a.processes,
      // ImageFileName holds 15 bytes: the kernel cut this name; the image path has it whole.
      F.proc({ pid: 9100, ppid: 4, name: 'MsMpEngCP_Servi', path: LONG_PATH }),
      F.proc({ pid: 9200, ppid: 4, name: '=HYPERLINK("x")', path: null }),
      F.proc({ pid: 9300, ppid: 4, name: 'a"b,c\nd', path: null }),
      { ...F.proc({ pid: 9400, ppid: 4, name: 'orphan.exe' }), ppid: -1, unreadableFields: ['ppid'] },
      {
        ...F.proc({ pid: 9500, ppid: 4, name: 'cmd.exe' }),
        commandLine: { text: 'cmd.exe /c "=1+1", whoami' },
        imagePathDos: 'C:\\Windows\\System32\\cmd.exe',
        user: { name: 'alice', domain: 'CORP' },
        token: { user: { sid: 'S-1-5-21-1-2-3-1001', name: null }, integrity: { sid: 'S-1-16-8192', level: 'Medium' }, groups: [], privileges: [], package: null },
      },
    ],
  };
}
const report = () => buildReport(analysis(), F.runInfo(), F.evidenceInfo());
const isHead = (l: string) => /^\s*PID\s+/.test(l);
const tableLines = (out: string) => out.split('\n').slice(out.split('\n').findIndex(isHead));

test('the table fits the terminal width: columns dropped in the documented order, then NAME narrowed', (t) => {
  const r = report();
  const full = renderTerminal(r, { wide: true });
  const fullHead = full.split('\n').find(isHead)!;
  t.true(displayWidth(fullHead) > 120, 'the wide table is wider than the terminals tested below');
  for (const width of [120, 100, 80, 60, 40]) {
    const out = renderTerminal(r, { width });
    const lines = tableLines(out);
    const head = lines[0];
    const rows = lines.slice(1, lines.findIndex((l) => l.startsWith('(') || /^\d+ processes/.test(l)));
    for (const l of [head, ...rows]) t.true(displayWidth(l) <= width, `${width}: "${l}" (${displayWidth(l)})`);
    t.true(isHead(head) && head.includes('NAME'), 'PID and NAME always stay');
    // Whatever is hidden is a prefix of DROP_ORDER (the cheapest columns go first).
    const hidden = DROP_ORDER.filter((c) => !head.includes(c.split(' (')[0]));
    const firstKept = DROP_ORDER.findIndex((c) => head.includes(c.split(' (')[0]));
    if (firstKept >= 0) t.true(hidden.every((c) => DROP_ORDER.indexOf(c) < firstKept || c === 'EXITED (UTC)'), `${width}: ${hidden.join(', ')}`);
    if (hidden.length) t.regex(out, /hidden to fit \d+ columns: --wide shows every column/);
  }
  const narrow = renderTerminal(r, { width: 80 });
  t.false(tableLines(narrow)[0].includes('EPROCESS'), 'the object address is the first to go');
  t.true(full.includes('EPROCESS') && full.includes('CREATED'), '--wide keeps every column');
});

test('full process names from the image path where ImageFileName was truncated; unknown PPID is "?", never -1', (t) => {
  const r = report();
  const p = r.processes.find((x) => x.pid === 9100)!;
  t.is(fullProcessName(p), 'MsMpEngCP_Service_Host.exe');
  t.is(fullProcessName(r.processes.find((x) => x.pid === 9200)!), '=HYPERLINK("x")', 'no image path: the short name');
  const out = renderTerminal(r, { wide: true });
  t.true(out.includes('MsMpEngCP_Service_Host.exe'));
  const orphan = out.split('\n').find((l) => l.includes('orphan.exe'))!;
  t.regex(orphan, /^\s*9400\s+\?\s/);
  t.false(/\s-1\s/.test(orphan));
});

test('--pid and --name filter the table and the CSV; the JSON report keeps every process', (t) => {
  const r = report();
  const byPid = renderTerminal(r, { filter: { pids: [9100, 4] } });
  const rows = tableLines(byPid).slice(1).filter((l) => /^\s*\d+\s+(\d+|\?)\s/.test(l));
  t.deepEqual(rows.map((l) => Number(l.trim().split(/\s+/)[0])).sort((a, b) => a - b), [4, 9100]);
  t.regex(byPid, /2 shown \(--pid 9100,4\)/);
  const m = processMatcher({ name: 'msmpeng*host.exe' });
  t.true(m(r.processes.find((x) => x.pid === 9100)!), 'glob on the full name, case-insensitive');
  t.false(m(r.processes.find((x) => x.pid === 9200)!));
  t.true(processMatcher({ name: 'LSA' })(r.processes.find((x) => /lsaiso/i.test(x.name.text))!), 'substring');
  const csv = renderCsv(r, { filter: { name: 'lsa*' } });
  const names = csv.trimEnd().split('\r\n').slice(1).map((l) => l.split(',')[2]);
  t.true(names.length >= 1 && names.every((n) => /^lsa/i.test(n)), names.join(' '));
  t.is((JSON.parse(renderJson(r)) as { processes: unknown[] }).processes.length, r.processes.length);
});

test('CSV: stable header, one row per process, RFC 4180 quoting, formulas defused, unknown is empty', (t) => {
  const r = report();
  const csv = renderCsv(r);
  t.true(csv.endsWith('\r\n'));
  const header = csv.slice(0, csv.indexOf('\r\n'));
  t.is(header, CSV_COLUMNS.map(([n]) => n).join(','));
  t.is(
    header,
    'pid,ppid,name,full_name,image_path,create_time,exit_time,session_id,wow64,secure,trustlet_id,trustlet_name,protection,protection_type,protection_signer,isolation,pages_mapped,pages_readable,terminated,unlinked,sources,eprocess_va,eprocess_pa,dtb,peb,unreadable_fields,command_line,image_path_dos,current_directory,user,user_sid,integrity',
    'columns are stable: append only',
  );
  // A minimal RFC 4180 reader: quoted fields may hold commas, quotes ("") and line breaks.
  const records: string[][] = [];
  let field = '';
  let rec: string[] = [];
  let quoted = false;
  for (let i = 0; i < csv.length; i++) {
    const c = csv[i];
    if (quoted) {
      if (c === '"' && csv[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') rec.push(field), (field = '');
    else if (c === '\r' && csv[i + 1] === '\n') rec.push(field), records.push(rec), (rec = []), (field = ''), i++;
    else field += c;
  }
  t.is(records.length, r.processes.length + 1);
  t.true(records.every((x) => x.length === CSV_COLUMNS.length));
  const row = (pid: number) => records.find((x) => x[0] === String(pid))!;
  t.is(row(9200)[2], `'=HYPERLINK("x")`, 'a cell starting with = is prefixed with a quote');
  t.is(row(9300)[2], 'a"b,c\nd', 'commas, quotes and line breaks survive quoting');
  t.is(row(9400)[1], '', 'unknown PPID is an empty cell');
  t.is(row(9100)[3], 'MsMpEngCP_Service_Host.exe');
  const col = (pid: number, name: string) => row(pid)[CSV_COLUMNS.findIndex(([n]) => n === name)];
  t.is(col(9500, 'command_line'), 'cmd.exe /c "=1+1", whoami', 'a command line with quotes and commas survives quoting');
  t.is(col(9500, 'image_path_dos'), 'C:\\Windows\\System32\\cmd.exe');
  t.is(col(9500, 'user'), 'CORP\\alice');
  t.is(col(9500, 'user_sid'), 'S-1-5-21-1-2-3-1001');
  t.is(col(9500, 'integrity'), 'Medium');
  t.is(col(9500, 'current_directory'), '', 'not read: empty');
  t.is(col(9400, 'command_line'), '', 'unknown command line: empty');
});
