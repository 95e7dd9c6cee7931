// Issue 14's low-noise findings and the finding context: rule tables on hand-made process lists
// (every rule fires on its case and stays quiet on the genuine layout), command-line splitting,
// and the ECS fields a SIEM gets for a process and a finding.
import test from 'ava';
import { buildReport, ndjsonEvents } from '../src/reports/index.ts';
import { splitCommandLine } from '../src/reports/command-line.ts';
import { GUIDANCE, withContext } from '../src/vsm/finding-context.ts';
import { editDistance, imitatedName, masqueradeFindings, volumeDirectory } from '../src/vsm/masquerade.ts';
import type { ProcessRecord } from '../src/vsm/types.ts';
import * as F from './reports-fixtures.ts';

const T0 = Date.parse('2024-05-14T07:02:11.500Z');
function p(pid: number, ppid: number, name: string, at: number, path: string | null = `\\Device\\HarddiskVolume3\\Windows\\System32\\${name}`, extra: Partial<ProcessRecord> = {}): ProcessRecord {
  return { ...F.proc({ pid, ppid, name, path, created: new Date(T0 + at * 1000).toISOString() }), ...extra };
}

/** A genuine Windows 10 process tree: no masquerade rule may fire on it. */
function genuine(): ProcessRecord[] {
  return [
    p(4, 0, 'System', 0, null),
    p(424, 4, 'smss.exe', 1),
    p(576, 560, 'csrss.exe', 5),
    p(652, 560, 'wininit.exe', 5.6),
    p(748, 644, 'winlogon.exe', 6),
    p(792, 652, 'services.exe', 6.3),
    p(800, 652, 'LsaIso.exe', 6.3),
    p(812, 652, 'lsass.exe', 6.4),
    p(944, 792, 'svchost.exe', 7.1),
    p(2088, 792, 'spoolsv.exe', 14),
    p(4188, 4124, 'explorer.exe', 38, '\\Device\\HarddiskVolume3\\Windows\\explorer.exe'),
    p(4392, 944, 'RuntimeBroker.exe', 40),
    p(5000, 944, 'sihost.exe', 41),
    p(5010, 944, 'dllhost.exe', 42),
    p(5020, 4188, 'conhost.exe', 43),
    p(5030, 4188, 'OneDrive.exe', 44, '\\Device\\HarddiskVolume3\\Users\\jdoe\\AppData\\Local\\Microsoft\\OneDrive\\OneDrive.exe'),
    p(5040, 792, 'svchost.exe', 45, '\\Device\\HarddiskVolume3\\Windows\\SysWOW64\\svchost.exe'),
  ];
}

test('a genuine process tree raises no masquerade finding', (t) => {
  t.deepEqual(masqueradeFindings(genuine()), []);
});

test('system binary outside System32/SysWOW64, unexpected parent, second lsass, imitated names', (t) => {
  const procs = [
    ...genuine(),
    p(7208, 6644, 'rundll32.exe', 9102, '\\Device\\HarddiskVolume3\\Users\\jdoe\\AppData\\Local\\Temp\\rundll32.exe'),
    p(7300, 4188, 'svchost.exe', 9200),
    p(7400, 4188, 'lsass.exe', 9300),
    p(7500, 4188, 'lsasss.exe', 9400, '\\Device\\HarddiskVolume3\\Users\\Public\\lsasss.exe'),
    p(7600, 4188, 'scvhost.exe', 9500, '\\Device\\HarddiskVolume3\\Users\\Public\\scvhost.exe'),
    p(7700, 4188, 'svch0st.exe', 9600, '\\Device\\HarddiskVolume3\\Users\\Public\\svch0st.exe'),
    p(7800, 4188, 'lsаss.exe', 9700, '\\Device\\HarddiskVolume3\\Users\\Public\\lsаss.exe'), // Cyrillic а
  ];
  const got = masqueradeFindings(procs).map((f) => `${f.rule}:${f.evidence.pid}`);
  t.deepEqual(got.sort(), [
    'ntos.duplicate-system-process:7400',
    'ntos.name-imitation:7500',
    'ntos.name-imitation:7600',
    'ntos.name-imitation:7700',
    'ntos.name-imitation:7800',
    'ntos.system-binary-path:7208',
    'ntos.unexpected-parent:7300',
    'ntos.unexpected-parent:7400',
  ]);
  const f = masqueradeFindings(procs).find((x) => x.rule === 'ntos.system-binary-path')!;
  t.is(f.attack?.subtechniqueId, 'T1036.005');
  t.is(f.severity, 'high');
});

test('an exited parent or an unknown path never fires; a PID reused after the child started is not its parent', (t) => {
  const procs = [p(4, 0, 'System', 0, null), p(812, 652, 'lsass.exe', 6.4), p(652, 4188, 'explorer.exe', 100, '\\Device\\HarddiskVolume3\\Windows\\explorer.exe'), p(900, 4, 'rundll32.exe', 10, null)];
  t.deepEqual(masqueradeFindings(procs), []);
});

test('edit distance counts a transposition once; paths reduce to their volume directory', (t) => {
  t.is(editDistance('scvhost', 'svchost'), 1);
  t.is(editDistance('lsasss', 'lsass'), 1);
  t.is(editDistance('csrss', 'lsass'), 2);
  t.is(imitatedName('csrss.exe'), undefined, 'a real system name is not an imitation');
  t.is(imitatedName('notepad.exe'), undefined);
  t.is(volumeDirectory({ imagePath: { text: '\\Device\\HarddiskVolume3\\Windows\\System32\\x.exe' } }), '\\windows\\system32\\');
  t.is(volumeDirectory({ imagePath: null, imagePathDos: 'D:\\Tools\\x.exe' }), '\\tools\\');
  t.is(volumeDirectory({ imagePath: { text: '\\SystemRoot\\System32\\smss.exe' } }), '\\windows\\system32\\');
  t.is(volumeDirectory({ imagePath: { text: 'smss.exe' } }), undefined);
});

test('every finding gets context (process, parent) and guidance; reports add them to analyses that lack them', (t) => {
  const a = F.exposed();
  const found = withContext(a.findings, a.processes);
  for (const f of found) {
    t.truthy(f.guidance?.meaning);
    t.truthy(f.guidance?.next);
  }
  const unlinked = found.find((f) => f.rule === 'ntos.process-unlinked')!;
  t.is(unlinked.context?.process?.pid, unlinked.evidence.pid);
  t.truthy(unlinked.context?.parent?.name, 'the parent is named');
  const r = buildReport(a, F.runInfo(), F.evidenceInfo());
  t.true(r.findings.every((f) => f.guidance && f.context));
  for (const id of ['ntos.process-unlinked', 'ntos.system-binary-path', 'ntos.unexpected-parent', 'ntos.duplicate-system-process', 'ntos.name-imitation', 'vsm.trustlet-pages-readable', 'ntos.lsass-handle-access']) t.truthy(GUIDANCE[id], id);
});

test('command lines split as Windows does', (t) => {
  t.deepEqual(splitCommandLine('"C:\\Program Files\\x.exe" -a "b c" d\\\\"e f"').args, ['C:\\Program Files\\x.exe', '-a', 'b c', 'd\\e f']);
  t.deepEqual(splitCommandLine('rundll32.exe C:\\Users\\jdoe\\upd.dll,Start').args, ['rundll32.exe', 'C:\\Users\\jdoe\\upd.dll,Start']);
  t.deepEqual(splitCommandLine('a \\"b\\" c').args, ['a', '"b"', 'c']);
  t.deepEqual(splitCommandLine('   ').args, []);
  const many = splitCommandLine('x ' + 'y '.repeat(1000));
  t.is(many.count, 1001);
  t.is(many.args.length, 256);
});

test('ECS: process command line, args, drive-letter executable, parent, user and host from the report', (t) => {
  const a = F.exposed();
  const procs = a.processes.map((x) =>
    x.pid === 7720
      ? { ...x, commandLine: { text: '"C:\\Users\\Public\\svch0st.exe" -k netsvcs' }, imagePathDos: 'C:\\Users\\Public\\svch0st.exe', user: { name: 'jdoe', domain: 'CORP' } }
      : x,
  );
  const host = { computerName: 'WS-FIN-0142', domain: 'CORP', dnsDomain: 'corp.example', computerNameSource: 'x', conflicts: [], os: { build: 19041, version: '10.0', productType: 'workstation', name: 'Windows 10' }, bootTime: '2024-03-14T07:00:00.000Z', dumpTime: '2024-03-14T09:00:00.000Z', dumpTimeSource: 'kuser-shared-data' as const, drives: [], reasons: [] };
  const events = ndjsonEvents(buildReport({ ...a, processes: procs, host }, F.runInfo(), F.evidenceInfo())) as Record<string, any>[];
  const ev = events.find((e) => e.event.kind === 'state' && e.process.pid === 7720)!;
  t.is(ev.process.command_line, '"C:\\Users\\Public\\svch0st.exe" -k netsvcs');
  t.deepEqual(ev.process.args, ['C:\\Users\\Public\\svch0st.exe', '-k', 'netsvcs']);
  t.is(ev.process.executable, 'C:\\Users\\Public\\svch0st.exe');
  t.is(ev.process.parent.name, 'explorer.exe');
  t.deepEqual(ev.user, { name: 'jdoe', domain: 'CORP' });
  t.is(ev.host.name, 'WS-FIN-0142');
  t.is(ev.host.domain, 'CORP');
  t.is(ev.host.os.name, 'Windows 10');
  t.is(ev.host.uptime, 7200);
  const alert = events.find((e) => e.event.kind === 'alert' && e.process?.pid === 7720)!;
  t.is(alert.process.command_line, '"C:\\Users\\Public\\svch0st.exe" -k netsvcs');
  t.truthy(alert.vsm.guidance.next);
});

test('terminal: findings with context lines; --wide adds the command-line column', async (t) => {
  const { renderTerminal } = await import('../src/reports/terminal.ts');
  const a = F.exposed();
  const procs = a.processes.map((x) => (x.pid === 7720 ? { ...x, commandLine: { text: 'svch0st.exe -k netsvcs' } } : x));
  const r = buildReport({ ...a, processes: procs }, F.runInfo(), F.evidenceInfo());
  const narrow = renderTerminal(r, { width: 120 });
  t.regex(narrow, /ntos\.process-unlinked[^\n]*\n\s+process\s+svch0st\.exe \(PID 7720\)[^\n]*\n\s+command\s+svch0st\.exe -k netsvcs\n\s+parent\s+explorer\.exe/);
  t.regex(narrow, /next\s+Treat as compromise/);
  const host = { computerName: 'WS-1', domain: 'CORP', dnsDomain: null, computerNameSource: null, conflicts: [], os: { build: 19041, version: '10.0', productType: 'workstation', name: 'Windows 10' }, bootTime: null, dumpTime: null, dumpTimeSource: null, drives: [], reasons: [] };
  t.regex(renderTerminal(buildReport({ ...a, host }, F.runInfo(), F.evidenceInfo())), /^host WS-1 \(CORP\)  Windows 10, build 19041, workstation/m);
  t.notRegex(narrow.split('Findings')[0], /COMMAND LINE/);
  const wide = renderTerminal(r, { wide: true });
  t.regex(wide, /COMMAND LINE/);
  t.regex(wide.split('Findings')[0], /svch0st\.exe -k netsvcs/);
});
