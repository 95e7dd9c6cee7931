// A progress bar for long passes (hashing, scanning), drawn on stderr and only on a TTY, so stdout
// keeps data only and logs/pipes never see carriage returns. Layers below accept a plain
// ProgressCallback; the command creates the bar and passes `bar.update` down.

import { terminalText } from './sanitize.ts';

/** What long passes call as they go: units done so far out of total (bytes or pages). */
export type ProgressCallback = (done: number, total: number) => void;

export interface ProgressOptions {
  /** Shown before the bar, e.g. 'hashing', 'scanning'. */
  readonly label: string;
  /** 'bytes' shows sizes and a rate in MiB/s; 'items' plain counts. */
  readonly unit?: 'bytes' | 'items';
  /** Defaults to process.stderr. */
  readonly stream?: NodeJS.WriteStream | { isTTY?: boolean; columns?: number; write(s: string): boolean };
  /** Force on/off; default: on when the stream is a TTY (quiet callers pass false). */
  readonly enabled?: boolean;
  /** Minimum milliseconds between redraws. */
  readonly intervalMs?: number;
  /** Clock (tests). */
  readonly now?: () => number;
}

export interface ProgressBar {
  readonly enabled: boolean;
  readonly update: ProgressCallback;
  /** Clears the line. Safe to call more than once. */
  done(): void;
}

function size(n: number): string {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${u[i]}`;
}

function eta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '';
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** The bar's text for a state (exported for tests): never wider than `columns`. */
export function progressLine(rawLabel: string, done: number, total: number, elapsedMs: number, unit: 'bytes' | 'items', columns: number): string {
  const label = terminalText(rawLabel);
  const frac = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const pct = `${Math.floor(frac * 100)}%`.padStart(4);
  const rate = elapsedMs > 0 ? done / (elapsedMs / 1000) : 0;
  const left = rate > 0 && total > done ? eta((total - done) / rate) : '';
  const amount = unit === 'bytes' ? `${size(done)}/${size(total)}${rate > 0 ? ` ${size(rate)}/s` : ''}` : `${done}/${total}`;
  const tail = ` ${pct} ${amount}${left ? ` ETA ${left}` : ''}`;
  const room = columns - label.length - tail.length - 4;
  if (room < 10) return `${label}${tail}`.slice(0, Math.max(0, columns - 1));
  const barWidth = Math.min(40, room);
  const fill = Math.round(frac * barWidth);
  return `${label} [${'#'.repeat(fill)}${'-'.repeat(barWidth - fill)}]${tail}`;
}

export function createProgress(options: ProgressOptions): ProgressBar {
  const stream = options.stream ?? process.stderr;
  const enabled = options.enabled ?? stream.isTTY === true;
  const now = options.now ?? Date.now;
  const interval = options.intervalMs ?? 100;
  const unit = options.unit ?? 'bytes';
  const start = now();
  let last = -Infinity;
  let drawn = false;
  let finished = false;
  const update: ProgressCallback = (done, total) => {
    if (!enabled || finished) return;
    const t = now();
    if (t - last < interval && done < total) return;
    last = t;
    const cols = Math.max(20, (stream as { columns?: number }).columns ?? 80);
    stream.write(`\r${progressLine(options.label, done, total, t - start, unit, cols)}\x1b[K`);
    drawn = true;
  };
  return {
    enabled,
    update,
    done() {
      if (finished) return;
      finished = true;
      if (drawn) stream.write('\r\x1b[K');
    },
  };
}
