// Issue 12's parts of the HTML report: for every secure process a "tampering attempts" panel (clean,
// or each trace with its evidence), and per-process detail sections for the nine extended flags,
// threads with their APCs, handles, token and VADs. Tables are closed <details> with a bounded number
// of rows (rows a finding names always shown; the rest are in the JSON report), so a process with
// hundreds of thousands of handles keeps the page small. No script, no network; every string from the
// evidence passes through htmlText/htmlAttr.
import { LSASS_HANDLE_RULE, TAMPERING_RULES } from '../vsm/tampering.ts';
import { EXTENDED_FLAG_NAMES, type Finding, type ProcessRecord } from '../vsm/types.ts';
import type { DetailSection } from './html-detail.ts';
import { code, kv } from './html-parts.ts';
import { findingProcess, processKey, type Report } from './model.ts';
import { htmlAttr as a, htmlText as h } from './sanitize.ts';

/** Rows shown per table before "N more in the JSON report". */
export const MAX_TABLE_ROWS = 500;

/** The finding ids the tampering panel gathers. */
export const TAMPER_RULE_IDS: readonly string[] = TAMPERING_RULES.map((r) => r.rule).filter((id) => id !== LSASS_HANDLE_RULE);

const FLAG_LABEL: Record<(typeof EXTENDED_FLAG_NAMES)[number], string> = {
  isProtectedProcess: 'Protected',
  isWow64Process: 'WoW64',
  isProcessDeleting: 'Deleting',
  isCrossSessionCreate: 'Cross-session create',
  isFrozen: 'Frozen',
  isBackground: 'Background',
  isStronglyNamed: 'Strongly named (package)',
  isSecureProcess: 'Secure (IUM)',
  isSubsystemProcess: 'Subsystem (Pico)',
};

const hexNum = (n: number) => '0x' + n.toString(16);
const cell = (v: string | number | null | undefined, cls = '') => `<td${cls ? ` class="${cls}"` : ''}>${v === null || v === undefined ? '<span class="muted">-</span>' : h(String(v))}</td>`;

/** The findings of this report that concern `p` (by the process the evidence names). */
function findingsOf(report: Report, p: ProcessRecord, rules?: readonly string[]): Finding[] {
  const key = processKey(p);
  return report.findings.filter((f) => (!rules || rules.includes(f.rule)) && findingProcess(report.processes, f) !== undefined && processKey(findingProcess(report.processes, f)!) === key);
}

/** The evidence of a finding as a short key/value list (scalars and small arrays only). */
function evidenceList(f: Finding): string {
  const rows: [string, string | null][] = [];
  for (const [k, v] of Object.entries(f.evidence)) {
    if (v === undefined || v === null || k === 'eprocessPa') continue;
    if (k === 'owner' && typeof v === 'object') {
      const o = v as { pid?: number; name?: string };
      rows.push(['Handle owner', `${h(o.name ?? '?')} <span class="muted">PID ${h(String(o.pid ?? '?'))}</span>`]);
    } else if (Array.isArray(v)) rows.push([k, v.length ? h(v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).join(', ')) : null]);
    else if (typeof v !== 'object') rows.push([k, k === 'handle' && typeof v === 'number' ? code(hexNum(v)) : code(String(v))]);
  }
  return kv(rows);
}

/** The tampering-attempts panel of a secure process: clean, or one block per trace. */
export function tamperingPanel(report: Report, p: ProcessRecord): string {
  if (p.threads === undefined && p.handles === undefined) return `<div class="tamper"><h4>Tampering attempts</h4><p class="muted">Not examined: the analysis ran without process internals.</p></div>`;
  const traces = findingsOf(report, p, TAMPER_RULE_IDS);
  if (traces.length === 0) {
    const looked = [p.handles === null ? null : 'handles of every process', p.threads === null ? null : 'its threads and APC queues', p.vads === null ? null : 'its VADs', 'its debug port'].filter(Boolean).join(', ');
    return `<div class="tamper tamper-clean"><h4>Tampering attempts: none found</h4><p class="muted">Looked at ${h(looked)}.</p></div>`;
  }
  const items = traces.map((f) => `<li><span class="sev sev-${a(f.severity)}">${h(f.severity)}</span> <code>${h(f.rule)}</code>${f.attack ? ` <span class="muted">${h(f.attack.subtechniqueId ?? f.attack.techniqueId)}</span>` : ''}<br>${h(f.message)}${evidenceList(f)}</li>`);
  return `<div class="tamper tamper-found"><h4>Tampering attempts: ${traces.length} trace${traces.length === 1 ? '' : 's'}</h4><ol>${items.join('')}</ol></div>`;
}

/** A closed <details> table of at most MAX_TABLE_ROWS rows, keeping the rows `keep` marks. */
function boundedTable<T>(title: string, head: readonly string[], items: readonly T[], row: (x: T) => string, keep: (x: T) => boolean = () => false, open = false): string {
  const shown = items.length <= MAX_TABLE_ROWS ? items : [...items.filter(keep), ...items.filter((x) => !keep(x)).slice(0, MAX_TABLE_ROWS)];
  const more = items.length - shown.length;
  return (
    `<details class="itable"${open ? ' open' : ''}><summary>${h(title)} <span class="muted">(${items.length})</span></summary>` +
    `<table class="small"><thead><tr>${head.map((x) => `<th>${h(x)}</th>`).join('')}</tr></thead><tbody>${shown.map(row).join('')}</tbody></table>` +
    (more > 0 ? `<p class="muted">${more} more in the JSON report.</p>` : '') +
    `</details>`
  );
}

function unreadable(what: string): string {
  return `<p class="muted">${h(what)}: unreadable (see the partial reasons).</p>`;
}

/** TIDs, handle values and VAD starts that findings name, per process. */
function named(report: Report, p: ProcessRecord): { tids: Set<number>; handles: Set<number>; addresses: Set<string> } {
  const out = { tids: new Set<number>(), handles: new Set<number>(), addresses: new Set<string>() };
  for (const f of report.findings) {
    const ev = f.evidence as Record<string, unknown> & { owner?: { pid?: number } };
    if (typeof ev.tid === 'number') out.tids.add(ev.tid);
    if (typeof ev.address === 'string') out.addresses.add(ev.address);
    if (typeof ev.handle === 'number' && ev.owner?.pid === p.pid) out.handles.add(ev.handle);
  }
  return out;
}

export const INTERNALS_SECTIONS: DetailSection[] = [
  {
    id: 'tampering',
    title: 'Tampering attempts',
    render: ({ report, process: p }) => (p.secure === true ? tamperingPanel(report, p) : null),
  },
  {
    id: 'flags',
    title: 'Extended basic information (NtQueryInformationProcess)',
    render: ({ process: p }) => {
      const x = p.extendedInfo;
      if (!x) return null;
      const rows = EXTENDED_FLAG_NAMES.map((n, bit) => {
        const v = x[n];
        const val = v === null ? `<span class="muted">unknown: ${h(x.reasons[n] ?? '')}</span>` : v ? '<strong>yes</strong>' : 'no';
        return `<tr><td class="num">${bit}</td><td>${h(FLAG_LABEL[n])}</td><td>${val}</td><td class="muted">${h(x.sources[n] ?? '')}</td></tr>`;
      });
      return (
        kv([
          ['Flags', x.flags === null ? `<span class="muted">unknown</span> (known set ${code(hexNum(x.knownFlags))}, unknown ${code(hexNum(x.unknownMask))})` : code(hexNum(x.flags))],
          ['Exit status', p.exitStatus === null || p.exitStatus === undefined ? null : code(hexNum(p.exitStatus))],
          ['Base priority', p.basePriority === null || p.basePriority === undefined ? null : h(String(p.basePriority))],
          ['Debug port', p.debugPort ? `<strong>${code(p.debugPort)}</strong>` : 'not set'],
        ]) + `<table class="small"><thead><tr><th>Bit</th><th>Flag</th><th>Value</th><th>Source</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
      );
    },
  },
  {
    id: 'threads',
    title: 'Threads and APCs',
    render: ({ report, process: p }) => {
      if (p.threads === undefined) return null;
      if (p.threads === null) return unreadable('Threads');
      const n = named(report, p);
      const apcs = p.threads.flatMap((t) => t.apcs.map((x) => ({ t, x })));
      return (
        boundedTable('Threads', ['TID', 'ETHREAD', 'StartAddress', 'Win32StartAddress', 'Module', 'State', 'Created', 'APCs'], p.threads, (t) => `<tr>${cell(t.tid, 'num')}${cell(t.ethread, 'mono')}${cell(t.startAddress, 'mono')}${cell(t.win32StartAddress, 'mono')}${t.startModule === null ? '<td><strong>none</strong></td>' : cell(t.startModule)}${cell(t.state)}${cell(t.createTime)}${cell(t.apcs.length, 'num')}</tr>`, (t) => n.tids.has(t.tid), n.tids.size > 0) +
        (apcs.length ? boundedTable('Queued APCs', ['TID', 'Mode', 'KAPC', 'KernelRoutine', 'NormalRoutine', 'Module'], apcs, ({ t, x }) => `<tr>${cell(t.tid, 'num')}${cell(x.mode)}${cell(x.kapc, 'mono')}${cell(x.kernelRoutine, 'mono')}${cell(x.normalRoutine, 'mono')}${x.module === null ? '<td><strong>none</strong></td>' : cell(x.module)}</tr>`, () => true, true) : '')
      );
    },
  },
  {
    id: 'handles',
    title: 'Handles',
    render: ({ report, process: p }) => {
      if (p.handles === undefined) return null;
      if (p.handles === null) return unreadable('Handles');
      const n = named(report, p);
      return boundedTable('Handles', ['Handle', 'Type', 'Access', 'Rights', 'Object', 'Target / name'], p.handles, (x) => {
        const target = x.target ? `${x.target.name ?? '?'} (PID ${x.target.pid ?? '?'}${x.target.tid !== null ? `, TID ${x.target.tid}` : ''})` : x.name;
        return `<tr>${cell(hexNum(x.handle), 'mono')}${cell(x.type)}${cell(hexNum(x.grantedAccess), 'mono')}${cell(x.rights.join(' '))}${cell(x.object, 'mono')}${cell(target, 'path')}</tr>`;
      }, (x) => n.handles.has(x.handle), n.handles.size > 0);
    },
  },
  {
    id: 'token',
    title: 'Token',
    render: ({ process: p }) => {
      if (p.token === undefined) return null;
      const t = p.token;
      if (t === null) return unreadable('Token');
      return (
        kv([
          ['User', t.user ? `${code(t.user.sid)}${t.user.name ? ` ${h(t.user.name)}` : ''}` : '<span class="muted">unreadable</span>'],
          ['Integrity', t.integrity ? `${h(t.integrity.level)} ${code(t.integrity.sid)}` : null],
          ['Package', t.package ? code(t.package.sid) : null],
          ['Enabled privileges', h(t.privileges.filter((x) => x.enabled).map((x) => x.name).join(', ') || 'none')],
        ]) +
        boundedTable('Groups', ['SID', 'Attributes'], t.groups, (g) => `<tr>${cell(g.sid, 'mono')}${cell(hexNum(g.attributes), 'mono')}</tr>`) +
        boundedTable('Privileges', ['Privilege', 'Present', 'Enabled', 'Default'], t.privileges, (x) => `<tr>${cell(x.name)}${cell(x.present ? 'yes' : 'no')}${cell(x.enabled ? 'yes' : 'no')}${cell(x.enabledByDefault ? 'yes' : 'no')}</tr>`)
      );
    },
  },
  {
    id: 'vads',
    title: 'Memory regions (VADs)',
    render: ({ report, process: p }) => {
      if (p.vads === undefined) return null;
      if (p.vads === null) return unreadable('VADs');
      const n = named(report, p);
      return boundedTable('VADs', ['Start', 'End', 'Protection', 'Private', 'Commit', 'File'], p.vads, (v) => `<tr>${cell(v.start, 'mono')}${cell(v.end, 'mono')}${v.private && v.protection?.includes('EXECUTE') ? `<td><strong>${h(v.protection)}</strong></td>` : cell(v.protection)}${cell(v.private === null ? null : v.private ? 'yes' : 'no')}${cell(v.commit, 'num')}${cell(v.file, 'path')}</tr>`, (v) => n.addresses.has(v.start), n.addresses.size > 0 && p.vads.some((v) => n.addresses.has(v.start)));
    },
  },
];
