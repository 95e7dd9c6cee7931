// The per-process detail view: one <details> block per process (open for processes with findings),
// built from a table of sections. Each section renders one aspect of the process or returns null to
// be left out; issue 12's threads/handles/token/VAD sections are added to DETAIL_SECTIONS.
import type { ProcessRecord } from '../vsm/types.ts';
import { fullProcessName } from '../vsm/full-name.ts';
import { findingProcess, processKey, type Report } from './model.ts';
import { code, detailId, fmtTime, kv, rowId } from './html-parts.ts';
import { htmlAttr as a, htmlText as h } from './sanitize.ts';
import { parentIndexes } from './tree.ts';
import { INTERNALS_SECTIONS } from './html-internals.ts';

/** What a section sees: the report, the process, and its parent chain (nearest first). */
export interface DetailInput {
  readonly report: Report;
  readonly process: ProcessRecord;
  readonly parents: readonly ProcessRecord[];
}

export interface DetailSection {
  readonly id: string;
  readonly title: string;
  /** HTML of the section body, or null when it has nothing to show. */
  readonly render: (d: DetailInput) => string | null;
}

/** Longest parent chain shown (PPIDs come from the evidence and may loop). */
const MAX_CHAIN = 32;
/** DLL rows shown per process before "… more" (all are in the JSON report). */
const MAX_DLL_ROWS = 500;

function why(p: ProcessRecord, field: string): string {
  const r = p.detailReasons?.[field];
  return r ? `<span class="muted">unknown: ${h(r)}</span>` : '<span class="muted">unknown</span>';
}

function procLink(p: ProcessRecord): string {
  return `<a href="#${a(detailId(p))}">${h(fullProcessName(p))} (PID ${p.pid})</a>`;
}

export const DETAIL_SECTIONS: DetailSection[] = [
  {
    id: 'identity',
    title: 'Image and command line',
    render: ({ process: p }) =>
      kv([
        ['Image path', p.imagePathDos ? `${code(p.imagePathDos)}${p.imagePathDosSource === 'peb' ? ' <span class="muted">(from the PEB)</span>' : ''}` : p.imagePath ? code(p.imagePath.text) : why(p, 'imagePathDos')],
        ['NT path', p.imagePathDos && p.imagePath ? code(p.imagePath.text) : null],
        ['Command line', p.commandLine ? `<code class="cmd">${h(p.commandLine.text)}</code>` : why(p, 'commandLine')],
        ['Current directory', p.currentDirectory ? code(p.currentDirectory.text) : why(p, 'currentDirectory')],
        ['User', p.user ? h(p.user.domain ? `${p.user.domain}\\${p.user.name}` : p.user.name) : why(p, 'user')],
        ['Created', fmtTime(p.createTime)],
        ['Exited', p.exitTime ? fmtTime(p.exitTime) : null],
        ['Session', p.sessionId !== null ? h(String(p.sessionId)) : null],
        ['EPROCESS', code(p.eprocess.va ?? `PA ${p.eprocess.pa ?? '?'}`)],
        ['Process table', `<a href="#${a(rowId(p))}">row</a>`],
      ]),
  },
  {
    id: 'parents',
    title: 'Parent chain',
    render: ({ process: p, parents }) => {
      const items = parents.map((q) => `<li>${procLink(q)} <span class="muted">${h(q.imagePathDos ?? q.imagePath?.text ?? '')}</span>${q.commandLine ? `<br><code class="cmd">${h(q.commandLine.text)}</code>` : ''}</li>`);
      const top = parents.length ? parents[parents.length - 1] : p;
      const missing = top.ppid !== null && top.ppid !== 0 && top.pid !== 4 ? `<li class="muted">PID ${h(String(top.ppid))}: not in the dump (exited)</li>` : '';
      return `<ol class="chain">${items.join('')}${missing}</ol>`;
    },
  },
  {
    id: 'environment',
    title: 'Environment (kept variables)',
    render: ({ process: p }) => {
      if (!p.environment) return p.secure ? null : `<p>${why(p, 'environment')}</p>`;
      const rows = Object.entries(p.environment).map(([k, v]) => [k, code(v)] as [string, string | null]);
      return kv(rows) + (p.detailReasons?.environment ? `<p class="muted">${h(p.detailReasons.environment)}</p>` : '');
    },
  },
  {
    id: 'dlls',
    title: 'Loaded DLLs (PEB loader list)',
    render: ({ process: p }) => {
      if (!p.dlls) return p.secure ? `<p>${why(p, 'dlls')}</p>` : `<p>${why(p, 'dlls')}</p>`;
      const rows = p.dlls.slice(0, MAX_DLL_ROWS).map((d) => `<tr><td class="mono">${h(d.base)}</td><td class="num">${d.size ?? ''}</td><td class="path">${d.path ? h(d.path) : '<span class="muted">unreadable</span>'}</td></tr>`);
      const more = p.dlls.length > MAX_DLL_ROWS ? `<p class="muted">${p.dlls.length - MAX_DLL_ROWS} more in the JSON report.</p>` : '';
      const note = p.detailReasons?.dlls ? `<p class="muted">${h(p.detailReasons.dlls)}</p>` : '';
      return `<table class="small dlls"><thead><tr><th>Base</th><th>Size</th><th>Path</th></tr></thead><tbody>${rows.join('')}</tbody></table>${more}${note}`;
    },
  },
];

// Issue 12: tampering panel (secure processes), extended flags, threads/APCs, handles, token, VADs.
DETAIL_SECTIONS.splice(0, 0, INTERNALS_SECTIONS[0]);
DETAIL_SECTIONS.push(...INTERNALS_SECTIONS.slice(1));

/** Parents nearest first, cycle-safe and bounded. */
function chain(report: Report, index: number, parents: readonly number[]): ProcessRecord[] {
  const out: ProcessRecord[] = [];
  const seen = new Set<number>([index]);
  let i = parents[index];
  while (i >= 0 && !seen.has(i) && out.length < MAX_CHAIN) {
    seen.add(i);
    out.push(report.processes[i]);
    i = parents[i];
  }
  return out;
}

export function processDetail(report: Report, p: ProcessRecord, parents: readonly ProcessRecord[], open: boolean, withId: boolean): string {
  const body = DETAIL_SECTIONS.map((s) => {
    const html = s.render({ report, process: p, parents });
    return html === null ? '' : `<section class="ds ds-${a(s.id)}"><h4>${h(s.title)}</h4>${html}</section>`;
  }).join('');
  const path = p.imagePathDos ?? p.imagePath?.text ?? '';
  return (
    `<details class="proc"${withId ? ` id="${a(detailId(p))}"` : ''}${open ? ' open' : ''}><summary><span class="pname">${h(fullProcessName(p))}</span> <span class="muted">PID ${p.pid}</span> <span class="path">${h(path)}</span></summary>` +
    `<div class="detail-sections">${body}</div></details>`
  );
}

export function detailsSection(report: Report): string {
  const parents = parentIndexes(report.processes);
  const flagged = new Set(report.findings.map((f) => findingProcess(report.processes, f)).filter((p): p is ProcessRecord => !!p).map(processKey));
  const ids = new Set<string>();
  const blocks = report.processes.map((p, i) => {
    const id = detailId(p);
    const first = !ids.has(id);
    ids.add(id);
    return processDetail(report, p, chain(report, i, parents), flagged.has(processKey(p)), first);
  });
  return `<section id="details"><h2>Process details</h2><p class="muted">Processes with findings are open; click a name to open or close. Secure processes are not read through their PEB (their user pages belong to VTL1).</p>${blocks.join('\n')}</section>`;
}
