import { writeFileAtomic } from '@lm/core-blocks/node';
import type { SplitMetrics } from './metrics';

/** One line of `metrics.jsonl`: everything measured in one epoch. */
export interface EpochRecord {
  /** One-based epoch number. */
  epoch: number;
  globalStep: number;
  lr: number;
  train: SplitMetrics;
  /** The held-out split evaluated (validation or test), when there is one. */
  eval?: SplitMetrics & { split: 'validation' | 'test' };
  /** Training images per second over this epoch. */
  imagesPerSecond: number;
  /** Seconds spent in this epoch (training and evaluation). */
  seconds: number;
  /** Learned k_n per LM step (empty for non-LM models). */
  k: { layer: string; k: number[] }[];
  time: string;
}

/** Rewrites `metrics.jsonl` with the whole history, atomically (so a resumed run never shows duplicate epochs). */
export function writeMetricsLog(path: string, history: EpochRecord[]): void {
  writeFileAtomic(path, history.map((r) => JSON.stringify(r)).join('\n') + (history.length ? '\n' : ''));
}

export function readMetricsLog(text: string): EpochRecord[] {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as EpochRecord);
}

const pct = (x: number | undefined) => (x === undefined ? '-' : `${(100 * x).toFixed(2)}%`);

/** `epoch 3/8  train loss 1.234 top-1 45.10% top-5 9.30%  validation loss ... | 250 img/s | lr 0.1`. */
export function formatEpochLine(r: EpochRecord, epochs: number): string {
  const split = (name: string, m: SplitMetrics) =>
    `${name} loss ${m.loss.toFixed(4)} top-1 err ${pct(m.top1Error)}${m.top5Error !== undefined ? ` top-5 err ${pct(m.top5Error)}` : ''}`;
  const parts = [`epoch ${r.epoch}/${epochs}`, split('train', r.train)];
  if (r.eval) parts.push(split(r.eval.split, r.eval));
  parts.push(`${r.imagesPerSecond.toFixed(1)} img/s`, `lr ${r.lr.toPrecision(3)}`, `${r.seconds.toFixed(1)}s`);
  if (r.k.length) {
    const ks = r.k.map((e) => (e.k.length === 1 ? e.k[0]! : e.k.reduce((a, b) => a + b, 0) / e.k.length));
    parts.push(`k [${ks.map((k) => k.toFixed(3)).join(' ')}]`);
  }
  return parts.join(' | ');
}

/** `summary.csv` as timm writes it: one row per epoch, accuracies in percent. */
export function summaryCsv(history: EpochRecord[]): string {
  const acc = (err: number | undefined) => (err === undefined ? '' : String(100 * (1 - err)));
  const rows = history.map((r) => [r.epoch, r.train.loss, r.eval?.loss ?? '', acc(r.eval?.top1Error), acc(r.eval?.top5Error), r.lr].join(','));
  return ['epoch,train_loss,eval_loss,eval_top1,eval_top5,lr', ...rows].join('\n') + '\n';
}
