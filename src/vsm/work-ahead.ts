// Work done ahead: reads the analysis will need later that do not depend on the pool scan (a
// listed process's internals, its PEB side, its page classification), queued before the scan and
// run while the evidence pass waits for its hash worker (the pass's IdleWork). Each read is a pure
// function of what its key names (and of its owner object, when one is given): a step takes the
// value a job computed, or computes it itself when no job got to it, so a result never depends on
// whether or when a job ran. A job that throws leaves nothing: its step reads again and meets the
// error where it always did.
import type { IdleWork } from '../dump/types.ts';

interface Job {
  /** The value's key (a job that puts its own values has none). */
  readonly key?: string;
  readonly run: () => void;
}

export class WorkAhead {
  private queue: Job[] = [];
  private next = 0;
  /** Keys queued and not yet run or taken. */
  private readonly queued = new Set<string>();
  private readonly results = new Map<string, { readonly owner: unknown; readonly value: unknown }>();
  /** Jobs run, and values taken from them (for the debug log). */
  ran = 0;
  used = 0;

  /** `fill` queues the jobs, on the first call of runOne (nothing is queued where no reader waits). */
  constructor(private fill?: (ahead: WorkAhead) => void) {}

  /** Queues `read` under `key` (nothing when that key is queued or done already). */
  later(key: string, owner: unknown, read: () => unknown): void {
    if (this.queued.has(key) || this.results.has(key)) return;
    this.queued.add(key);
    this.queue.push({ key, run: () => this.put(key, owner, read()) });
  }

  /** Queues a job that puts its values itself (a chain whose keys are known only as it runs). */
  laterJob(run: () => void): void {
    this.queue.push({ run });
  }

  /** Keeps `value` as `read()` for `key` and `owner`, for the step that will take it. */
  put(key: string, owner: unknown, value: unknown): void {
    this.results.set(key, { owner, value });
  }

  /** Runs the next queued job; false when none is left (IdleWork). */
  readonly runOne: IdleWork = () => {
    if (this.fill) {
      const fill = this.fill;
      this.fill = undefined;
      fill(this);
    }
    while (this.next < this.queue.length) {
      const job = this.queue[this.next++]!;
      if (job.key !== undefined && !this.queued.delete(job.key)) continue; // taken before it ran
      this.ran++;
      try {
        job.run();
      } catch {
        // Left to the step, which reads again and meets the error itself.
      }
      return true;
    }
    this.queue = [];
    this.next = 0;
    return false;
  };

  /** The value of `read()`: the one a job computed for `key` and this `owner`, else computed now. */
  take<T>(key: string, owner: unknown, read: () => T): T {
    this.queued.delete(key);
    const r = this.results.get(key);
    if (r) this.results.delete(key);
    if (r && r.owner === owner) {
      this.used++;
      return r.value as T;
    }
    return read();
  }
}

/** What a step calls to read: through the work done ahead when there is some, else directly. */
export type Take = <T>(key: string, owner: unknown, read: () => T) => T;

export const takeFrom = (ahead: WorkAhead | undefined): Take => (ahead ? (key, owner, read) => ahead.take(key, owner, read) : (_key, _owner, read) => read());
