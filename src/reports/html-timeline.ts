// The timeline picture: one row per process from its creation to its exit (or to the dump), the
// boot and dump times as vertical lines, processes with findings marked. Inline SVG with <title>
// tooltips: readable and printable without script.
import type { ProcessRecord, Severity } from '../vsm/types.ts';
import { fullProcessName } from '../vsm/full-name.ts';
import { findingProcess, processKey, severityRank, type Report } from './model.ts';
import { detailId } from './html-parts.ts';
import { htmlAttr as a, htmlText as h } from './sanitize.ts';
import { timeKey } from './tree.ts';

const ROW = 16;
const LABEL_W = 260;
const PLOT_W = 900;
const TOP = 34;
const SEV_FILL: Record<Severity, string> = { critical: '#7a0916', high: '#b42318', medium: '#9a6700', low: '#0b5cad', info: '#57606a' };

function clock(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
}

/** The worst finding severity per process key. */
function worstByProcess(r: Report): Map<string, Severity> {
  const out = new Map<string, Severity>();
  for (const f of r.findings) {
    const p = findingProcess(r.processes, f);
    if (!p) continue;
    const k = processKey(p);
    const cur = out.get(k);
    if (!cur || severityRank(f.severity) > severityRank(cur)) out.set(k, f.severity);
  }
  return out;
}

export function timelineSvg(r: Report): string {
  const dumpMs = timeKey(r.host?.dumpTime ?? r.evidence.systemTime ?? null);
  const bootMs = timeKey(r.host?.bootTime ?? null);
  const timed = r.processes.filter((p) => !Number.isNaN(timeKey(p.createTime)));
  const untimed = r.processes.filter((p) => Number.isNaN(timeKey(p.createTime)));
  const starts = timed.map((p) => timeKey(p.createTime));
  const ends = timed.map((p) => timeKey(p.exitTime)).filter((x) => !Number.isNaN(x));
  const lo = Math.min(...starts, ...(Number.isNaN(bootMs) ? [] : [bootMs]), ...(Number.isNaN(dumpMs) ? [] : [dumpMs]));
  const hi = Math.max(...starts, ...ends, ...(Number.isNaN(dumpMs) ? [] : [dumpMs]));
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return '<p class="muted">No process creation time is known: no timeline.</p>';
  const span = Math.max(hi - lo, 1000);
  const x = (ms: number) => LABEL_W + ((ms - lo) / span) * PLOT_W;
  const rows = [...timed].sort((p, q) => timeKey(p.createTime) - timeKey(q.createTime)).concat(untimed);
  const worst = worstByProcess(r);
  const height = TOP + rows.length * ROW + 24;
  const width = LABEL_W + PLOT_W + 20;
  const parts: string[] = [];
  parts.push(`<rect x="${LABEL_W}" y="${TOP - 4}" width="${PLOT_W}" height="${rows.length * ROW + 4}" fill="#f6f8fa"/>`);
  rows.forEach((p, i) => {
    const y = TOP + i * ROW;
    const name = `${fullProcessName(p)} (${p.pid})`;
    const sev = worst.get(processKey(p));
    const start = timeKey(p.createTime);
    const exit = timeKey(p.exitTime);
    const tip = `${name}: created ${p.createTime ?? 'unknown'}${p.exitTime ? `, exited ${p.exitTime}` : ''}${sev ? ` - ${sev} finding` : ''}${p.unlinked ? ' - hidden from the process list' : ''}`;
    parts.push(`<a href="#${a(detailId(p))}"><text x="${LABEL_W - 6}" y="${y + 11}" text-anchor="end" class="tl-label${sev && severityRank(sev) >= severityRank('high') ? ' tl-bad' : ''}">${h(name)}</text></a>`);
    if (Number.isNaN(start)) {
      parts.push(`<text x="${LABEL_W + 4}" y="${y + 11}" class="tl-note">creation time unknown</text>`);
      return;
    }
    const endMs = !Number.isNaN(exit) ? exit : !Number.isNaN(dumpMs) ? dumpMs : hi;
    const x0 = x(start);
    const w = Math.max(2, x(endMs) - x0);
    const fill = sev ? SEV_FILL[sev] : p.secure ? '#0e7c86' : p.terminated ? '#afb8c1' : '#54aeff';
    parts.push(`<rect class="tl-bar" data-pid="${p.pid}" x="${x0.toFixed(1)}" y="${y + 3}" width="${w.toFixed(1)}" height="${ROW - 6}" rx="2" fill="${fill}"><title>${h(tip)}</title></rect>`);
    // Late starters carry their start time beside the bar: the part of the story that is not at boot.
    if (x0 - LABEL_W > 90) parts.push(`<text x="${(x0 - 8).toFixed(1)}" y="${y + 11}" text-anchor="end" class="tl-note">${h(clock(start).slice(11))}</text>`);
    if (sev) parts.push(`<circle class="tl-finding" cx="${x0.toFixed(1)}" cy="${y + ROW / 2}" r="5" fill="${SEV_FILL[sev]}" stroke="#fff" stroke-width="1.5"><title>${h(tip)}</title></circle>`);
    if (!Number.isNaN(exit)) parts.push(`<line x1="${(x0 + w).toFixed(1)}" x2="${(x0 + w).toFixed(1)}" y1="${y + 1}" y2="${y + ROW - 1}" stroke="#57606a" stroke-width="2"><title>${h(`exited ${p.exitTime}`)}</title></line>`);
  });
  const marker = (ms: number, label: string, cls: string, anchor: string) => {
    const mx = x(ms).toFixed(1);
    return `<g class="${cls}"><line x1="${mx}" x2="${mx}" y1="${TOP - 16}" y2="${TOP + rows.length * ROW}" stroke-width="2"/><text x="${mx}" y="${TOP - 20}" text-anchor="${anchor}">${h(label)}</text></g>`;
  };
  if (!Number.isNaN(bootMs)) parts.push(marker(bootMs, `boot ${clock(bootMs)}`, 'tl-boot', 'start'));
  if (!Number.isNaN(dumpMs)) parts.push(marker(dumpMs, `dump ${clock(dumpMs)} UTC`, 'tl-dump', 'end'));
  parts.push(`<text x="${LABEL_W}" y="${height - 6}" class="tl-axis">${h(clock(lo))}</text><text x="${LABEL_W + PLOT_W}" y="${height - 6}" text-anchor="end" class="tl-axis">${h(clock(hi))} UTC</text>`);
  return `<svg id="timeline-svg" class="timeline" role="img" aria-label="Process timeline: creation and exit of ${rows.length} processes and the dump time" viewBox="0 0 ${width} ${height}" width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">${parts.join('')}</svg>`;
}

export function timelineSection(r: Report): string {
  return (
    `<section id="timeline"><h2>Timeline</h2>` +
    `<p class="muted">Each bar runs from a process's creation to its exit (grey tick) or to the dump; red bars and dots mark processes with findings. Times UTC.</p>` +
    timelineSvg(r) +
    `</section>`
  );
}

/** Processes drawn, for tests: every process, in the drawn order. */
export function timelineOrder(processes: readonly ProcessRecord[]): ProcessRecord[] {
  const timed = processes.filter((p) => !Number.isNaN(timeKey(p.createTime)));
  return [...timed].sort((p, q) => timeKey(p.createTime) - timeKey(q.createTime)).concat(processes.filter((p) => Number.isNaN(timeKey(p.createTime))));
}
