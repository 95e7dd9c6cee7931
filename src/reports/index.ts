// The reports layer: one versioned model, four renderers, one validator. Pure functions of the
// model (report → string); the command writes the strings where the user asked.
//
//   const report = buildReport(analysis, runInfo, evidenceInfo);   // model.ts: Report, RunInfo, EvidenceInfo
//   validateReport(report)          → { valid, errors[] }  ajv (draft 2020-12) against schema/report.schema.json;
//                                     imported from './validate.ts' itself (tests, tools), so that loading the
//                                     reports for a command never loads ajv (~65 ms of start-up)
//   renderJson(report)              → the JSON report, 2-space indent, trailing newline (--json FILE|-)
//   renderNdjson(report)            → ECS 9.4 events, one per line (--ndjson FILE|-): one `state` event per
//                                     process, one `alert` per finding, one summary event; custom fields
//                                     under `vsm.*`; @timestamp = the dump's system time (else run start);
//                                     event.severity 1 info … 5 critical, event.risk_score 0/21/47/73/99
//   renderHtml(report)              → one self-contained HTML page (--html FILE): inline CSS/JS pinned by a
//                                     CSP, no network request, printable
//   renderTerminal(report, { color }) → table + verdict for stdout; pass color only when stdout is a TTY
//   renderCsv(report, { filter })     → one row per process (CSV_COLUMNS), RFC 4180, formula-safe
//                                     and NO_COLOR is unset
//   createProgress({ label })       → a stderr progress bar (TTY only); pass `bar.update` as the
//                                     ProgressCallback of hashing/scanning passes, then `bar.done()`
//
// RunInfo times are ISO-8601 UTC strings chosen by the caller (buildReport reads no clock). EvidenceInfo
// takes plain values (the command copies them from the opened Dump): this layer never reads memory.
export { buildReport, summarize, SCHEMA_VERSION, DEFAULT_TOOL } from './model.ts';
export type { Report, RunInfo, EvidenceInfo, ToolInfo, ReportSummary, ReportEvidence } from './model.ts';
export { renderJson, renderJsonChunks } from './json.ts';
export { renderNdjson, renderNdjsonLines, ndjsonEvents, entityId, ECS_VERSION } from './ndjson.ts';
export { renderHtml } from './html.ts';
export { renderTerminal, DROP_ORDER, type TerminalOptions } from './terminal.ts';
export { renderCsv, CSV_COLUMNS } from './csv.ts';
export { fullProcessName, processMatcher, describeFilter, type ProcessFilter } from './process-filter.ts';
export { createProgress, type ProgressCallback, type ProgressBar, type ProgressOptions } from './progress.ts';
export * as sanitize from './sanitize.ts';
