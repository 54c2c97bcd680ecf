/** The part of a stream the bar writes to; `process.stderr` by default. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressBarOptions {
  label: string;
  total: number;
  stream?: ProgressStream;
  /** Least time between two redraws on a terminal. */
  redrawEveryMs?: number;
  /** Least time between two plain lines when the stream is not a terminal (logs, CI). */
  lineEveryMs?: number;
  /** The clock, in ms; tests pass a fake one. */
  clock?: () => number;
}

export interface ProgressBar {
  /** Reports progress; the signature fits the seeders' `onProgress`. */
  update: (done: number, total?: number) => void;
  /** Draws the final state and ends the line. */
  finish: () => void;
}

const BAR_WIDTH = 24;

function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/**
 * A one-line progress bar: percentage, rate and ETA redrawn in place with `\r` on a terminal;
 * on anything else (a log file, CI) a plain line now and then, so logs stay readable.
 */
export function createProgressBar(options: ProgressBarOptions): ProgressBar {
  const stream = options.stream ?? process.stderr;
  const clock = options.clock ?? (() => performance.now());
  const tty = stream.isTTY === true;
  const minInterval = tty ? (options.redrawEveryMs ?? 100) : (options.lineEveryMs ?? 5_000);
  const startedAt = clock();
  let total = options.total;
  let done = 0;
  let lastDrawAt = Number.NEGATIVE_INFINITY;
  let finished = false;

  const render = (): string => {
    const elapsed = clock() - startedAt;
    const fraction = total > 0 ? Math.min(1, done / total) : 1;
    const rate = elapsed > 0 ? (done / elapsed) * 1000 : 0;
    const eta = done >= total ? 0 : rate > 0 ? ((total - done) / rate) * 1000 : Number.POSITIVE_INFINITY;
    const percent = `${(fraction * 100).toFixed(1)}%`;
    const counts = `${formatCount(done)}/${formatCount(total)}`;
    const speed = `${formatCount(rate)}/s`;
    const timing = done >= total ? `in ${formatDuration(elapsed)}` : `ETA ${formatDuration(eta)}`;
    if (!tty) return `${options.label} ${percent} ${counts} ${speed} ${timing}`;
    const filled = Math.round(fraction * BAR_WIDTH);
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`;
    return `${options.label} ${bar} ${percent} ${counts} ${speed} ${timing}`;
  };

  let drawnDone = -1;
  const draw = (): void => {
    lastDrawAt = clock();
    drawnDone = done;
    if (tty) {
      // Cut to the terminal's width (a wrapped line cannot be redrawn with \r) and clear
      // what a longer previous line left behind.
      const width = stream.columns ?? 0;
      const line = width > 1 ? render().slice(0, width - 1) : render();
      stream.write(`\r${line}\x1b[K`);
    } else {
      stream.write(`${render()}\n`);
    }
  };

  return {
    update: (value: number, newTotal?: number): void => {
      if (finished) return;
      done = value;
      if (newTotal !== undefined) total = newTotal;
      if (clock() - lastDrawAt >= minInterval) draw();
    },
    finish: (): void => {
      if (finished) return;
      finished = true;
      // A log already showing the final count needs no second line.
      if (tty || drawnDone !== done) draw();
      if (tty) stream.write('\n');
    },
  };
}
