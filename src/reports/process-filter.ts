// Which processes a view shows (--pid, --name) and the name to show for each. The terminal table
// and the CSV filter; the JSON, NDJSON and HTML reports always hold every process.
import type { ProcessRecord } from '../vsm/types.ts';

/** EPROCESS.ImageFileName holds at most 15 bytes: a name this long may have been cut. */
export const IMAGE_FILE_NAME_BYTES = 15;

/** The last component of a Windows (or NT) path. */
function baseName(path: string): string {
  return path.slice(Math.max(path.lastIndexOf('\\'), path.lastIndexOf('/')) + 1);
}

/**
 * The process's full name: ImageFileName, or — where it may have been truncated (14 or 15
 * characters) — the image path's file name when that starts with it (case-insensitively).
 */
export function fullProcessName(p: ProcessRecord): string {
  const short = p.name.text;
  if (short.length < IMAGE_FILE_NAME_BYTES - 1 || !p.imagePath) return short;
  const full = baseName(p.imagePath.text);
  return full.length > short.length && full.toLowerCase().startsWith(short.toLowerCase()) ? full : short;
}

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
