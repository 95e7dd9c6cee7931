// The HTML and terminal views of issue 12's data on a hand-built report: the tampering panel of a
// secure process (clean, or each trace), bounded handle tables, and the --show tables.
import test from 'ava';
import { buildReport, renderHtml } from '../src/reports/index.ts';
import { MAX_TABLE_ROWS } from '../src/reports/html-internals.ts';
import { renderInternals } from '../src/reports/internals-table.ts';
import { LSASS_MEMORY } from '../src/vsm/attack.ts';
import type { Analysis, HandleRecord, ProcessRecord } from '../src/vsm/types.ts';
import * as F from './reports-fixtures.ts';

const MANY = MAX_TABLE_ROWS * 3;
function withInternals(tampered: boolean): Analysis {
  const a = F.credentialGuard();
  const handles: HandleRecord[] = Array.from({ length: MANY }, (_, i) => ({ handle: 4 * (i + 1), type: 'Event', grantedAccess: 0x1f0003, rights: [], object: '0xffffa50f4b000000', target: null, name: i === 7 ? '<img src=x onerror=alert(1)>' : null }));
  const processes = a.processes.map((p): ProcessRecord => ({ ...p, threads: [], handles: p.name.text === 'explorer.exe' ? handles : [], vads: [], token: null, debugPort: null, exitStatus: 0x103, basePriority: 8 }));
  const lsaiso = processes.find((p) => p.name.text === 'LsaIso.exe')!;
  const findings = tampered
    ? [
        ...a.findings,
        { rule: 'vsm.trustlet-handle-access', title: 'A process holds a handle on a trustlet with tampering rights', severity: 'high' as const, message: 'evil.exe (PID 6666) holds Process handle 0x10 on LsaIso.exe (PID 728) with PROCESS_VM_READ.', evidence: { pid: lsaiso.pid, eprocessVa: lsaiso.eprocess.va, owner: { pid: 6666, name: 'evil.exe' }, handle: 16, rights: ['PROCESS_VM_READ'] }, attack: LSASS_MEMORY },
      ]
    : a.findings;
  return { ...a, processes, findings };
}

test('HTML: a clean secure process says so; a tampered one lists each trace with its evidence', (t) => {
  const clean = renderHtml(buildReport(withInternals(false), F.runInfo(), F.evidenceInfo()));
  t.regex(clean, /Tampering attempts: none found/);
  const bad = renderHtml(buildReport(withInternals(true), F.runInfo(), F.evidenceInfo()));
  t.regex(bad, /Tampering attempts: 1 trace</);
  t.regex(bad, /vsm\.trustlet-handle-access/);
  t.regex(bad, /Handle owner<\/dt><dd>evil\.exe <span class="muted">PID 6666/);
  t.regex(bad, /T1003\.001/);
});

test('HTML: a process with thousands of handles gets a bounded, closed table; strings stay inert', (t) => {
  const html = renderHtml(buildReport(withInternals(false), F.runInfo(), F.evidenceInfo()));
  t.regex(html, new RegExp(`${MANY - MAX_TABLE_ROWS} more in the JSON report`));
  t.regex(html, /<details class="itable"><summary>Handles <span class="muted">\(1500\)/);
  t.false(html.includes('<img src=x'), 'the hostile object name is escaped');
});

test('--show handles prints one Volatility-style row per handle; an unknown PID says so', (t) => {
  const r = buildReport(withInternals(false), F.runInfo(), F.evidenceInfo());
  const explorer = r.processes.find((p) => p.name.text === 'explorer.exe')!;
  const out = renderInternals(r, explorer.pid, 'handles');
  t.regex(out.split('\n')[2], /^PID\s+Process\s+Offset\s+HandleValue\s+Type\s+GrantedAccess\s+Name$/);
  t.is(out.split('\n').filter((l) => /Event/.test(l)).length, MANY);
  t.regex(renderInternals(r, 999999, 'threads'), /No process with PID 999999/);
});
