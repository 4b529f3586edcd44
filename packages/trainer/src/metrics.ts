import * as tf from '@tensorflow/tfjs-core';

/**
 * Counts, for each row of `logits`, whether the label is the top-1 prediction and whether it is among the
 * top 5 (ties broken by index order, as `tf.topk`). Returns the number of correct predictions.
 */
export function topKCorrect(logits: tf.Tensor2D, labels: Int32Array, ks: number[] = [1, 5]): number[] {
  const [n, classes] = logits.shape;
  const kmax = Math.min(Math.max(...ks), classes);
  const idx = tf.tidy(() => tf.topk(logits, kmax).indices);
  const top = idx.dataSync();
  idx.dispose();
  return ks.map((k) => {
    const kk = Math.min(k, classes);
    let correct = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < kk; j++) {
        if (top[i * kmax + j] === labels[i]) {
          correct++;
          break;
        }
      }
    }
    return correct;
  });
}

/** Mean softmax cross-entropy of logits against one-hot targets. */
export function softmaxCrossEntropy(logits: tf.Tensor, oneHot: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), -1))) as tf.Scalar);
}

/** Running sums of one split's metrics over an epoch; serialisable for mid-epoch checkpoints. */
export interface MetricSums {
  lossSum: number;
  top1: number;
  top5: number;
  count: number;
}

export interface SplitMetrics {
  loss: number;
  top1Error: number;
  /** Only when the dataset has at least 5 classes. */
  top5Error?: number;
  images: number;
}

export function emptySums(): MetricSums {
  return { lossSum: 0, top1: 0, top5: 0, count: 0 };
}

export class MetricAccumulator {
  sums: MetricSums;
  constructor(
    readonly numClasses: number,
    sums: MetricSums = emptySums(),
  ) {
    this.sums = { ...sums };
  }

  /** Adds a batch: its mean loss, logits and labels. */
  add(meanLoss: number, logits: tf.Tensor2D, labels: Int32Array): void {
    const [c1, c5] = topKCorrect(logits, labels, [1, 5]);
    this.sums.lossSum += meanLoss * labels.length;
    this.sums.top1 += c1!;
    this.sums.top5 += c5!;
    this.sums.count += labels.length;
  }

  result(): SplitMetrics {
    return summarise(this.sums, this.numClasses);
  }
}

export function summarise(s: MetricSums, numClasses: number): SplitMetrics {
  const n = Math.max(s.count, 1);
  const out: SplitMetrics = { loss: s.lossSum / n, top1Error: 1 - s.top1 / n, images: s.count };
  if (numClasses >= 5) out.top5Error = 1 - s.top5 / n;
  return out;
}
