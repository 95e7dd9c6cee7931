// The fuzz child process: runs one entry point per message and replies with its outcome and the
// peak RSS the input caused (VmHWM, reset before each input through /proc/self/clear_refs).
// The parent kills this process on a hang or when its RSS passes the memory bound.
import { readFileSync, writeFileSync } from 'node:fs';
import { configureLog } from '../src/log.ts';
import { ENTRIES, warm } from './entries.ts';
import { classifyError, type Outcome } from './outcome.ts';

export interface ChildRequest {
  id: number;
  entry: string;
  path: string;
}

export interface ChildReply {
  id: number;
  outcome: Outcome;
  /** Peak RSS during this input (KiB), when the kernel lets us measure it. */
  peakRssKb: number;
  heapUsedMb: number;
}

await configureLog('silent');

let canResetPeak = true;
function resetPeak(): void {
  if (!canResetPeak) return;
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    canResetPeak = false;
  }
}

function peakRssKb(): number {
  try {
    const m = /VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]);
  } catch {
    /* not Linux */
  }
  return Math.round(process.resourceUsage().maxRSS);
}

let current: number | undefined;
const fail = (e: unknown) => {
  // An error that escaped the entry's promise (a stray callback, a rejected promise nobody awaited).
  if (current === undefined || !process.send) return;
  const outcome = classifyError(e, 0);
  if (outcome.kind !== 'crash') return;
  outcome.message = `escaped the entry point: ${outcome.message}`;
  process.send({ id: current, outcome, peakRssKb: peakRssKb(), heapUsedMb: 0 } satisfies ChildReply);
  current = undefined;
};
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);

process.on('message', (msg: ChildRequest) => {
  void (async () => {
    const entry = ENTRIES[msg.entry];
    current = msg.id;
    resetPeak();
    const t0 = performance.now();
    let outcome: Outcome;
    try {
      if (!entry) throw new Error(`no entry point ${msg.entry}`);
      const r = await entry(msg.path);
      outcome = { kind: 'result', partial: r.partial, ms: performance.now() - t0 };
    } catch (e) {
      outcome = classifyError(e, performance.now() - t0);
    }
    if (current !== msg.id) return; // already reported by the escape handler
    current = undefined;
    const reply: ChildReply = { id: msg.id, outcome, peakRssKb: peakRssKb(), heapUsedMb: Math.round(process.memoryUsage().heapUsed / 1048576) };
    process.send?.(reply);
  })();
});

if (process.env.VSM_FUZZ_WARM !== '0') await warm();
process.send?.({ ready: true });
