// Small HTML building blocks shared by the report's sections. Every string passes through
// htmlText/htmlAttr (src/reports/sanitize.ts); nothing here reads anything but the report model.
import type { ProcessRecord } from '../vsm/types.ts';
import { processKey } from './model.ts';
import { htmlId, htmlText as h } from './sanitize.ts';

export function fmtTime(t: string | null | undefined): string {
  return t ? h(t.replace('T', ' ').replace(/Z$/, ' UTC')) : '<span class="muted">unknown</span>';
}

export function kv(pairs: [string, string | null | undefined][]): string {
  return `<dl class="kv">${pairs
    .filter((p): p is [string, string] => p[1] !== undefined && p[1] !== null)
    .map(([k, v]) => `<dt>${h(k)}</dt><dd>${v}</dd>`)
    .join('')}</dl>`;
}

export function code(s: string | null | undefined): string | null {
  return s === null || s === undefined ? null : `<code>${h(s)}</code>`;
}

/** The process row's anchor, from its EPROCESS VA (or PA). */
export function rowId(p: ProcessRecord): string {
  return `p-${htmlId(processKey(p))}`;
}

/** The process detail view's anchor. */
export function detailId(p: ProcessRecord): string {
  return `d-${htmlId(processKey(p))}`;
}
