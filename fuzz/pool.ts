// A fuzz child with a watchdog: each request gets a time bound, and the child's RSS is polled
// against a memory bound. A hang or an overrun kills the child (SIGKILL) and a fresh one starts.
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { ChildReply, ChildRequest } from './child.ts';
import type { Outcome } from './outcome.ts';

export interface Limits {
  /** CPU time one input may use (CPU, not wall time, so a loaded machine does not fake hangs; wall time is bounded at 10×). */
  timeoutMs: number;
  /** Kill the child when its RSS exceeds this (covers Buffers, which the V8 heap limit does not). */
  maxRssMb: number;
  /** V8 old-space limit of the child (--max-old-space-size). */
  heapMb: number;
}

export type RunResult =
  | { kind: 'done'; outcome: Outcome; peakRssKb: number }
  | { kind: 'hang'; ms: number }
  | { kind: 'oom'; rssKb: number; detail: string }
  | { kind: 'died'; detail: string };

const CHILD = new URL('./child.ts', import.meta.url).pathname;
const SYMBOL_CACHE = new URL('./.tmp/symbol-cache/', import.meta.url).pathname;

function withoutSymbolPath(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { _NT_SYMBOL_PATH: _a, _NT_ALT_SYMBOL_PATH: _b, ...rest } = env;
  return rest;
}

/** CPU time (ms) the process has used: utime + stime from /proc/PID/stat (clock ticks, 100 Hz on Linux). */
function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return 0;
  }
}

function rssKb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

export class FuzzChild {
  private proc?: ChildProcess;
  private ready?: Promise<void>;
  private stderrTail = '';
  private nextId = 1;
  restarts = 0;

  constructor(
    private readonly limits: Limits,
    /** Load the code under test before the first input (off for the harness's self-test). */
    private readonly warm = true,
  ) {}

  private start(): Promise<void> {
    this.stderrTail = '';
    const proc = fork(CHILD, [], {
      execArgv: ['--import', 'tsx', `--max-old-space-size=${this.limits.heapMb}`],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      // No symbol path and a private cache: a fuzz input must never send the analyzer to a symbol server.
      env: { ...withoutSymbolPath(process.env), VSM_LOG_LEVEL: 'silent', VSM_FUZZ_WARM: this.warm ? '1' : '0', VSM_SYMBOL_CACHE: SYMBOL_CACHE, NO_COLOR: '1' },
    });
    proc.stderr?.on('data', (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString('utf8')).slice(-4000);
    });
    this.proc = proc;
    this.ready = new Promise((resolve, reject) => {
      const onMsg = (m: unknown) => {
        if (m && typeof m === 'object' && 'ready' in m) {
          proc.off('message', onMsg);
          resolve();
        }
      };
      proc.on('message', onMsg);
      proc.once('exit', (code) => reject(new Error(`fuzz child exited (${code}) before it was ready: ${this.stderrTail}`)));
    });
    return this.ready;
  }

  private kill(): void {
    const p = this.proc;
    this.proc = undefined;
    this.ready = undefined;
    if (p && p.exitCode === null && p.pid !== undefined) p.kill('SIGKILL');
    this.restarts++;
  }

  async run(entry: string, path: string): Promise<RunResult> {
    if (!this.proc) await this.start();
    else await this.ready;
    const proc = this.proc!;
    const id = this.nextId++;
    const { timeoutMs, maxRssMb } = this.limits;
    return new Promise<RunResult>((resolve) => {
      let settled = false;
      const t0 = Date.now();
      const finish = (r: RunResult, killIt: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearInterval(poll);
        proc.off('message', onMsg);
        proc.off('exit', onExit);
        if (killIt) this.kill();
        resolve(r);
      };
      const onMsg = (m: unknown) => {
        const r = m as ChildReply;
        if (r && r.id === id) finish({ kind: 'done', outcome: r.outcome, peakRssKb: r.peakRssKb }, false);
      };
      const onExit = (code: number | null, signal: string | null) => {
        const oom = /heap out of memory|Reached heap limit|Allocation failed|ERR_MEMORY|Array buffer allocation failed/i.test(this.stderrTail);
        const detail = `child exited (code ${code}, signal ${signal}): ${this.stderrTail.split('\n').filter(Boolean).slice(-3).join(' | ')}`;
        this.proc = undefined;
        this.ready = undefined;
        this.restarts++;
        finish(oom ? { kind: 'oom', rssKb: 0, detail } : { kind: 'died', detail }, false);
      };
      const cpu0 = proc.pid ? cpuMs(proc.pid) : 0;
      const timer = setTimeout(() => finish({ kind: 'hang', ms: Date.now() - t0 }, true), timeoutMs * 10);
      const poll = setInterval(() => {
        if (!proc.pid) return;
        const kb = rssKb(proc.pid);
        if (kb > maxRssMb * 1024) finish({ kind: 'oom', rssKb: kb, detail: `RSS ${Math.round(kb / 1024)} MiB over the ${maxRssMb} MiB bound` }, true);
        else if (cpuMs(proc.pid) - cpu0 > timeoutMs) finish({ kind: 'hang', ms: Date.now() - t0 }, true);
      }, 25);
      proc.on('message', onMsg);
      proc.once('exit', onExit);
      proc.send({ id, entry, path } satisfies ChildRequest);
    });
  }

  close(): void {
    const p = this.proc;
    this.proc = undefined;
    if (p && p.exitCode === null) {
      p.disconnect?.();
      p.kill('SIGKILL');
    }
  }
}
