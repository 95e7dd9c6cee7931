// TEST DOUBLE ONLY (never on the product path): stands in for `vsm-forensics analyze DUMP --json F
// --ndjson F --html F` while exercising the batch/queue plumbing with failure modes the real
// analyzer cannot be asked for. Content-driven: a file starting with "BAD!" exits 2 (bad input),
// "CRASH" dies by SIGKILL, "HANG" never finishes; FAKE_ANALYZE_MS delays every run;
// FAKE_CRASH_ONCE=DIR dies by SIGKILL the first time it sees a given file (a marker in DIR).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const args = process.argv.slice(2);
const dump = args[0];
const opt = (name: string) => {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === name) return args[i + 1];
    if (args[i].startsWith(name + '=')) return args[i].slice(name.length + 1);
  }
  return undefined;
};
const bytes = readFileSync(dump);
const head = bytes.subarray(0, 8).toString('latin1');
const delay = Number(process.env.FAKE_ANALYZE_MS ?? 0);
if (delay) await new Promise((r) => setTimeout(r, delay));
if (head.startsWith('BAD!')) {
  process.stderr.write(`vsm-forensics: ${dump}: not a memory dump (no PAGE signature, too small for a raw image)\n`);
  process.exit(2);
}
if (head.startsWith('CRASH')) process.kill(process.pid, 'SIGKILL'); // as the kernel's OOM killer would
if (head.startsWith('HANG')) await new Promise(() => setInterval(() => {}, 1000));
const sha256 = createHash('sha256').update(bytes).digest('hex');
if (process.env.FAKE_CRASH_ONCE) {
  const marker = `${process.env.FAKE_CRASH_ONCE}/${sha256}`;
  if (!existsSync(marker)) {
    writeFileSync(marker, '');
    process.kill(process.pid, 'SIGKILL');
  }
}
const verdicts = ['isolated', 'exposed', 'indeterminate', 'not-running'];
const verdict = verdicts[bytes[100] % 4];
const findings = verdict === 'exposed' ? [{ rule: 'vsm.trustlet-pages-readable', title: 'Trustlet pages readable', severity: 'high', message: 'LsaIso.exe pages readable', evidence: { pid: 700 } }] : [];
const now = new Date().toISOString();
const report = {
  schemaVersion: '2.0.0',
  run: { commandLine: process.argv.join(' '), startedAt: now, finishedAt: now, durationMs: 1 },
  evidence: { path: dump, sha256, size: bytes.length },
  summary: { verdict },
  processes: [{ pid: 4, name: { text: 'System' } }, { pid: 700, name: { text: 'LsaIso.exe' } }],
  findings,
  vsm: { verdict, reason: 'test double' },
  partial: { partial: false, reasons: [], missingRanges: [] },
};
writeFileSync(opt('--json')!, JSON.stringify(report, null, 2));
writeFileSync(opt('--ndjson')!, JSON.stringify({ '@timestamp': now, event: { kind: 'event' }, file: { hash: { sha256 } }, message: `fake ${verdict}` }) + '\n');
writeFileSync(opt('--html')!, `<!doctype html><title>report</title><p>${verdict}</p>`);
process.stdout.write(`verdict: ${verdict}\n`);
