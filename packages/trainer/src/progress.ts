/** A one-line progress bar on a terminal (stderr), plain log lines otherwise. */
export interface ProgressUpdate {
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  imagesPerSecond: number;
  loss: number;
  /** Seconds until the run ends. */
  etaSeconds: number;
}

export interface ProgressSink {
  update(u: ProgressUpdate): void;
  /** A permanent line on the progress stream (clears the bar first). */
  line(text: string): void;
  /** Removes the bar (before something else writes to the terminal); it comes back on the next update. */
  clear(): void;
  done(): void;
}

export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

function describe(u: ProgressUpdate): string {
  return `epoch ${u.epoch}/${u.epochs} step ${u.step}/${u.steps} | ${u.imagesPerSecond.toFixed(1)} img/s | loss ${u.loss.toFixed(4)} | ETA ${formatDuration(u.etaSeconds)}`;
}

export interface ProgressOptions {
  stream?: NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean; columns?: number };
  /** 'auto' (bar on a TTY), 'bar', 'lines', 'silent'. */
  mode?: 'auto' | 'bar' | 'lines' | 'silent';
  /** Plain mode: one line at most every this many seconds (default 30) and at 25/50/75% of each epoch. */
  intervalSeconds?: number;
  now?: () => number;
}

export function createProgress(o: ProgressOptions = {}): ProgressSink {
  const stream = o.stream ?? process.stderr;
  const mode = o.mode === undefined || o.mode === 'auto' ? (stream.isTTY ? 'bar' : 'lines') : o.mode;
  const now = o.now ?? Date.now;
  if (mode === 'silent') return { update() {}, line() {}, clear() {}, done() {} };
  if (mode === 'bar') {
    let shown = false;
    let last = 0;
    const clear = () => {
      if (shown) stream.write('\r\x1b[2K');
      shown = false;
    };
    return {
      update(u) {
        const t = now();
        if (t - last < 100 && u.step !== u.steps) return;
        last = t;
        const width = Math.max(10, Math.min(30, ((stream as { columns?: number }).columns ?? 100) - 90));
        const filled = Math.round((width * u.step) / Math.max(u.steps, 1));
        const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
        stream.write(`\r\x1b[2K${bar} ${describe(u)}`);
        shown = true;
      },
      line(text) {
        clear();
        stream.write(`${text}\n`);
      },
      clear,
      done() {
        clear();
      },
    };
  }
  let lastLine = now();
  let lastQuarter = -1;
  const interval = (o.intervalSeconds ?? 30) * 1000;
  return {
    update(u) {
      const quarter = Math.floor((4 * u.step) / Math.max(u.steps, 1));
      const t = now();
      const newQuarter = quarter !== lastQuarter && quarter > 0 && quarter < 4;
      if (newQuarter || t - lastLine >= interval) {
        stream.write(`${describe(u)}\n`);
        lastLine = t;
      }
      lastQuarter = quarter;
    },
    line(text) {
      stream.write(`${text}\n`);
    },
    clear() {},
    done() {},
  };
}
