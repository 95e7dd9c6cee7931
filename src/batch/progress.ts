// One overall progress line on stderr, only when stderr is a terminal: redrawn in place at most
// ten times a second, erased at the end so the summary that follows stands alone.

export interface ProgressState {
  readonly total: number;
  readonly done: number;
  readonly running: number;
  readonly failed: number;
  readonly skipped: number;
  /** Bytes hashed plus bytes of finished analyses, against twice the total size. */
  readonly bytesDone: number;
  readonly bytesTotal: number;
}

export interface Progress {
  update(s: ProgressState): void;
  end(): void;
}

const NONE: Progress = { update() {}, end() {} };

function fmtDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '--:--';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return `${h ? `${h}:` : ''}${String(m).padStart(h ? 2 : 1, '0')}:${String(sec).padStart(2, '0')}`;
}

export function progressBar(stream: NodeJS.WriteStream = process.stderr, enabled = stream.isTTY === true): Progress {
  if (!enabled) return NONE;
  const t0 = Date.now();
  let latest: ProgressState | null = null;
  let drawn = false;
  const draw = () => {
    const s = latest;
    if (!s) return;
    drawn = true;
    const width = Math.max(10, Math.min(40, (stream.columns ?? 80) - 70));
    const frac = s.bytesTotal > 0 ? Math.min(1, s.bytesDone / s.bytesTotal) : s.total ? s.done / s.total : 1;
    const fill = Math.round(frac * width);
    const elapsed = (Date.now() - t0) / 1000;
    // Hashing runs ahead of analysis, so an estimate is only worth showing once a dump is done.
    const eta = s.done > 0 && frac > 0.05 ? ` ETA ${fmtDuration((elapsed / frac) * (1 - frac))}` : '';
    const extra = [s.running ? `${s.running} running` : '', s.skipped ? `${s.skipped} skipped` : '', s.failed ? `${s.failed} failed` : ''].filter(Boolean).join(', ');
    const line = `batch [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${String(Math.floor(frac * 100)).padStart(3)}% ${s.done}/${s.total} dumps${extra ? ` (${extra})` : ''} ${fmtDuration(elapsed)}${eta}`;
    stream.write(`\r\x1b[2K${line.slice(0, (stream.columns ?? 120) - 1)}`);
  };
  // Redrawn on a clock, not per event: events can come thousands a second (hash chunks).
  const timer = setInterval(draw, 200);
  timer.unref();
  return {
    update(s) {
      latest = s;
      if (!drawn) draw();
    },
    end() {
      clearInterval(timer);
      stream.write('\r\x1b[2K');
    },
  };
}
