/** Download/read progress: a bar on an interactive stderr, plain lines otherwise, or nothing. */

export type ProgressMode = 'auto' | 'bar' | 'lines' | 'silent';

function mb(n: number): string {
  return (n / 1e6).toFixed(1);
}

export class ProgressReporter {
  private lastDraw = 0;
  private lastStep = -1;
  private readonly started = Date.now();
  private readonly mode: Exclude<ProgressMode, 'auto'>;

  constructor(
    private readonly label: string,
    private total: number | undefined,
    mode: ProgressMode = 'auto',
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.mode = mode === 'auto' ? (stream.isTTY ? 'bar' : 'lines') : mode;
  }

  setTotal(total: number | undefined): void {
    this.total = total;
  }

  update(bytes: number, force = false): void {
    if (this.mode === 'silent') return;
    const now = Date.now();
    const secs = Math.max(1e-3, (now - this.started) / 1000);
    const rate = `${mb(bytes / secs)} MB/s`;
    if (this.mode === 'bar') {
      if (!force && now - this.lastDraw < 100) return;
      this.lastDraw = now;
      const width = 30;
      if (this.total) {
        const f = Math.min(1, bytes / this.total);
        const filled = Math.round(f * width);
        this.stream.write(
          `\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(f * 100).toFixed(1)}% ${mb(bytes)}/${mb(this.total)} MB ${rate}   `,
        );
      } else this.stream.write(`\r${this.label} ${mb(bytes)} MB ${rate}   `);
      return;
    }
    // Plain lines: one per 10 % (or per 10 MB when the size is unknown).
    const step = this.total ? Math.floor((bytes / this.total) * 10) : Math.floor(bytes / 1e7);
    if (!force && step === this.lastStep) return;
    this.lastStep = step;
    this.stream.write(
      this.total
        ? `${this.label}: ${Math.min(100, Math.round((bytes / this.total) * 100))}% (${mb(bytes)}/${mb(this.total)} MB, ${rate})\n`
        : `${this.label}: ${mb(bytes)} MB (${rate})\n`,
    );
  }

  done(message?: string): void {
    if (this.mode === 'silent') return;
    if (this.mode === 'bar') this.stream.write('\n');
    if (message) this.stream.write(`${this.label}: ${message}\n`);
  }
}
