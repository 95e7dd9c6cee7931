// `analyze DUMP --pid N --show threads|handles|vads|token|apcs`: one process's internals as a plain
// table in the style of Volatility 3's per-plugin output (a header row, one row per item, columns
// separated by tabs-as-spaces). Every string from the evidence goes through terminalText.
import { sidName } from '../ntos/sid-names.ts';
import type { ProcessRecord } from '../vsm/types.ts';
import type { Report } from './model.ts';
import { displayWidth, terminalText } from './sanitize.ts';

export const SHOW_KINDS = ['threads', 'handles', 'vads', 'token', 'apcs'] as const;
export type ShowKind = (typeof SHOW_KINDS)[number];

type Cell = string | number | boolean | null | undefined;

const cell = (v: Cell): string => (v === null || v === undefined ? '-' : typeof v === 'string' ? terminalText(v) : String(v));
const hexNum = (n: number) => '0x' + n.toString(16);

/** Left-aligned columns, two spaces apart, the header first (Volatility's text renderer layout). */
export function textTable(head: readonly string[], rows: readonly Cell[][]): string {
  const cells = rows.map((r) => r.map(cell));
  const widths = head.map((h, i) => Math.max(displayWidth(h), ...cells.map((r) => displayWidth(r[i] ?? ''))));
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(Math.max(0, widths[i] - displayWidth(c)))))
      .join('  ')
      .trimEnd();
  return [line(head), '', ...cells.map(line)].join('\n') + '\n';
}

function threadsTable(p: ProcessRecord): string {
  return textTable(
    ['PID', 'TID', 'ETHREAD', 'StartAddress', 'Win32StartAddress', 'StartModule', 'State', 'CreateTime', 'ExitTime', 'APCs'],
    (p.threads ?? []).map((t) => [p.pid, t.tid, t.ethread, t.startAddress, t.win32StartAddress, t.startModule, t.state, t.createTime, t.exitTime, t.apcs.length]),
  );
}

function apcsTable(p: ProcessRecord): string {
  return textTable(
    ['PID', 'TID', 'Mode', 'KAPC', 'KernelRoutine', 'NormalRoutine', 'Module'],
    (p.threads ?? []).flatMap((t) => t.apcs.map((a) => [p.pid, t.tid, a.mode, a.kapc, a.kernelRoutine, a.normalRoutine, a.module] as Cell[])),
  );
}

function handlesTable(p: ProcessRecord): string {
  return textTable(
    ['PID', 'Process', 'Offset', 'HandleValue', 'Type', 'GrantedAccess', 'Name'],
    (p.handles ?? []).map((h) => {
      const target = h.target ? `${h.target.name ?? '?'} Pid ${h.target.pid ?? '?'}${h.target.tid !== null ? ` Tid ${h.target.tid}` : ''}` : null;
      return [p.pid, p.name.text, h.object, hexNum(h.handle), h.type, hexNum(h.grantedAccess), target ?? h.name];
    }),
  );
}

function vadsTable(p: ProcessRecord): string {
  return textTable(
    ['PID', 'Process', 'Start VPN', 'End VPN', 'Protection', 'CommitCharge', 'PrivateMemory', 'File'],
    (p.vads ?? []).map((v) => [p.pid, p.name.text, v.start, v.end, v.protection, v.commit, v.private === null ? null : v.private ? 1 : 0, v.file]),
  );
}

function tokenTable(p: ProcessRecord): string {
  const tk = p.token;
  if (!tk) return 'Token: unreadable\n';
  const sids = textTable(
    ['PID', 'Process', 'SID', 'Name', 'Role', 'Attributes'],
    [
      ...(tk.user ? [[p.pid, p.name.text, tk.user.sid, tk.user.name ?? sidName(tk.user.sid), 'User', null] as Cell[]] : []),
      ...tk.groups.map((g) => [p.pid, p.name.text, g.sid, sidName(g.sid), tk.integrity?.sid === g.sid ? `Integrity (${tk.integrity.level})` : 'Group', hexNum(g.attributes)] as Cell[]),
      ...(tk.integrity && !tk.groups.some((g) => g.sid === tk.integrity!.sid) ? [[p.pid, p.name.text, tk.integrity.sid, sidName(tk.integrity.sid), `Integrity (${tk.integrity.level})`, null] as Cell[]] : []),
      ...(tk.package ? [[p.pid, p.name.text, tk.package.sid, sidName(tk.package.sid), 'Package', null] as Cell[]] : []),
    ],
  );
  const privs = textTable(
    ['PID', 'Process', 'Privilege', 'Attributes'],
    tk.privileges.map((x) => [p.pid, p.name.text, x.name, [x.present ? 'Present' : '', x.enabled ? 'Enabled' : '', x.enabledByDefault ? 'Default' : ''].filter(Boolean).join(',')]),
  );
  return sids + '\n' + privs;
}

const RENDER: Record<ShowKind, (p: ProcessRecord) => string> = { threads: threadsTable, apcs: apcsTable, handles: handlesTable, vads: vadsTable, token: tokenTable };

/** The table for every process with `pid` (PIDs can repeat across exited processes); a line saying why when there is none. */
export function renderInternals(report: Report, pid: number, kind: ShowKind): string {
  const procs = report.processes.filter((p) => p.pid === pid);
  if (procs.length === 0) return `No process with PID ${pid} in this dump.\n`;
  return procs
    .map((p) => {
      const title = `${terminalText(p.name.text)} (PID ${p.pid}, EPROCESS ${p.eprocess.va ?? p.eprocess.pa ?? '?'}) ${kind}`;
      const field = kind === 'apcs' ? 'threads' : kind;
      const value = p[field];
      if (value === undefined) return `${title}\nnot walked (the analysis ran without process internals)\n`;
      if (value === null) return `${title}\nunreadable: ${terminalText(p.unreadableFields?.join(', ') ?? 'see the partial reasons')}\n`;
      return `${title}\n\n${RENDER[kind](p)}`;
    })
    .join('\n');
}
