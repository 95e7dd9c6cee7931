// Loads one ISF file in a fresh process and reports the outcome and the peak RSS (VmHWM) on stdout
// as JSON: a test measures the memory a hostile symbol file costs, apart from the test runner's own.
//   node --import tsx test/helpers/isf-load-child.ts FILE
import { readFileSync } from 'node:fs';
import { loadIsfFile } from '../../src/ntos/isf.ts';

const peakKb = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0);
const before = peakKb();
let outcome: { ok: true } | { ok: false; code: string; message: string };
try {
  loadIsfFile(process.argv[2]!);
  outcome = { ok: true };
} catch (e) {
  const x = e as { code?: string; message: string };
  outcome = { ok: false, code: String(x.code), message: x.message };
}
process.stdout.write(JSON.stringify({ ...outcome, startKb: before, peakKb: peakKb() }) + '\n');
