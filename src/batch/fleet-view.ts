// The fleet view of an output directory, rebuilt from its result directories alone (so batch runs
// and queue workers on many machines all produce the same view):
//   DIR/index.html     one self-contained page: every dump, its verdict, links to its reports
//   DIR/index.json     the same list for programs
//   DIR/events.ndjson  every dump's ECS events concatenated, plus one failure event per failed dump
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import { DEFAULT_TOOL } from '../reports/model.ts';
import { ECS_VERSION } from '../reports/ndjson.ts';
import { htmlAttr, htmlText, jsonStringify } from '../reports/sanitize.ts';
import { SEVERITIES, type Severity } from '../vsm/types.ts';
import { listResults, resultDir, writeFileAtomic } from './layout.ts';
import { RESULT_FILES, type ResultRecord } from './types.ts';

export interface FleetCounts {
  readonly dumps: number;
  readonly ok: number;
  readonly failed: number;
  readonly verdicts: Readonly<Record<string, number>>;
  readonly findings: Readonly<Record<Severity, number>>;
}

export function countResults(results: readonly ResultRecord[]): FleetCounts {
  const verdicts: Record<string, number> = {};
  const findings = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  let ok = 0;
  for (const r of results) {
    if (r.status === 'ok') ok++;
    const v = r.status === 'ok' ? (r.verdict ?? 'unknown') : 'failed';
    verdicts[v] = (verdicts[v] ?? 0) + 1;
    for (const s of SEVERITIES) findings[s] += r.findings[s] ?? 0;
  }
  return { dumps: results.length, ok, failed: results.length - ok, verdicts, findings };
}

/** Worst first: failures, exposed trustlets, undecided, then the rest; then by worst finding, then path. */
const VERDICT_ORDER: Record<string, number> = { failed: 0, exposed: 1, indeterminate: 2, unknown: 3, 'not-running': 4, isolated: 5 };
function verdictOf(r: ResultRecord): string {
  return r.status === 'ok' ? (r.verdict ?? 'unknown') : 'failed';
}
export function sortResults(results: readonly ResultRecord[]): ResultRecord[] {
  const sev = (r: ResultRecord) => (r.maxSeverity ? SEVERITIES.indexOf(r.maxSeverity) : -1);
  return [...results].sort(
    (a, b) =>
      (VERDICT_ORDER[verdictOf(a)] ?? 3) - (VERDICT_ORDER[verdictOf(b)] ?? 3) ||
      sev(b) - sev(a) ||
      (a.evidence.path < b.evidence.path ? -1 : a.evidence.path > b.evidence.path ? 1 : 0),
  );
}

function fmtSize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

const CSS = `
:root{--fg:#1b1f24;--mut:#59636e;--line:#d0d7de;--bg:#fff;--bad:#b42318;--warn:#b54708;--ok:#067647;--info:#175cd3}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg);margin:24px}
h1{font-size:22px;margin:0 0 4px}.mut{color:var(--mut)}.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.card{border:1px solid var(--line);border-radius:8px;padding:10px 14px;min-width:120px}.card b{display:block;font-size:22px}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid var(--line);padding:6px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa;position:sticky;top:0}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;word-break:break-all}
.badge{display:inline-block;border-radius:10px;padding:1px 8px;font-weight:600;font-size:12px;border:1px solid currentColor}
.v-exposed,.v-failed{color:var(--bad)}.v-indeterminate,.v-unknown{color:var(--warn)}.v-isolated{color:var(--ok)}.v-not-running{color:var(--info)}
.err{color:var(--bad)}.path{font-size:12px}.sev{white-space:nowrap}
input{font:inherit;padding:4px 8px;border:1px solid var(--line);border-radius:6px;width:320px;margin:0 0 10px}
@media print{input{display:none}th{position:static}body{margin:0}}`;

// Filtering only: the data is in the table; the page works without script.
const JS = `
const q=document.getElementById('q');const rows=[...document.querySelectorAll('tbody tr')];
q.addEventListener('input',()=>{const t=q.value.toLowerCase();let n=0;for(const r of rows){const s=!t||r.textContent.toLowerCase().includes(t);r.hidden=!s;if(s)n++;}document.getElementById('shown').textContent=String(n);});`;

function link(sha: string, file: string, label: string, files: Readonly<Record<string, number>>): string {
  if (!(file in files)) return '';
  return `<a href="${htmlAttr(`${sha}/${file}`)}">${htmlText(label)}</a>`;
}

export function renderIndexHtml(results: readonly ResultRecord[], generatedAt: string): string {
  const counts = countResults(results);
  const rows = sortResults(results).map((r, i) => {
    const v = verdictOf(r);
    const sev = SEVERITIES.slice()
      .reverse()
      .filter((s) => r.findings[s] > 0)
      .map((s) => `${r.findings[s]} ${s}`)
      .join(', ');
    const links = [
      link(r.sha256, RESULT_FILES.html, 'report', r.files),
      link(r.sha256, RESULT_FILES.report, 'JSON', r.files),
      link(r.sha256, RESULT_FILES.events, 'NDJSON', r.files),
      link(r.sha256, RESULT_FILES.log, 'log', r.files),
      `<a href="${htmlAttr(`${r.sha256}/${RESULT_FILES.result}`)}">result</a>`,
    ]
      .filter(Boolean)
      .join(' · ');
    const detail = r.status === 'failed' && r.error ? `<div class="err">${htmlText(`${r.error.code}: ${r.error.message}`)}</div>` : '';
    return (
      `<tr data-verdict="${htmlAttr(v)}"><td class="num">${i + 1}</td>` +
      `<td><b>${htmlText(basename(r.evidence.path))}</b><div class="path mut">${htmlText(r.evidence.path)}</div></td>` +
      `<td class="num">${htmlText(fmtSize(r.evidence.size))}</td>` +
      `<td><span class="badge v-${htmlAttr(v)}">${htmlText(v)}</span>${r.partial ? ' <span class="badge v-indeterminate">partial</span>' : ''}${detail}</td>` +
      `<td class="sev">${htmlText(sev || (r.status === 'ok' ? 'none' : ''))}</td>` +
      `<td class="num">${r.processes ?? ''}</td>` +
      `<td><code title="${htmlAttr(r.sha256)}">${htmlText(r.sha256)}</code></td>` +
      `<td>${htmlText(r.timings.finishedAt)}<div class="mut path">${htmlText(`${r.runner.mode} on ${r.runner.host}, ${(r.timings.analyzeMs / 1000).toFixed(1)} s`)}</div></td>` +
      `<td>${links}</td></tr>`
    );
  });
  const card = (label: string, n: number, cls = '') => `<div class="card ${cls}"><b>${n}</b>${htmlText(label)}</div>`;
  const verdictCards = Object.keys(VERDICT_ORDER)
    .filter((v) => counts.verdicts[v])
    .map((v) => card(v, counts.verdicts[v], `v-${v}`))
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vsm-forensics: ${counts.dumps} memory dumps</title><style>${CSS}</style></head>
<body>
<h1>Memory dumps: ${counts.dumps}</h1>
<div class="mut">${htmlText(`${DEFAULT_TOOL.name} ${DEFAULT_TOOL.version} · index generated ${generatedAt} on ${hostname()}`)}</div>
<div class="cards">${card('dumps', counts.dumps)}${card('analyzed', counts.ok, 'v-isolated')}${verdictCards}${card('high or critical findings (all dumps)', counts.findings.high + counts.findings.critical, counts.findings.high + counts.findings.critical ? 'v-exposed' : '')}</div>
<input id="q" type="search" placeholder="Filter: name, path, verdict, SHA-256…" aria-label="Filter"> <span class="mut"><span id="shown">${counts.dumps}</span> shown</span>
<table><thead><tr><th>#</th><th>Evidence</th><th>Size</th><th>VSM verdict</th><th>Findings</th><th>Processes</th><th>SHA-256</th><th>Analyzed</th><th>Reports</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table>
<script>${JS}</script>
</body></html>
`;
}

/** The ECS event a SIEM gets for a dump that could not be analyzed (field names as in src/reports/ndjson.ts). */
export function failureEvent(r: ResultRecord): Record<string, unknown> {
  return {
    '@timestamp': r.timings.finishedAt,
    ecs: { version: ECS_VERSION },
    agent: { type: DEFAULT_TOOL.name, name: DEFAULT_TOOL.name, version: r.toolVersion },
    event: {
      kind: 'event',
      category: ['host'],
      type: ['info'],
      action: 'vsm-analysis',
      outcome: 'failure',
      module: 'vsm_forensics',
      dataset: 'vsm_forensics.summary',
      created: r.timings.finishedAt,
      start: r.timings.startedAt,
      end: r.timings.finishedAt,
      id: createHash('sha256').update(`${r.sha256}|failure|${r.timings.finishedAt}`).digest('hex').slice(0, 32),
    },
    message: `Analysis of ${r.evidence.path} failed: ${r.error?.message ?? 'unknown error'}`,
    error: { code: r.error?.code ?? 'unknown', message: r.error?.message ?? 'unknown error' },
    file: { path: r.evidence.path, name: basename(r.evidence.path), size: r.evidence.size, mtime: r.evidence.mtime ?? undefined, hash: { sha256: r.sha256 } },
    vsm: { verdict: 'failed', batch: { exit_code: r.exitCode ?? undefined, signal: r.signal ?? undefined, retryable: r.retryable } },
  };
}

/** Concatenates every result's events (and failure events) into DIR/events.ndjson, streaming. */
function writeCombinedNdjson(outDir: string, results: readonly ResultRecord[]): number {
  const path = join(outDir, RESULT_FILES.events);
  const tmp = `${path}.${hostname().replace(/[^A-Za-z0-9_.]/g, '_')}-${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  let lines = 0;
  try {
    for (const r of results) {
      if (r.status === 'ok' && RESULT_FILES.events in r.files) {
        let text: string;
        try {
          text = readFileSync(join(resultDir(outDir, r.sha256), RESULT_FILES.events), 'utf8');
        } catch {
          continue;
        }
        if (text.length === 0) continue;
        if (!text.endsWith('\n')) text += '\n';
        writeSync(fd, text);
        lines += text.split('\n').length - 1;
      } else if (r.status === 'failed') {
        writeSync(fd, jsonStringify(failureEvent(r)) + '\n');
        lines++;
      }
    }
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  return lines;
}

export interface FleetView {
  readonly results: ResultRecord[];
  readonly counts: FleetCounts;
  readonly ndjsonLines: number;
}

/** Rebuilds index.html, index.json and events.ndjson of `outDir` from the results in it. */
export function rebuildFleetView(outDir: string): FleetView {
  const results = sortResults(listResults(outDir));
  const generatedAt = new Date().toISOString();
  const counts = countResults(results);
  const ndjsonLines = writeCombinedNdjson(outDir, results);
  writeFileAtomic(join(outDir, 'index.json'), jsonStringify({ schema: 'vsm-forensics/batch-index', schemaVersion: 1, generatedAt, counts, results }, 2) + '\n');
  writeFileAtomic(join(outDir, 'index.html'), renderIndexHtml(results, generatedAt));
  return { results, counts, ndjsonLines };
}
