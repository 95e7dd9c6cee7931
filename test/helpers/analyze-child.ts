// Analyzes one dump in a fresh process (with process internals) and reports on stdout, as JSON, the
// peak RSS (VmHWM) before and after and what the largest process held: a test measures the memory
// an analysis costs apart from the test runner's own (and the generator's).
//   node --import tsx test/helpers/analyze-child.ts DUMP
import { readFileSync } from 'node:fs';
import { openDump } from '../../src/dump/open.ts';
import { analyzeDump } from '../../src/vsm/analyze.ts';

const peakKb = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0);
const startKb = peakKb();
const dump = openDump(process.argv[2]!);
try {
  const a = await analyzeDump(dump, { symbols: { ntSymbolPath: '' } });
  const big = [...a.processes].sort((x, y) => (y.handles?.length ?? 0) - (x.handles?.length ?? 0))[0];
  process.stdout.write(
    JSON.stringify({ startKb, peakKb: peakKb(), pid: big?.pid, handles: big?.handles?.length ?? null, threads: big?.threads?.length ?? null, partial: a.partial.partial, capsHit: a.capsHit, findings: a.findings.map((f) => f.rule) }) + '\n',
  );
} finally {
  dump.close();
}
