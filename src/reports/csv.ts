// The CSV view: one row per process, stable columns (CSV_COLUMNS, documented in docs/analyze.md;
// new columns are only ever appended), RFC 4180 (CRLF line ends, quoted fields), every cell through
// csvCell — so a hostile process name cannot start a spreadsheet formula (= + - @ get a ' prefix).
// Unknown is an empty cell, never a sentinel. --pid/--name filter the rows.
import type { ProcessRecord } from '../vsm/types.ts';
import type { Report } from './model.ts';
import { fullProcessName, processMatcher, type ProcessFilter } from './process-filter.ts';
import { csvCell } from './sanitize.ts';

type Cell = string | number | boolean | null | undefined;

/** Column name → value. Order is the file's column order; never reorder or rename, only append. */
export const CSV_COLUMNS: ReadonlyArray<readonly [string, (p: ProcessRecord) => Cell]> = [
  ['pid', (p) => p.pid],
  ['ppid', (p) => (p.ppid === null || p.ppid < 0 ? null : p.ppid)],
  ['name', (p) => p.name.text],
  ['full_name', (p) => fullProcessName(p)],
  ['image_path', (p) => p.imagePath?.text],
  ['create_time', (p) => p.createTime],
  ['exit_time', (p) => p.exitTime],
  ['session_id', (p) => p.sessionId],
  ['wow64', (p) => p.wow64],
  ['secure', (p) => p.secure],
  ['trustlet_id', (p) => p.trustlet?.id],
  ['trustlet_name', (p) => p.trustlet?.name],
  ['protection', (p) => p.protection?.text],
  ['protection_type', (p) => p.protection?.type],
  ['protection_signer', (p) => p.protection?.signer],
  ['isolation', (p) => p.isolation?.verdict],
  ['pages_mapped', (p) => p.isolation?.pagesMapped],
  ['pages_readable', (p) => p.isolation?.pagesReadable],
  ['terminated', (p) => p.terminated],
  ['unlinked', (p) => p.unlinked],
  ['sources', (p) => p.sources.join(' ')],
  ['eprocess_va', (p) => p.eprocess.va],
  ['eprocess_pa', (p) => p.eprocess.pa],
  ['dtb', (p) => p.dtb],
  ['peb', (p) => p.peb],
  ['unreadable_fields', (p) => p.unreadableFields?.join(' ')],
  // Appended for responders (issue 14's PEB side and issue 12's token): empty where unknown or not read.
  ['command_line', (p) => p.commandLine?.text],
  ['image_path_dos', (p) => p.imagePathDos],
  ['current_directory', (p) => p.currentDirectory?.text],
  ['user', (p) => (p.user ? (p.user.domain ? `${p.user.domain}\\${p.user.name}` : p.user.name) : null)],
  ['user_sid', (p) => p.token?.user?.sid],
  ['integrity', (p) => p.token?.integrity?.level],
];

const CRLF = '\r\n';

export function renderCsv(report: Report, options: { readonly filter?: ProcessFilter } = {}): string {
  const match = processMatcher(options.filter);
  const lines = [CSV_COLUMNS.map(([name]) => csvCell(name)).join(',')];
  for (const p of report.processes) if (match(p)) lines.push(CSV_COLUMNS.map(([, value]) => csvCell(value(p))).join(','));
  return lines.join(CRLF) + CRLF;
}
