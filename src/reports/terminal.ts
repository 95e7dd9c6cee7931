// The terminal view: header, partial banner, an aligned process table (tree order), findings and
// the verdict last, where the eye lands. Colour only when the caller asks (TTY and no NO_COLOR);
// every string from the evidence goes through terminalText, so no control character reaches the tty.
import type { Finding, ProcessRecord, Severity, VsmVerdict } from '../vsm/types.ts';
import { severityRank, type Report } from './model.ts';
import { displayWidth, terminalText } from './sanitize.ts';
import { processTree } from './tree.ts';
import { describeFilter, fullProcessName, isFiltering, processMatcher, type ProcessFilter } from './process-filter.ts';

export interface TerminalOptions {
  /** Emit SGR colour codes (the caller decides: stdout is a TTY and NO_COLOR is unset). */
  readonly color?: boolean;
  /** Widest process name shown before truncation (display columns; default 30, unlimited with `wide`). */
  readonly nameWidth?: number;
  /**
   * Terminal width in columns (process.stdout.columns on a TTY): the process table is made to fit
   * by dropping columns in DROP_ORDER, then narrowing NAME. Undefined: no limit (a pipe or file).
   */
  readonly width?: number;
  /** Every column, names in full, whatever the width (--wide). */
  readonly wide?: boolean;
  /** Only these processes in the table (--pid, --name); the summary says how many are shown. */
  readonly filter?: ProcessFilter;
}

/**
 * Columns dropped, in this order, until the table fits the terminal (documented in docs/analyze.md):
 * the object address first, then the times, then the trustlet id, protection and isolation, then
 * the flags and the parent. PID and NAME always stay; NAME is then narrowed down to NAME_MIN.
 */
export const DROP_ORDER = ['EPROCESS', 'EXITED (UTC)', 'CREATED (UTC)', 'TRUSTLET', 'PROTECTION', 'ISOLATION (readable/mapped)', 'FLAGS', 'PPID'] as const;
/** Narrowest NAME column when the terminal is very narrow. */
export const NAME_MIN = 12;
const COLUMN_GAP = 2;

type Style = 'bold' | 'dim' | 'red' | 'green' | 'yellow' | 'cyan' | 'magenta' | 'inverse';
const SGR: Record<Style, string> = { bold: '1', dim: '2', red: '31', green: '32', yellow: '33', cyan: '36', magenta: '35', inverse: '7' };

const VERDICT_STYLE: Record<VsmVerdict, Style[]> = {
  isolated: ['bold', 'green'],
  exposed: ['bold', 'red'],
  indeterminate: ['bold', 'yellow'],
  'not-running': ['bold', 'dim'],
};
const SEVERITY_STYLE: Record<Severity, Style[]> = { info: ['dim'], low: ['cyan'], medium: ['yellow'], high: ['red'], critical: ['bold', 'red'] };

/** Shortens to `width` display columns (… marks the cut). */
function fit(s: string, width: number): string {
  if (displayWidth(s) <= width) return s;
  let out = '';
  for (const ch of s) {
    if (displayWidth(out + ch) > width - 1) break;
    out += ch;
  }
  return out + '…';
}

function pad(s: string, width: number, right = false): string {
  const gap = ' '.repeat(Math.max(0, width - displayWidth(s)));
  return right ? gap + s : s + gap;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** '2024-03-14 07:58:12' from an ISO-8601 UTC string ('' for null). */
function shortTime(t: string | null): string {
  return t ? t.replace('T', ' ').replace(/(\.\d+)?Z$/, '') : '';
}

function flags(p: ProcessRecord): string[] {
  const f: string[] = [];
  if (p.secure) f.push('secure');
  if (p.protection?.type === 'ProtectedLight') f.push('PPL');
  else if (p.protection && p.protection.raw !== 0) f.push('PP');
  if (p.unlinked) f.push('unlinked');
  if (p.terminated) f.push('exited');
  if (p.wow64) f.push('wow64');
  if (p.secure === null) f.push('secure?');
  // The rest of the nine PROCESS_EXTENDED_BASIC_INFORMATION flags (protected, WoW64 and secure are above).
  const x = p.extendedInfo;
  if (x) {
    if (x.isProcessDeleting) f.push('deleting');
    if (x.isCrossSessionCreate) f.push('xsession');
    if (x.isFrozen) f.push('frozen');
    if (x.isBackground) f.push('background');
    if (x.isStronglyNamed) f.push('packaged');
    if (x.isSubsystemProcess) f.push('pico');
    if (x.unknownMask !== 0) f.push('flags?');
  }
  if (p.debugPort) f.push('debugged');
  return f;
}

/** A number that may be unknown: '?' for null (or a negative sentinel from an older reader), never -1. */
function knownNumber(v: number | null | undefined): string {
  return v === null || v === undefined || v < 0 ? '?' : String(v);
}

function isolationCell(p: ProcessRecord): string {
  const i = p.isolation;
  if (!i) return '';
  return `${i.verdict} ${i.pagesReadable}/${i.pagesMapped}${i.partial ? ' (partial)' : ''}`;
}

export function renderTerminal(report: Report, options: TerminalOptions = {}): string {
  const color = options.color === true;
  const paint = (s: string, styles: Style[]) => (color && styles.length ? `\x1b[${styles.map((x) => SGR[x]).join(';')}m${s}\x1b[0m` : s);
  const t = terminalText;
  const e = report.evidence;
  const out: string[] = [];

  // Header: what was analysed, by what.
  out.push(
    paint(`${t(report.tool.name)} ${t(report.tool.version)}`, ['bold']) +
      `  ${t(e.fileName)}  ${t(e.formatName)}  ${formatBytes(e.size)}` +
      (e.build !== null ? `  build ${e.build}` : ''),
  );
  out.push(
    `sha256 ${e.sha256 ?? '(not computed)'}  system time ${e.systemTime ? shortTime(e.systemTime) + ' UTC' : 'unknown'}  symbols ${t(report.kernel.symbolsSource)}`,
  );
  if (report.run.case || report.run.examiner) out.push(`case ${t(report.run.case ?? '-')}  examiner ${t(report.run.examiner ?? '-')}`);
  const host = report.host;
  if (host)
    out.push(
      `host ${host.computerName ? paint(t(host.computerName), ['bold']) : '(name unknown)'}${host.domain ? ` (${t(host.domain)})` : ''}` +
        `  ${t([host.os.name, host.os.build !== null ? `build ${host.os.build}` : null, host.os.productType].filter(Boolean).join(', ') || 'OS unknown')}` +
        `  booted ${host.bootTime ? shortTime(host.bootTime) + ' UTC' : 'unknown'}  dump ${host.dumpTime ? shortTime(host.dumpTime) + ' UTC' : 'unknown'}` +
        (host.conflicts.length ? paint(`  (other names seen: ${host.conflicts.map((c) => t(c.value)).join(', ')})`, ['yellow']) : ''),
    );
  out.push('');

  if (report.partial.partial) {
    out.push(paint('!! PARTIAL RESULTS: some of memory or some structures were missing', ['bold', 'yellow']));
    for (const r of report.partial.reasons) out.push(paint(`   - ${t(r)}`, ['yellow']));
    for (const m of report.partial.missingRanges) out.push(paint(`   - missing ${m.start} +${m.pages} pages: ${t(m.reason)}`, ['yellow']));
    for (const c of report.capsHit) out.push(paint(`   - cap hit: ${t(c.cap)} (limit ${c.limit})`, ['yellow']));
    out.push('');
  }

  out.push(...processTable(report, options, paint));
  const s = report.summary;
  const shown = isFiltering(options.filter) ? report.processes.filter(processMatcher(options.filter)).length : null;
  out.push(
    paint(
      `${s.processes} processes: ${s.secure} secure, ${s.protected} protected, ${s.terminated} exited, ${s.unlinked} unlinked` +
        ` (list ${report.stats.listed}, scan ${report.stats.scanned})` +
        (shown !== null ? `; ${shown} shown (${t(describeFilter(options.filter))})` : ''),
      ['dim'],
    ),
  );
  out.push('');

  // Findings, worst first.
  if (report.findings.length) {
    out.push(paint(`Findings (${report.findings.length})`, ['bold']));
    const sorted = [...report.findings].sort((a, b) => severityRank(b.severity) - severityRank(a.severity));
    const sevWidth = Math.max(...sorted.map((f) => f.severity.length));
    for (const f of sorted) {
      const ev = f.evidence;
      const where = [ev.pid !== undefined ? `PID ${ev.pid}` : '', ev.eprocessVa ? `EPROCESS ${ev.eprocessVa}` : ev.eprocessPa ? `EPROCESS PA ${ev.eprocessPa}` : '', ev.pages?.pagesReadable !== undefined ? `${ev.pages.pagesReadable} readable pages` : '']
        .filter(Boolean)
        .join(', ');
      out.push(`  ${paint(pad(f.severity.toUpperCase(), sevWidth), SEVERITY_STYLE[f.severity])}  ${t(f.rule)}  ${t(f.message)}${where ? paint(`  [${where}]`, ['dim']) : ''}`);
      for (const l of findingContextLines(f)) out.push(paint(`  ${' '.repeat(sevWidth)}  ${l}`, ['dim']));
    }
    out.push('');
  }

  out.push(paint(`VSM verdict: ${report.vsm.verdict.toUpperCase()}`, VERDICT_STYLE[report.vsm.verdict]) + ` - ${t(report.vsm.reason)}`);
  const posture = report.vsm.posture;
  out.push(
    `Credential Guard ${posture.credentialGuard ? 'running' : 'not running'}; Secure System ${posture.secureSystemPresent ? 'present' : 'absent'}; ` +
      `${posture.secureProcesses} secure processes; dump origin ${t(posture.dumpOrigin)}` +
      (report.partial.partial ? paint('  (partial results)', ['yellow']) : ''),
  );
  return out.join('\n') + '\n';
}

type Paint = (s: string, styles: Style[]) => string;

/** A finding's context as indented lines: the process (path, user, time), its command line, its parent, what to check next. */
function findingContextLines(f: Finding): string[] {
  const t = terminalText;
  const c = f.context;
  const lines: string[] = [];
  const p = c?.process;
  if (p) {
    lines.push(`process  ${t(p.name ?? '?')} (PID ${p.pid ?? '?'})${p.path ? `  ${t(p.path)}` : ''}${p.user ? `  user ${t(p.user)}` : ''}${p.createTime ? `  created ${shortTime(p.createTime)}` : ''}`);
    if (p.commandLine) lines.push(`command  ${t(p.commandLine)}`);
  }
  const q = c?.parent;
  if (q) lines.push(`parent   ${t(q.name ?? 'not in the dump')} (PID ${q.pid ?? '?'})${q.path ? `  ${t(q.path)}` : ''}${q.commandLine ? `  ${t(q.commandLine)}` : ''}`);
  if (f.attack) lines.push(`att&ck   ${t(f.attack.subtechniqueId ?? f.attack.techniqueId)} ${t(f.attack.subtechniqueName ?? f.attack.techniqueName)}`);
  if (f.guidance) lines.push(`next     ${t(f.guidance.next)}`);
  return lines;
}

/** The process table in tree order (names indented by depth), fitted to the terminal width. */
function processTable(report: Report, options: TerminalOptions, paint: Paint): string[] {
  const t = terminalText;
  const wide = options.wide === true;
  const match = processMatcher(options.filter);
  const rows = processTree(report.processes)
    .filter(({ process: p }) => match(p))
    .map(({ process: p, depth }) => ({
      p,
      cells: [
        String(p.pid),
        knownNumber(p.ppid),
        '  '.repeat(Math.min(depth, 8)) + t(fullProcessName(p)),
        flags(p).join(','),
        p.protection === null ? '?' : p.protection.raw ? t(p.protection.text.replace(/^PsProtectedSigner/, '')) : '',
        p.trustlet ? `${p.trustlet.id ?? '?'} ${t(p.trustlet.name ?? '')}`.trim() : '',
        isolationCell(p),
        shortTime(p.createTime),
        shortTime(p.exitTime),
        p.eprocess.va ?? `PA ${p.eprocess.pa ?? '?'}`,
        wide ? t(p.commandLine?.text ?? '') : '',
      ],
    }));
  const head = ['PID', 'PPID', 'NAME', 'FLAGS', 'PROTECTION', 'TRUSTLET', 'ISOLATION (readable/mapped)', 'CREATED (UTC)', 'EXITED (UTC)', 'EPROCESS', 'COMMAND LINE'];
  const COMMAND = head.length - 1;
  const NAME = 2;
  const numeric = [true, true];
  const widths = head.map((h, i) => Math.max(displayWidth(h), ...rows.map((r) => displayWidth(r.cells[i]))));
  if (!wide) widths[NAME] = Math.min(widths[NAME], Math.max(displayWidth(head[NAME]), options.nameWidth ?? 30));
  // Drop columns that are empty on every row (e.g. EXITED on a clean list) to keep lines short.
  const keep = head.map((_, i) => (i === COMMAND ? wide : i === 0 || i === NAME || wide || rows.some((r) => r.cells[i] !== '')));
  const total = () => widths.reduce((sum, w, i) => sum + (keep[i] ? w + COLUMN_GAP : 0), -COLUMN_GAP);
  const hidden: string[] = [];
  const limit = wide ? undefined : options.width;
  if (limit !== undefined) {
    for (const col of DROP_ORDER) {
      if (total() <= limit) break;
      const i = head.indexOf(col);
      if (keep[i]) {
        keep[i] = false;
        hidden.push(col.replace(/ \(.*\)$/, ''));
      }
    }
    if (total() > limit) widths[NAME] = Math.max(NAME_MIN, widths[NAME] - (total() - limit));
  }
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (keep[i] ? pad(i === NAME ? fit(c, widths[i]) : c, widths[i], numeric[i] === true) : null))
      .filter((c): c is string => c !== null)
      .join(' '.repeat(COLUMN_GAP))
      .trimEnd();
  const out = [paint(line(head), ['bold'])];
  for (const r of rows) {
    const style: Style[] = r.p.unlinked ? ['red'] : r.p.isolation?.verdict === 'exposed' ? ['bold', 'red'] : r.p.secure ? ['cyan'] : r.p.terminated ? ['dim'] : [];
    out.push(paint(line(r.cells), style));
  }
  if (hidden.length) out.push(paint(`(${hidden.join(', ')} hidden to fit ${limit} columns: --wide shows every column)`, ['dim']));
  return out;
}
