import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { foldBatchNorm } from '@lm/core-blocks';
import { MetricAccumulator, softmaxCrossEntropy, type SplitMetrics } from '../metrics';
import type { Split } from '../data/datasets';

export interface EvaluateOptions {
  batchSize?: number;
  numClasses: number;
  /** Evaluate at most this many images (0 = all). */
  maxImages?: number;
  onBatch?: (done: number, total: number) => void;
  /**
   * Fold every convolution's BatchNorm into it for the pass (core-blocks' foldBatchNorm: one kernel instead of two,
   * the same function up to float rounding). Default true; false runs the model's own layers.
   */
  foldBatchNorm?: boolean;
}

/** Loss, top-1 and top-5 error of `model` (in inference mode) on a split, unaugmented and in order. */
export async function evaluate(model: tfl.LayersModel, split: Split, o: EvaluateOptions): Promise<SplitMetrics> {
  const acc = new MetricAccumulator(o.numClasses);
  const batchSize = o.batchSize ?? 100;
  const limit = o.maxImages && o.maxImages > 0 ? Math.min(o.maxImages, split.size) : split.size;
  const folded = o.foldBatchNorm === false ? undefined : foldBatchNorm(model);
  try {
    return await evaluateWith(folded?.model ?? model, split, acc, batchSize, limit, o.onBatch);
  } finally {
    folded?.dispose();
  }
}

async function evaluateWith(model: tfl.LayersModel, split: Split, acc: MetricAccumulator, batchSize: number, limit: number,
  onBatch: EvaluateOptions['onBatch']): Promise<SplitMetrics> {
  for await (const b of split.batches({ batchSize, shuffle: false, augment: false, dropLast: false })) {
    let { xs, ys, labels } = b;
    const remaining = limit - acc.sums.count;
    if (remaining <= 0) {
      tf.dispose([xs, ys]);
      break;
    }
    if (labels.length > remaining) {
      const [x2, y2] = [tf.slice(xs, 0, remaining), tf.slice(ys, 0, remaining)];
      tf.dispose([xs, ys]);
      [xs, ys, labels] = [x2, y2, labels.subarray(0, remaining)];
    }
    const logits = tf.tidy(() => model.apply(xs, { training: false }) as tf.Tensor2D);
    const loss = softmaxCrossEntropy(logits, ys);
    acc.add(loss.dataSync()[0]!, logits, labels);
    tf.dispose([xs, ys, logits, loss]);
    onBatch?.(acc.sums.count, limit);
    if (acc.sums.count >= limit) break;
  }
  return acc.result();
}
