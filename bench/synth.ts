// Generation throughput of the synthetic dump writer: a 1 GiB full crash dump (DumpType 1) of the
// main scenario, then a 1 GiB raw image, under bench/.tmp/ (deleted afterwards). Prints seconds,
// MB/s and peak RSS; the load average is printed because figures on a busy machine are noisy.
// Usage: node --import tsx bench/synth.ts [sizeMiB]   (default 1024)
import { loadavg } from 'node:os';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generate, machineFor } from '../samples/generate.ts';

const sizeMiB = Number(process.argv[2] ?? 1024);
const dir = fileURLToPath(new URL('./.tmp/', import.meta.url));
process.stdout.write(`load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}\n`);
// Load the ISF once so the figures are the writer's, then report that separately.
let t0 = performance.now();
machineFor({ scenario: 'vsm-credential-guard', sizeBytes: 64 * 2 ** 20, seed: 1 });
process.stdout.write(`ISF load + 64 MiB machine build: ${((performance.now() - t0) / 1000).toFixed(2)} s\n`);
for (const form of ['full', 'raw'] as const) {
  const out = `${dir}synth-${sizeMiB}MiB.${form}.dmp`;
  t0 = performance.now();
  const r = generate({ scenario: 'vsm-credential-guard', form, sizeBytes: sizeMiB * 2 ** 20, seed: 1, out });
  const s = (performance.now() - t0) / 1000;
  process.stdout.write(
    `synth ${form} ${sizeMiB} MiB: ${s.toFixed(2)} s, ${(r.bytesWritten / 2 ** 20 / s).toFixed(0)} MiB/s, ${r.truth.processes.length} processes, peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB\n`,
  );
  rmSync(out, { force: true });
  rmSync(`${out}.truth.json`, { force: true });
}
