// `analyze` on a ≥ 1 GiB generated dump (the main scenario, full crash dump, made once under
// bench/.tmp/): wall time of the whole analysis, the pool scan's throughput on its own, both
// beside `cat dump > /dev/null` of the same file in the same run, and peak RSS. Figures on a busy
// machine are noisy: the load average is printed with them.
// Usage: node --import tsx bench/analyze.ts [sizeMiB] [form]   (default 1088 full)
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { generate, type Form } from '../samples/generate.ts';
import { openDump } from '../src/dump/open.ts';
import { builtinByPdb } from '../src/ntos/layout-table.ts';
import { scanProcesses } from '../src/ntos/pool-scan.ts';
import { discoverKernel } from '../src/ntos/kernel.ts';
import { analyzeDump } from '../src/vsm/analyze.ts';

const MiB = 1024 * 1024;
const sizeMiB = Number(process.argv[2] ?? 1088); // 1088 MiB of RAM → a file over 1 GiB after the firmware holes
const form = (process.argv[3] ?? 'full') as Form;
const dir = fileURLToPath(new URL('./.tmp/', import.meta.url));
const path = `${dir}analyze-${form}-${sizeMiB}MiB.dmp`;

if (!existsSync(path) || !existsSync(`${path}.truth.json`)) {
  process.stderr.write(`generating ${path} (${sizeMiB} MiB, ${form})…\n`);
  const g = generate({ scenario: 'vsm-credential-guard', form, sizeBytes: sizeMiB * MiB, out: path, seed: 1 });
  process.stdout.write(`generated ${(g.bytesWritten / MiB).toFixed(0)} MiB in ${(g.millis / 1000).toFixed(1)} s\n`);
}
const fileBytes = statSync(path).size;
const secs = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
const mbps = (bytes: number, s: number) => (bytes / 1e6 / s).toFixed(0);

function cat(): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('sh', ['-c', `cat "${path}" > /dev/null`]);
  if (r.status !== 0) throw new Error(`cat failed: ${r.stderr}`);
  return secs(t0);
}

function dd(): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('sh', ['-c', `dd if="${path}" of=/dev/null bs=8M 2>/dev/null`]);
  if (r.status !== 0) throw new Error(`dd failed: ${r.stderr}`);
  return secs(t0);
}
const pct = (rate: number, ref: number) => ((rate / ref) * 100).toFixed(0);

const catWarm = cat(); // also brings the file into the page cache, as for every pass below
const catSecs = cat();

// The whole analysis (kernel discovery, symbols, list, scan, isolation, posture).
const dump = openDump(path);
let t0 = process.hrtime.bigint();
// The scan pass inside the analysis, timed from its progress callbacks (first chunk → last chunk).
let firstAt = 0n;
let firstPages = 0;
let lastAt = 0n;
let lastPages = 0;
const a = await analyzeDump(dump, {
  symbols: { ntSymbolPath: '' },
  onScanProgress: (done) => {
    const now = process.hrtime.bigint();
    if (!firstAt) [firstAt, firstPages] = [now, done];
    [lastAt, lastPages] = [now, done];
  },
});
const analyzeSecs = secs(t0);
const passSecs = Number(lastAt - firstAt) / 1e9;
const passBytes = (lastPages - firstPages) * 4096;
dump.close();

// The pool scan alone over every present page.
const d2 = openDump(path);
const k = discoverKernel(d2);
const layout = builtinByPdb(k.pdb!.guid, k.pdb!.age)!;
t0 = process.hrtime.bigint();
const scan = scanProcesses(d2.physical!, layout, { kernel: k.vm });
const scanSecs = secs(t0);
d2.close();
const cat2 = cat();
const ddSecs = Math.min(dd(), dd());

const scannedBytes = scan.stats.bytesScanned;
const catBest = Math.min(catSecs, cat2);
const rssMiB = process.resourceUsage().maxRSS / 1024;
const out = [
  `dump: ${path} (${(fileBytes / MiB).toFixed(0)} MiB, ${form}); load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`,
  `cat > /dev/null:      ${catBest.toFixed(2)} s  ${mbps(fileBytes, catBest)} MB/s (runs: ${[catWarm, catSecs, cat2].map((x) => x.toFixed(2)).join(', ')} s; cat may splice to /dev/null without copying)`,
  `dd bs=8M > /dev/null: ${ddSecs.toFixed(2)} s  ${mbps(fileBytes, ddSecs)} MB/s (read() into user space, like us)`,
  `analyze (whole):      ${analyzeSecs.toFixed(2)} s  ${mbps(fileBytes, analyzeSecs)} MB/s of file  ${a.processes.length} processes, verdict ${a.vsm.verdict}, ${a.stats.pagesScanned} pages scanned`,
  `scan pass in analyze: ${mbps(passBytes, passSecs)} MB/s = ${pct(passBytes / passSecs, fileBytes / catBest)}% of cat, ${pct(passBytes / passSecs, fileBytes / ddSecs)}% of dd`,
  `pool scan alone:      ${scanSecs.toFixed(2)} s  ${mbps(scannedBytes, scanSecs)} MB/s = ${pct(scannedBytes / scanSecs, fileBytes / catBest)}% of cat, ${pct(scannedBytes / scanSecs, fileBytes / ddSecs)}% of dd  (${scan.hits.length} hits, ${scan.stats.candidates} tag candidates)`,
  `peak RSS:             ${rssMiB.toFixed(0)} MiB`,
];
process.stdout.write(out.join('\n') + '\n');
