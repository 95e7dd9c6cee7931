// `vsm-forensics analyze <dump>`: processes (list + pool scan), secure processes and trustlets, PPL,
// VTL1 page isolation and the VBS posture. A terminal table and the verdict by default; --json,
// --ndjson (FILE or - for stdout) and --html FILE write the reports.
// Exit codes: 0 done; 1 a finding at or above --fail-on; 2 bad input; 3 unsupported input (a triage
// dump, DumpType 4, holds no physical memory: it is refused with exit 3 and a message saying so);
// 4 symbols needed.
import { writeFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { hostname } from 'node:os';
import { statSync } from 'node:fs';
import { openEvidencePass } from '../dump/evidence-pass.ts';
import { openDump } from '../dump/open.ts';
import { machineName } from '../dump/crash-structs.ts';
import { ExitCode, UsageError } from '../errors.ts';
import { filetimeToIso } from '../dump/numbers.ts';
import { buildReport, createProgress, renderHtml, renderJson, renderNdjson, renderTerminal, type EvidenceInfo } from '../reports/index.ts';
import { analyzeDump } from '../vsm/analyze.ts';
import { SEVERITIES, type Severity } from '../vsm/types.ts';

export async function run(argv: Record<string, unknown>): Promise<number> {
  const path = String(argv.dump);
  const json = argv.json as string | undefined;
  const ndjson = argv.ndjson as string | undefined;
  const html = argv.html as string | undefined;
  if (json === '-' && ndjson === '-') throw new UsageError('--json - and --ndjson - cannot both write to stdout');
  if (html === '-') throw new UsageError('--html needs a file name');
  const failOn = argv.failOn as Severity | undefined;
  const quiet = argv.quiet === true;
  const started = new Date();
  const known = knownHash(argv);

  const dump = openDump(path);
  try {
    // One read of the evidence: the SHA-256 (on a worker thread) and the pool scan share its chunks.
    const hashing = argv.hash !== false && known === null;
    const bar = createProgress({ label: hashing ? 'sha256+scan' : 'scanning', unit: hashing ? 'bytes' : 'items', enabled: quiet ? false : undefined });
    const pass = hashing ? openEvidencePass(dump, { hashPath: path, progress: bar.update }) : undefined;
    let analysis;
    let sha256: string | null = known?.sha256 ?? null;
    let sha256At: string | null = known?.at ?? null;
    try {
      analysis = await analyzeDump(pass?.dump ?? dump, {
        scan: argv.scan !== false,
        symbols: { symbols: argv.symbols as string[] | undefined, symbolServer: argv.symbolServer as string | undefined },
        onScanProgress: pass ? undefined : bar.update,
      });
      if (pass) {
        sha256 = pass.finish().sha256;
        sha256At = new Date().toISOString();
      }
    } finally {
      pass?.close();
      bar.done();
    }
    const finished = new Date();
    let mtime: string | null = null;
    try {
      mtime = statSync(path).mtime.toISOString();
    } catch {
      mtime = null;
    }
    const h = dump.header;
    const evidence: EvidenceInfo = {
      path: resolve(path),
      fileName: basename(path),
      size: dump.fileSize,
      sha256,
      sha256ComputedAt: sha256At,
      mtime,
      format: dump.format,
      formatName: dump.formatName,
      dumpType: h ? h.dumpType : null,
      systemTime: h ? filetimeToIso(h.systemTime) : null,
      build: analysis.kernel.build ?? (h ? h.minorVersion : null),
      machine: h ? machineName(h.machineImageType) : dump.format === 'raw' ? 'AMD64' : null,
      comment: h && h.comment ? h.comment : null,
      partialByNature: dump.partialByNature,
    };
    const report = buildReport(
      analysis,
      {
        commandLine: ['vsm-forensics', ...process.argv.slice(2)].join(' '),
        startedAt: started.toISOString(),
        finishedAt: finished.toISOString(),
        durationMs: finished.getTime() - started.getTime(),
        case: argv.case as string | undefined,
        examiner: argv.examiner as string | undefined,
        host: hostname(),
      },
      evidence,
    );
    const out = (target: string, text: string) => (target === '-' ? process.stdout.write(text) : writeFileSync(target, text));
    if (json) out(json, renderJson(report));
    if (ndjson) out(ndjson, renderNdjson(report));
    if (html) writeFileSync(html, renderHtml(report));
    if (json !== '-' && ndjson !== '-') {
      const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
      process.stdout.write(renderTerminal(report, { color }));
    }
    if (failOn) {
      const min = SEVERITIES.indexOf(failOn);
      if (analysis.findings.some((f) => SEVERITIES.indexOf(f.severity) >= min)) return ExitCode.Finding;
    }
    return ExitCode.Ok;
  } finally {
    dump.close();
  }
}

/** --evidence-sha256/--evidence-sha256-at (from batch and worker): a hash to record instead of computing one. */
function knownHash(argv: Record<string, unknown>): { sha256: string; at: string } | null {
  const sha256 = argv.evidenceSha256;
  const at = argv.evidenceSha256At;
  if (sha256 === undefined && at === undefined) return null;
  if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) throw new UsageError('--evidence-sha256 needs 64 lower-case hex digits');
  if (typeof at !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/.test(at) || Number.isNaN(Date.parse(at))) throw new UsageError('--evidence-sha256-at needs an ISO-8601 UTC time');
  return { sha256, at };
}
