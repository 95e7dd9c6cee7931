// The HTML report: one self-contained file a responder opens offline, prints and files with the
// case. Inline CSS and JS only, pinned by a Content-Security-Policy with their hashes and
// `default-src 'none'`, so the page can fetch nothing and no injected handler could run even if an
// escape were missed. Every string goes through htmlText/htmlAttr; the script only reads the DOM
// and sets textContent/hidden, never parses markup.
import { tamperingPanel } from './html-internals.ts';
import { sha256 } from './sha256.ts';
import type { Finding, IsolationCounts, ProcessRecord, Severity, VsmVerdict } from '../vsm/types.ts';
import { SEVERITIES } from '../vsm/types.ts';
import { fullProcessName } from '../vsm/full-name.ts';
import { attackReference } from '../vsm/attack.ts';
import { findingProcess, severityRank, type Report } from './model.ts';
import { detailsSection } from './html-detail.ts';
import { code, detailId, fmtTime, kv, rowId } from './html-parts.ts';
import { timelineSection } from './html-timeline.ts';
import { htmlAttr as a, htmlId, htmlText as h } from './sanitize.ts';
import { formatBytes } from './terminal.ts';
import { processTree, timeKey } from './tree.ts';

const CSS = `
:root{--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--bg:#fff;--panel:#f6f8fa;--red:#b42318;--green:#1a7f37;--amber:#9a6700;--blue:#0b5cad;--teal:#0e7c86;--purple:#6e40c9}
*{box-sizing:border-box}
html{-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",Arial,sans-serif;color:var(--fg);background:var(--bg)}
header.top{padding:10px 24px;border-bottom:3px solid var(--fg);background:var(--panel)}
header.top h1{margin:0 0 6px;font-size:20px}
header.top dl.kv{grid-template-columns:max-content minmax(0,1fr) max-content minmax(0,1fr);font-size:12.5px;gap:1px 14px}
main{padding:0 24px 24px;max-width:1600px}
section{margin-top:24px}
h2{font-size:18px;border-bottom:1px solid var(--line);padding-bottom:4px;margin:0 0 12px}
h3{font-size:15px;margin:16px 0 8px}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:12.5px}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0}
dl.kv dt{color:var(--muted)}
dl.kv dd{margin:0;overflow-wrap:anywhere}
.banner{border:2px solid var(--amber);background:#fff8c5;padding:10px 14px;margin-top:16px;border-radius:6px}
.banner strong{color:var(--amber)}
.banner ul{margin:6px 0 0;padding-left:20px}
.summary{display:grid;grid-template-columns:minmax(260px,1fr) 2fr;gap:24px;align-items:start}
.verdict{font-size:44px;font-weight:800;letter-spacing:.04em;padding:14px 18px;border:4px solid currentColor;border-radius:8px;text-align:center;line-height:1.1}
.v-indeterminate,.v-not-running{font-size:34px}
.v-isolated{color:var(--green)}.v-exposed{color:var(--red)}.v-indeterminate{color:var(--amber)}.v-not-running{color:var(--muted)}
.verdict small{display:block;font-size:13px;font-weight:600;letter-spacing:0;color:var(--muted);margin-bottom:4px}
.counts{display:flex;flex-wrap:wrap;gap:8px;margin:0 0 12px;padding:0;list-style:none}
.counts li{border:1px solid var(--line);border-radius:6px;padding:6px 12px;min-width:92px;background:var(--panel)}
.counts b{display:block;font-size:22px}
.badge{display:inline-block;border:1px solid currentColor;border-radius:10px;padding:0 7px;font-size:11px;font-weight:700;margin-left:4px;white-space:nowrap;vertical-align:1px}
.b-secure{color:var(--teal)}.b-ppl{color:var(--purple)}.b-terminated{color:var(--muted)}.b-unlinked{color:#fff;background:var(--red);border-color:var(--red)}.b-wow64{color:var(--blue)}.b-unknown{color:var(--amber)}
.sev{display:inline-block;min-width:72px;text-align:center;border-radius:4px;padding:1px 6px;font-size:11px;font-weight:800;text-transform:uppercase;border:1px solid currentColor}
.sev-critical{color:#fff;background:#7a0916;border-color:#7a0916}.sev-high{color:#fff;background:var(--red);border-color:var(--red)}.sev-medium{color:var(--amber)}.sev-low{color:var(--blue)}.sev-info{color:var(--muted)}
article.finding{border:1px solid var(--line);border-left:6px solid var(--line);border-radius:6px;padding:8px 12px;margin:8px 0;break-inside:avoid}
article.f-critical,article.f-high{border-left-color:var(--red)}article.f-medium{border-left-color:var(--amber)}article.f-low{border-left-color:var(--blue)}
article.finding p{margin:4px 0}
article.trustlet{border:1px solid var(--line);border-radius:6px;padding:8px 12px;margin:8px 0;break-inside:avoid}
table{border-collapse:collapse}
table.data{width:100%;font-size:12.5px}
table.data th,table.data td{border-bottom:1px solid var(--line);padding:3px 6px;text-align:left;vertical-align:top}
table.data th{background:var(--panel);position:sticky;top:0}
table.data td.num,table.data th.num{text-align:right;font-variant-numeric:tabular-nums}
table.small{font-size:12.5px;margin:6px 0}
table.small th,table.small td{border-bottom:1px solid var(--line);padding:2px 10px;text-align:left}
table.small td.num{text-align:right;font-variant-numeric:tabular-nums}
th button{all:unset;cursor:pointer;font-weight:700}
th button::after{content:" \\2195";color:var(--muted);font-weight:400}
th[aria-sort=ascending] button::after{content:" \\25B2"}th[aria-sort=descending] button::after{content:" \\25BC"}
.controls{display:flex;gap:12px;align-items:center;margin-bottom:8px;flex-wrap:wrap}
.controls input{font:inherit;padding:4px 8px;min-width:320px;border:1px solid var(--line);border-radius:6px}
.controls button{font:inherit;padding:3px 10px;border:1px solid var(--line);border-radius:6px;background:var(--panel);cursor:pointer}
.scroll{overflow-x:auto}
tr.r-secure td{background:#e6f6f7}tr.r-terminated td{color:var(--muted)}tr.r-unlinked td,tr.r-exposed td{background:#ffebe9}
tbody.tree td.name.d1{padding-left:22px}tbody.tree td.name.d2{padding-left:36px}tbody.tree td.name.d3{padding-left:50px}tbody.tree td.name.d4{padding-left:64px}tbody.tree td.name.d5{padding-left:78px}tbody.tree td.name.d6{padding-left:92px}tbody.tree td.name.d7{padding-left:106px}tbody.tree td.name.d8{padding-left:120px}
tbody.tree td.name.d1::before,tbody.tree td.name.d2::before,tbody.tree td.name.d3::before,tbody.tree td.name.d4::before,tbody.tree td.name.d5::before,tbody.tree td.name.d6::before,tbody.tree td.name.d7::before,tbody.tree td.name.d8::before{content:"\\2514 ";color:var(--muted)}
td.path{min-width:240px;max-width:520px;overflow-wrap:anywhere}
td.name{white-space:nowrap}
td.nw,th.nw{white-space:nowrap}
.muted{color:var(--muted)}
svg.bar{display:block;margin:6px 0}
.legend{display:inline-block;width:10px;height:10px;border:1px solid #0003;margin-right:4px;vertical-align:-1px}
.c-readable{background:#d1242f}.c-unreadable{background:#8c959f}.c-absent{background:#54aeff}.c-notresident{background:#d0d7de}
footer{padding:12px 24px;border-top:1px solid var(--line);color:var(--muted);font-size:12px}
.overview{display:grid;grid-template-columns:minmax(0,1fr) 340px;gap:24px;align-items:start;margin-top:16px}
.overview>section{margin-top:0}
aside.side{border:1px solid var(--line);border-radius:8px;padding:12px;background:var(--panel)}
aside.side h3{margin:12px 0 4px}
aside.side .verdict{font-size:36px}
aside.side .verdict.verdict-quiet{font-size:18px;border-width:2px;padding:6px 10px;letter-spacing:.02em}
aside.side .counts li{min-width:0;padding:4px 8px}aside.side .counts b{font-size:17px}
aside.side ul.posture{padding-left:18px;font-size:12.5px;color:var(--muted)}
.fcounts{font-size:13px;font-weight:400;margin-left:8px}
article.finding .fhead{margin-top:2px}
article.finding p.guide{background:var(--panel);border-radius:4px;padding:6px 8px;font-size:13px}
article.f-critical,article.f-high{background:#fff8f7}
dl.ctx{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:2px 12px;margin:6px 0;font-size:13.5px}
dl.ctx dt{color:var(--muted)}dl.ctx dd{margin:0;overflow-wrap:anywhere}
code.cmd{white-space:pre-wrap;overflow-wrap:anywhere}
.attack{display:inline-block;border:1px solid var(--purple);color:var(--purple);border-radius:4px;padding:0 6px;font-size:11.5px;font-weight:700;margin-left:6px;white-space:nowrap}
details.fev summary{cursor:pointer;color:var(--muted);font-size:12.5px}
svg.timeline{display:block;max-width:1240px;border:1px solid var(--line);border-radius:6px;background:#fff}
svg.timeline text{font:11px system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;fill:#1b1f24}
svg.timeline .tl-label.tl-bad{fill:#b42318;font-weight:700}
svg.timeline .tl-note,svg.timeline .tl-axis{fill:#57606a}
svg.timeline .tl-dump line{stroke:#b42318}svg.timeline .tl-dump text{fill:#b42318;font-weight:700}
svg.timeline .tl-boot line{stroke:#8c959f;stroke-dasharray:4 3}svg.timeline .tl-boot text{fill:#57606a}
td.cmd{max-width:320px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
td.cmd code{font-size:12px}
a.pname{color:inherit;text-decoration:none;font-weight:600}a.pname:hover{text-decoration:underline}
details.proc{border:1px solid var(--line);border-radius:6px;margin:6px 0;padding:4px 10px}
details.proc>summary{cursor:pointer;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
details.proc>summary .pname{font-weight:700}
details.proc>summary .path{color:var(--muted);font-size:12.5px;margin-left:8px}
.detail-sections{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:4px 24px}
.detail-sections section{margin-top:8px;min-width:0}
.detail-sections section.ds-identity,.detail-sections section.ds-dlls{grid-column:1 / -1}
.detail-sections h4{margin:4px 0;font-size:13.5px}
ol.chain{margin:0;padding-left:20px}
table.dlls td.path{max-width:none}
.tamper{border-left:4px solid var(--line);padding:2px 10px;margin:8px 0}.tamper h4{margin:4px 0}.tamper-clean{border-left-color:var(--green)}.tamper-found{border-left-color:var(--red)}.tamper ol{padding-left:20px}.tamper li{margin:6px 0}
details.itable>summary{cursor:pointer;font-weight:600;margin:4px 0}
@media (max-width:1000px){.summary,.overview,.detail-sections{grid-template-columns:1fr}}
@page{margin:12mm}
@media print{
 body{font-size:10pt}
 .summary,.overview{grid-template-columns:1fr;gap:8px}
 details.proc{break-inside:avoid}
 .verdict{font-size:30pt}
 header.top{background:none}
 main{padding:0;max-width:none}
 .controls input,.controls button,.controls label{display:none}
 table.data th,table.data td{padding:2px 3px}
 table.data .mono,table.data code{font-size:7pt}
 table.data td.nw{white-space:normal}
 td.path{min-width:0;max-width:none}
 td.name{max-width:none}
 th button::after{content:""}
 table.data{font-size:7.5pt}
 table.data th{position:static}
 thead{display:table-header-group}
 tr,article{break-inside:avoid}
 .scroll{overflow:visible}
 a{color:inherit;text-decoration:none}
 section{break-inside:auto}
 h2{break-after:avoid}
}
`;

const JS = `
(function () {
  'use strict';
  var table = document.getElementById('proc');
  if (!table) return;
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var text = rows.map(function (r) { return r.textContent.toLowerCase(); });
  var input = document.getElementById('filter');
  var shown = document.getElementById('shown');
  function apply() {
    var q = input.value.trim().toLowerCase();
    var n = 0;
    rows.forEach(function (r, i) {
      var hit = q === '' || text[i].indexOf(q) !== -1;
      r.hidden = !hit;
      if (hit) n++;
    });
    shown.textContent = n + ' of ' + rows.length + ' processes' + (q ? ' match \\u201c' + input.value.trim() + '\\u201d' : '');
  }
  input.addEventListener('input', apply);
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  function sortBy(col, type, dir) {
    var order = rows.slice().sort(function (x, y) {
      var a = x.cells[col].getAttribute('data-v') || '';
      var b = y.cells[col].getAttribute('data-v') || '';
      var c = type === 'num' ? (Number(a) - Number(b)) : (a < b ? -1 : a > b ? 1 : 0);
      if (c === 0) c = Number(x.getAttribute('data-order')) - Number(y.getAttribute('data-order'));
      return dir === 'descending' ? -c : c;
    });
    order.forEach(function (r) { body.appendChild(r); });
    heads.forEach(function (th) { th.removeAttribute('aria-sort'); });
  }
  heads.forEach(function (th, col) {
    var b = th.querySelector('button');
    if (!b) return;
    b.addEventListener('click', function () {
      var dir = th.getAttribute('aria-sort') === 'ascending' ? 'descending' : 'ascending';
      sortBy(col, th.getAttribute('data-type'), dir);
      th.setAttribute('aria-sort', dir);
      body.className = 'flat';
    });
  });
  document.getElementById('tree-order').addEventListener('click', function () {
    rows.forEach(function (r) { body.appendChild(r); });
    heads.forEach(function (th) { th.removeAttribute('aria-sort'); });
    body.className = 'tree';
  });
  function reveal() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id && document.getElementById(id);
    if (el && el.tagName === 'DETAILS') el.open = true;
    if (el && el.hidden) { input.value = ''; apply(); el.scrollIntoView(); }
  }
  window.addEventListener('hashchange', reveal);
  apply();
  reveal();
})();
`;

function cspHash(s: string): string {
  return `'sha256-${sha256(s, 'base64')}'`;
}

const VERDICT_TEXT: Record<VsmVerdict, string> = {
  isolated: 'ISOLATED',
  exposed: 'EXPOSED',
  indeterminate: 'INDETERMINATE',
  'not-running': 'VSM NOT RUNNING',
};

const VERDICT_MEANING: Record<VsmVerdict, string> = {
  isolated: 'VSM is in use and no trustlet (VTL1) page is readable in this dump.',
  exposed: 'At least one trustlet page is readable in this dump: VTL1 memory was captured.',
  indeterminate: 'The dump cannot show whether trustlet pages are isolated.',
  'not-running': 'No secure process was found: VSM / Credential Guard is not running.',
};

const CLASS_ROWS: { key: keyof IsolationCounts; css: string; label: string; meaning: string }[] = [
  { key: 'pagesReadable', css: 'c-readable', label: 'Readable', meaning: 'in the dump with real content' },
  { key: 'pagesUnreadable', css: 'c-unreadable', label: 'Unreadable', meaning: 'in the dump but zero or one repeated fill value' },
  { key: 'pagesAbsent', css: 'c-absent', label: 'Absent', meaning: 'the physical page is not in the dump' },
  { key: 'pagesNotResident', css: 'c-notresident', label: 'Not resident', meaning: 'neither present nor in transition' },
];
const CLASS_FILL: Record<string, string> = { 'c-readable': '#d1242f', 'c-unreadable': '#8c959f', 'c-absent': '#54aeff', 'c-notresident': '#d0d7de' };


function fmtDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : ms < 120000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60000)} min ${Math.round((ms % 60000) / 1000)} s`;
}




function badges(p: ProcessRecord): string {
  const b: string[] = [];
  if (p.secure) b.push('<span class="badge b-secure" title="Secure (IUM) process">secure</span>');
  if (p.secure === null) b.push('<span class="badge b-unknown" title="The secure marker could not be read">secure?</span>');
  if (p.protection?.type === 'ProtectedLight') b.push(`<span class="badge b-ppl" title="${a(p.protection.text)}">PPL</span>`);
  else if (p.protection && p.protection.raw !== 0) b.push(`<span class="badge b-ppl" title="${a(p.protection.text)}">PP</span>`);
  if (p.terminated) b.push('<span class="badge b-terminated" title="Exited">terminated</span>');
  if (p.unlinked) b.push('<span class="badge b-unlinked" title="Seen by the scan, not exited, not on the active list">unlinked</span>');
  if (p.wow64) b.push('<span class="badge b-wow64" title="32-bit process (WoW64)">wow64</span>');
  return b.join('');
}

/** A time cell: seconds shown, the full value (100 ns precision) in the title and the sort key. */
function timeCell(t: string | null): string {
  const k = timeKey(t);
  if (!t || Number.isNaN(k)) return `<td data-v="-1">${t ? h(t) : ''}</td>`;
  return `<td class="mono nw" data-v="${a(String(k))}" title="${a(t)}">${h(t.replace('T', ' ').replace(/(\.\d+)?Z$/, ''))}</td>`;
}

function sortHex(v: string | null): string {
  return v && /^0x[0-9a-f]{1,16}$/.test(v) ? v.slice(2).padStart(16, '0') : '';
}

/** Display order of the process table's columns (indexes into the cells as built): what a responder reads first on the left. */
const COLUMN_ORDER = [0, 1, 2, 11, 3, 5, 6, 7, 12, 4, 8, 9, 10];

function processTable(report: Report): string {
  const tree = processTree(report.processes);
  const byVa = new Set<string>();
  const rows = tree
    .map(({ process: p, depth }, order) => {
      const id = rowId(p);
      const idAttr = byVa.has(id) ? '' : ` id="${a(id)}"`;
      byVa.add(id);
      const cls = [p.unlinked ? 'r-unlinked' : '', p.isolation?.verdict === 'exposed' ? 'r-exposed' : '', p.secure ? 'r-secure' : '', p.terminated ? 'r-terminated' : '']
        .filter(Boolean)
        .join(' ');
      const iso = p.isolation;
      const nameTitle = p.name.rawHex ? ` title="${a(`raw bytes: ${p.name.rawHex}`)}"` : '';
      const cells = [
        `<td class="num" data-v="${p.pid}">${p.pid}</td>`,
        p.ppid === null ? `<td class="num muted" data-v="" title="parent PID unknown">unknown</td>` : `<td class="num" data-v="${p.ppid}">${p.ppid}</td>`,
        `<td class="name d${Math.min(depth, 8)}" data-v="${a(fullProcessName(p).toLowerCase())}"><a class="pname" href="#${a(detailId(p))}"${nameTitle}>${h(fullProcessName(p))}</a>${badges(p)}</td>`,
        (p.protection === null ? `<td class="nw" data-v="unknown">unknown</td>` : `<td class="nw" data-v="${a(p.protection.raw ? p.protection.text : '')}"${p.protection.raw ? ` title="${a(p.protection.text)}"` : ''}>${p.protection.raw ? h(p.protection.text.replace(/^PsProtectedSigner/, '')) : ''}</td>`),
        `<td class="nw" data-v="${a(p.trustlet ? `${p.trustlet.id ?? ''} ${p.trustlet.name ?? ''}` : '')}">${p.trustlet ? h(`id ${p.trustlet.id ?? '?'}${p.trustlet.name && p.trustlet.name !== p.name.text ? ` ${p.trustlet.name}` : ''}`) : ''}</td>`,
        `<td class="nw" data-v="${a(iso ? iso.verdict : '')}">${iso ? `${h(iso.verdict)} <span class="muted">${iso.pagesReadable}/${iso.pagesMapped}</span>` : ''}</td>`,
        timeCell(p.createTime),
        timeCell(p.exitTime),
        p.sessionId === null ? `<td class="num muted" data-v="" title="session unknown">unknown</td>` : `<td class="num" data-v="${p.sessionId}">${p.sessionId}</td>`,
        `<td class="nw" data-v="${a(p.sources.join(','))}">${h(p.sources.join(', '))}</td>`,
        `<td class="mono nw" data-v="${a(sortHex(p.eprocess.va) || 'pa' + sortHex(p.eprocess.pa))}">${h(p.eprocess.va ?? '-')}<br><span class="muted">${h(p.eprocess.pa ?? '-')}</span></td>`,
        `<td class="path" data-v="${a((p.imagePathDos ?? p.imagePath?.text ?? '').toLowerCase())}">${p.imagePathDos ? h(p.imagePathDos) : p.imagePath ? h(p.imagePath.text) : p.unreadableFields?.includes('imagePath') ? '<span class="muted">unreadable</span>' : ''}</td>`,
        `<td class="cmd" data-v="${a((p.commandLine?.text ?? '').toLowerCase())}"${p.commandLine ? ` title="${a(p.commandLine.text)}"` : ''}>${p.commandLine ? `<code>${h(p.commandLine.text)}</code>` : ''}</td>`,
      ];
      return `<tr${idAttr} data-order="${order}"${cls ? ` class="${cls}"` : ''}>` + COLUMN_ORDER.map((i) => cells[i]).join('') + '</tr>';
    })
    .join('\n');
  const cols: [string, 'num' | 'text', boolean][] = [
    ['PID', 'num', true],
    ['PPID', 'num', true],
    ['Name', 'text', false],
    ['Protection', 'text', false],
    ['Trustlet', 'text', false],
    ['Isolation (readable/mapped)', 'text', false],
    ['Created (UTC)', 'num', false],
    ['Exited (UTC)', 'num', false],
    ['Session', 'num', true],
    ['Seen by', 'text', false],
    ['EPROCESS VA / PA', 'text', false],
    ['Image path', 'text', false],
    ['Command line', 'text', false],
  ];
  const head = COLUMN_ORDER.map((i) => cols[i]).map(([t, type, num]) => `<th data-type="${type}"${num ? ' class="num"' : ''}><button type="button">${h(t)}</button></th>`).join('');
  return (
    `<div class="controls"><label for="filter">Filter</label><input id="filter" type="search" placeholder="name, PID, path, badge (e.g. lsaiso, secure, unlinked)" autocomplete="off">` +
    `<button id="tree-order" type="button">Tree order</button><span id="shown" class="muted">${report.processes.length} of ${report.processes.length} processes</span></div>` +
    `<div class="scroll"><table class="data" id="proc"><thead><tr>${head}</tr></thead>\n<tbody class="tree">\n${rows}\n</tbody></table></div>`
  );
}

function classBar(c: IsolationCounts, label: string): string {
  const width = 360;
  const total = CLASS_ROWS.reduce((s, r) => s + c[r.key], 0);
  let x = 0;
  const rects = total
    ? CLASS_ROWS.map((r) => {
        const w = (c[r.key] / total) * width;
        const rect = w > 0 ? `<rect x="${x.toFixed(2)}" y="0" width="${w.toFixed(2)}" height="18" fill="${CLASS_FILL[r.css]}"><title>${h(`${r.label}: ${c[r.key]} pages`)}</title></rect>` : '';
        x += w;
        return rect;
      }).join('')
    : `<text x="4" y="13" font-size="11" fill="#57606a">no mapped user pages</text>`;
  return `<svg class="bar" role="img" aria-label="${a(label)}" width="${width}" height="18" viewBox="0 0 ${width} 18" xmlns="http://www.w3.org/2000/svg"><rect x="0" y="0" width="${width}" height="18" fill="#fff" stroke="#d0d7de"/>${rects}</svg>`;
}

function classTable(c: IsolationCounts, mapped: number): string {
  const total = CLASS_ROWS.reduce((s, r) => s + c[r.key], 0);
  return (
    `<table class="small"><thead><tr><th>Page class</th><th>Pages</th><th>Share</th><th>Meaning</th></tr></thead><tbody>` +
    CLASS_ROWS.map(
      (r) =>
        `<tr><td><span class="legend ${r.css}"></span>${h(r.label)}</td><td class="num">${c[r.key]}</td><td class="num">${total ? ((100 * c[r.key]) / total).toFixed(1) + '%' : '-'}</td><td class="muted">${h(r.meaning)}</td></tr>`,
    ).join('') +
    `<tr><td><b>Mapped</b></td><td class="num"><b>${mapped}</b></td><td></td><td class="muted">user-range pages the page tables map</td></tr></tbody></table>`
  );
}

function trustletSection(report: Report): string {
  const secure = report.processes.filter((p) => p.isolation !== undefined);
  const items = secure.map((p) => {
    const i = p.isolation!;
    const title = `${p.name.text} (PID ${p.pid})${p.trustlet?.id !== null && p.trustlet?.id !== undefined ? ` - trustlet id ${p.trustlet.id}` : ''}`;
    return (
      `<article class="trustlet"><h3><a href="#${a(rowId(p))}">${h(title)}</a> <span class="badge ${i.verdict === 'exposed' ? 'b-unlinked' : i.verdict === 'isolated' ? 'b-secure' : 'b-unknown'}">${h(i.verdict)}</span></h3>` +
      `<p>${h(i.reason)}</p>` +
      tamperingPanel(report, p) +
      classBar(i, `Page classes of ${p.name.text}`) +
      classTable(i, i.pagesMapped) +
      kv([
        ['EPROCESS', code(p.eprocess.va ?? `PA ${p.eprocess.pa ?? '?'}`)],
        ['Page-table pages absent', String(i.tablePagesAbsent)],
        ['Walk complete', i.partial ? '<strong>no - partial (cap or missing table pages)</strong>' : 'yes'],
        ['Readable samples', i.sampleReadable.length ? i.sampleReadable.map((x) => code(x)).join(' ') : null],
      ]) +
      `</article>`
    );
  });
  const b = report.vsm.baseline;
  items.push(
    `<article class="trustlet"><h3>Baseline: ${b.processes} ordinary processes</h3><p class="muted">For comparison: if ordinary processes are unreadable too, the dump cannot show isolation.</p>` +
      classBar(b, 'Page classes of ordinary processes') +
      classTable(b, b.pagesMapped) +
      `</article>`,
  );
  return `<section id="trustlets"><h2>Trustlets and secure processes: page classes</h2>${secure.length ? '' : '<p>No secure process was found.</p>'}${items.join('\n')}</section>`;
}

function findingEvidence(report: Report, f: Finding): string {
  const { pid, eprocessVa, eprocessPa, address, pages, sampleAddresses, ...rest } = f.evidence;
  const pageText = pages
    ? Object.entries(pages)
        .map(([k, v]) => `${k.replace(/^pages/, '').replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase()} ${String(v)}`)
        .join(', ')
    : null;
  return kv([
    ['PID', pid !== undefined ? h(String(pid)) : null],
    ['EPROCESS VA', code(eprocessVa)],
    ['EPROCESS PA', code(eprocessPa)],
    ['Address', code(address)],
    ['Pages', pageText ? h(pageText) : null],
    ['Sample addresses', sampleAddresses?.length ? sampleAddresses.map((x) => code(x)).join(' ') : null],
    ...Object.entries(rest).map(([k, v]): [string, string] => [k, code(typeof v === 'string' ? v : JSON.stringify(v) ?? String(v))!]),
  ]);
}

/** The process lines of a finding: who, from where, run how, by whom, and its parent. */
function findingContext(report: Report, f: Finding): string {
  const c = f.context;
  const target = findingProcess(report.processes, f);
  if (!c?.process && !target) return '';
  const p = c?.process;
  const parent = c?.parent;
  const name = p?.name ?? (target ? fullProcessName(target) : '?');
  const who = target ? `<a href="#${a(detailId(target))}">${h(name)}</a>` : h(name);
  return (
    `<dl class="ctx">` +
    `<dt>Process</dt><dd>${who} <span class="muted">PID ${h(String(p?.pid ?? target?.pid ?? '?'))}${p?.createTime ? ` &middot; created ${fmtTime(p.createTime)}` : ''}${p?.user ? ` &middot; user ${h(p.user)}` : ''}</span></dd>` +
    (p?.path ? `<dt>Path</dt><dd><code>${h(p.path)}</code></dd>` : '') +
    (p?.commandLine ? `<dt>Command line</dt><dd><code class="cmd">${h(p.commandLine)}</code></dd>` : '') +
    (parent ? `<dt>Parent</dt><dd>${h(parent.name ?? 'not in the dump')} <span class="muted">PID ${h(String(parent.pid ?? '?'))}</span>${parent.path ? ` <code>${h(parent.path)}</code>` : ''}${parent.commandLine ? `<br><code class="cmd">${h(parent.commandLine)}</code>` : ''}</dd>` : '') +
    `</dl>`
  );
}

function findingCard(report: Report, f: Finding): string {
  const sev = f.severity;
  const att = f.attack;
  const attack = att
    ? ` <span class="attack" title="${a(`${att.tacticName}: ${att.techniqueName}${att.subtechniqueName ? ` / ${att.subtechniqueName}` : ''}`)}">${h(att.subtechniqueId ?? att.techniqueId)} ${h(att.subtechniqueName ?? att.techniqueName)}</span>`
    : '';
  const g = f.guidance;
  return (
    `<article class="finding f-${sev}"><p class="fhead"><span class="sev sev-${sev}">${h(sev)}</span> <strong>${h(f.title)}</strong>${attack}</p>` +
    `<p>${h(f.message)}</p>${findingContext(report, f)}` +
    (g ? `<p class="guide"><b>What it means:</b> ${h(g.meaning)}<br><b>Check next:</b> ${h(g.next)}</p>` : '') +
    `<details class="fev"><summary>Evidence <code class="muted">${h(f.rule)}</code>${att ? ` &middot; ATT&amp;CK ${h(att.subtechniqueId ?? att.techniqueId)} (${h(attackReference(att.subtechniqueId ?? att.techniqueId))})` : ''}</summary>${findingEvidence(report, f)}</details></article>`
  );
}

function findingsSection(report: Report): string {
  if (!report.findings.length) return `<section id="findings"><h2>Findings</h2><p>No findings.</p></section>`;
  const ordered = [...report.findings].sort((x, y) => severityRank(y.severity) - severityRank(x.severity));
  const counts = [...SEVERITIES].reverse().filter((x) => report.summary.findings[x] > 0).map((x) => `<span class="sev sev-${x}">${report.summary.findings[x]} ${h(x)}</span>`).join(' ');
  return `<section id="findings"><h2>Findings <span class="fcounts">${counts}</span></h2>${ordered.map((f) => findingCard(report, f)).join('\n')}</section>`;
}

function partialBanner(report: Report): string {
  const p = report.partial;
  if (!p.partial) return '';
  const items = [
    ...p.reasons.map((r) => `<li>${h(r)}</li>`),
    ...p.missingRanges.map((m) => `<li>Missing physical range <code>${h(m.start)}</code> + ${m.pages} pages (${formatBytes(m.pages * 4096)}): ${h(m.reason)}</li>`),
    ...report.capsHit.map((c) => `<li>Cap hit: <code>${h(c.cap)}</code> (limit ${c.limit})</li>`),
  ];
  return `<section class="banner" id="partial" role="alert"><strong>Partial results.</strong> Some of memory or some structures were missing; lists and counts below may be incomplete.<ul>${items.join('')}</ul></section>`;
}

/** The verdict, host and counts beside the findings. A high or critical finding shrinks the verdict: the finding is the story. */
function sidePanel(report: Report): string {
  const s = report.summary;
  const v = report.vsm;
  const urgent = s.highestSeverity !== null && severityRank(s.highestSeverity) >= severityRank('high');
  const counts: [string, number][] = [
    ['processes', s.processes],
    ['secure', s.secure],
    ['trustlets', s.trustlets],
    ['PP / PPL', s.protected],
    ['terminated', s.terminated],
    ['unlinked', s.unlinked],
  ];
  const host = report.host;
  return (
    `<aside id="summary" class="side">` +
    `<div id="verdict" class="verdict v-${htmlId(v.verdict)}${urgent ? ' verdict-quiet' : ''}"><small>VSM verdict</small>${h(VERDICT_TEXT[v.verdict] ?? v.verdict)}</div>` +
    `<p><strong>${h(VERDICT_MEANING[v.verdict] ?? '')}</strong> ${h(v.reason)}</p>` +
    (host
      ? `<h3>Host</h3>` +
        kv([
          ['Computer', host.computerName ? `<strong>${h(host.computerName)}</strong>${host.conflicts.length ? ` <span class="badge b-unknown" title="${a(`also: ${host.conflicts.map((c) => c.value).join(', ')}`)}">disputed</span>` : ''}` : '<span class="muted">unknown</span>'],
          ['Domain', host.domain ? h(host.domain) : host.dnsDomain ? h(host.dnsDomain) : null],
          ['OS', h([host.os.name, host.os.build !== null ? `build ${host.os.build}` : null, host.os.productType].filter(Boolean).join(', ') || 'unknown')],
          ['Booted', fmtTime(host.bootTime)],
          ['Dump taken', fmtTime(host.dumpTime)],
        ])
      : '') +
    `<ul class="counts">${counts.map(([k, n]) => `<li><b>${n}</b>${h(k)}</li>`).join('')}</ul>` +
    kv([
      ['Credential Guard', v.posture.credentialGuard ? '<strong>running</strong>' : 'not running'],
      ['Secure System', v.posture.secureSystemPresent ? 'present' : 'absent'],
      ['Dump origin', h(v.posture.dumpOrigin)],
    ]) +
    (v.posture.evidence.length ? `<ul class="posture">${v.posture.evidence.map((x) => `<li>${h(x)}</li>`).join('')}</ul>` : '') +
    `</aside>`
  );
}

function evidenceSection(report: Report): string {
  const e = report.evidence;
  const k = report.kernel;
  return (
    `<section id="evidence"><h2>Evidence</h2>` +
    kv([
      ['Path', code(e.path)],
      ['File name', h(e.fileName)],
      ['Size', `${h(e.size.toLocaleString('en-US'))} bytes (${h(formatBytes(e.size))})`],
      ['SHA-256', e.sha256 ? `<code>${h(e.sha256)}</code> <span class="muted">computed ${fmtTime(e.sha256ComputedAt)}</span>` : '<span class="muted">not computed (--no-hash)</span>'],
      ['Modified', fmtTime(e.mtime)],
      ['Dump type', `${h(e.formatName)}${e.dumpType !== null && !e.formatName.includes('DumpType') ? ` <span class="muted">(DumpType ${e.dumpType})</span>` : ''}${e.partialByNature ? ' <span class="badge b-unknown">partial by nature</span>' : ''}`],
      ['System time', fmtTime(e.systemTime)],
      ['OS build', e.build !== null ? h(String(e.build)) : k.build !== null ? h(String(k.build)) : '<span class="muted">unknown</span>'],
      ['Machine', e.machine !== null ? h(e.machine) : null],
      ['Header comment', e.comment ? code(e.comment.text) : null],
      ['Symbols', code(k.symbolsSource)],
      ['Kernel PDB', k.pdb ? `<code>${h(k.pdb.name)}</code> ${h(k.pdb.guid)}-${h(String(k.pdb.age))}` : '<span class="muted">unknown</span>'],
      ['Kernel base', code(k.base)],
      ['DTB', code(k.dtb)],
      ['PsActiveProcessHead', code(k.psActiveProcessHead)],
      ['Kernel found by', h(k.discovery)],
    ]) +
    `</section>`
  );
}

/** The report as one self-contained HTML page. */
export function renderHtml(report: Report): string {
  const r = report.run;
  const tool = `${report.tool.name} ${report.tool.version}${report.tool.commit ? ` (${report.tool.commit})` : ''}`;
  const csp = [
    "default-src 'none'",
    `script-src ${cspHash(JS)}`,
    `style-src ${cspHash(CSS)}`,
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  const title = `VSM report: ${report.evidence.fileName} - ${VERDICT_TEXT[report.vsm.verdict] ?? report.vsm.verdict}`;
  const st = report.stats;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${a(csp)}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="${a(tool)}">
<title>${h(title)}</title>
<link rel="icon" href="data:,">
<style>${CSS}</style>
</head>
<body>
<header class="top">
<h1>VSM forensics report</h1>
${kv([
  ['Case', r.case !== undefined ? `<strong>${h(r.case)}</strong>` : '<span class="muted">not given (--case)</span>'],
  ['Examiner', r.examiner !== undefined ? h(r.examiner) : '<span class="muted">not given (--examiner)</span>'],
  ['Tool', h(tool)],
  ['Command line', code(r.commandLine)],
  ['Run', `${fmtTime(r.startedAt)} to ${fmtTime(r.finishedAt)} (${h(fmtDuration(r.durationMs))})`],
  ['Analysis host', r.host !== undefined ? h(r.host) : null],
])}
</header>
<main>
${partialBanner(report)}
<div class="overview">
${findingsSection(report)}
${sidePanel(report)}
</div>
${timelineSection(report)}
<section id="processes"><h2>Processes (${report.processes.length})</h2>
${processTable(report)}
<p class="muted">Listed ${st.listed}, scanned ${st.scanned} (${st.scanHits} scan hits over ${st.pagesScanned} pages). Rows in tree order; click a column to sort, a name for its details.</p>
</section>
${detailsSection(report)}
${trustletSection(report)}
${evidenceSection(report)}
</main>
<footer>Report schema ${h(report.schemaVersion)} &middot; generated by ${h(tool)} &middot; all times UTC &middot; strings from the evidence are shown as text, control characters as \\xNN</footer>
<script>${JS}</script>
</body>
</html>
`;
}
