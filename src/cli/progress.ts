/**
 * A transfer's progress on stderr: bar, bytes done of total, rate and time left, redrawn at most
 * ten times a second on one line. Only when stderr is a terminal: piped or redirected, nothing is
 * written (a log file should not fill with carriage returns).
 */
import type { CliContext } from './context.js';

export interface Progress {
  update(done: number, total?: number): void;
  /** Draws the final state and ends the line. */
  finish(): void;
  /** Clears the line without a final state (on failure). */
  abort(): void;
  /**
   * Redraws from `read()` (bytes done so far) every 100 ms until the returned function is called:
   * the transfer itself then pays nothing per chunk. Without a bar it does nothing.
   */
  follow(read: () => number): () => void;
}

const NONE: Progress = { update() {}, finish() {}, abort() {}, follow: () => () => {} };
const REDRAW_MS = 100;

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(n: number): string {
  let i = 0;
  let v = n;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${UNITS[i]}`;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (x: number) => String(x).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
}

/** A bar for one transfer labelled `label`, or one that draws nothing when stderr is not a TTY or `quiet`. */
export function progressBar(ctx: CliContext, label: string, total?: number, options: { quiet?: boolean } = {}): Progress {
  const err = ctx.stderr;
  if (!err.isTTY || options.quiet) return NONE;
  const started = performance.now();
  let last = 0;
  let done = 0;
  let size = total;
  // The rate over a sliding window of recent samples, so the ETA follows changes of speed.
  const samples: Array<[number, number]> = [[started, 0]];

  const draw = (final: boolean) => {
    const now = performance.now();
    const elapsed = (now - started) / 1000;
    while (samples.length > 1 && now - samples[0]![0] > 5000) samples.shift();
    const [t0, b0] = samples[0]!;
    const window = (now - t0) / 1000;
    const rate = final ? done / Math.max(elapsed, 1e-3) : window > 0.05 ? (done - b0) / window : 0;
    const width = Math.max(20, (err.columns || 80) - 1);
    const amount = size !== undefined ? `${formatBytes(done)}/${formatBytes(size)}` : formatBytes(done);
    const eta = final ? formatDuration(elapsed) : size !== undefined && rate > 0 ? `ETA ${formatDuration((size - done) / rate)}` : 'ETA --:--';
    const tail = ` ${amount} ${formatBytes(Math.round(rate))}/s ${eta}`;
    // What is left beside the numbers goes to the name (up to 40) and the bar (up to 30, else none).
    const room = width - tail.length - 8;
    const nameMax = Math.max(8, Math.min(40, room - 10));
    const name = label.length > nameMax ? '…' + label.slice(label.length - nameMax + 1) : label;
    const barWidth = Math.min(30, room - name.length);
    let bar = '';
    if (barWidth >= 5) {
      const fraction = size ? Math.min(1, done / size) : final ? 1 : 0;
      const filled = Math.round(fraction * barWidth);
      bar = ` [${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%`;
    }
    err.write(`\r\x1b[2K${name}${bar}${tail}`);
  };

  const redraw = (n: number, now: number) => {
    done = n;
    last = now;
    samples.push([now, n]);
    draw(false);
  };

  return {
    update(n, t) {
      done = n;
      if (t !== undefined) size = t;
      const now = performance.now();
      if (now - last >= REDRAW_MS) redraw(n, now);
    },
    finish() {
      draw(true);
      err.write('\n');
    },
    abort() {
      err.write('\r\x1b[2K');
    },
    follow(read) {
      const timer = setInterval(() => redraw(read(), performance.now()), REDRAW_MS);
      timer.unref();
      return () => {
        clearInterval(timer);
        done = read();
      };
    },
  };
}
