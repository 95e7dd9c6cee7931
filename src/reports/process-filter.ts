// Which processes a view shows (--pid, --name) and the name to show for each. The terminal table
// and the CSV filter; the JSON, NDJSON and HTML reports always hold every process.
import { fullProcessName } from '../vsm/full-name.ts';
import type { ProcessRecord } from '../vsm/types.ts';

// One rule for a process's full name everywhere (terminal, CSV, HTML, NDJSON, findings).
export { fullProcessName } from '../vsm/full-name.ts';

export interface ProcessFilter {
  /** Only these PIDs. */
  readonly pids?: readonly number[];
  /** Only names matching: case-insensitive; `*` and `?` are wildcards (whole name), otherwise a substring. */
  readonly name?: string;
}

export function isFiltering(f: ProcessFilter | undefined): boolean {
  return !!f && ((f.pids?.length ?? 0) > 0 || (f.name !== undefined && f.name !== ''));
}

function nameMatcher(pattern: string): (name: string) => boolean {
  const p = pattern.toLowerCase();
  if (!/[*?]/.test(p)) return (n) => n.toLowerCase().includes(p);
  const re = new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 's');
  return (n) => re.test(n.toLowerCase());
}

/** A predicate for the filter (every process passes an empty filter); names match short or full. */
export function processMatcher(f: ProcessFilter | undefined): (p: ProcessRecord) => boolean {
  if (!f || !isFiltering(f)) return () => true;
  const pids = f.pids?.length ? new Set(f.pids) : null;
  const name = f.name ? nameMatcher(f.name) : null;
  return (p) => (!pids || pids.has(p.pid)) && (!name || name(p.name.text) || name(fullProcessName(p)));
}

/** The filter in words, for the views that apply it: "--pid 4,612 --name lsa*". */
export function describeFilter(f: ProcessFilter | undefined): string {
  if (!f || !isFiltering(f)) return '';
  return [f.pids?.length ? `--pid ${f.pids.join(',')}` : '', f.name ? `--name ${f.name}` : ''].filter(Boolean).join(' ');
}
