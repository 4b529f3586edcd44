import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { MetricAccumulator, softmaxCrossEntropy, topKCorrect } from '../src/metrics';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('metrics', () => {
  // 6 classes; per row the classes in descending score order are given in the comment.
  const logits = tf.tensor2d([
    [9, 8, 7, 6, 5, 4], // 0 1 2 3 4 5
    [1, 2, 3, 4, 5, 6], // 5 4 3 2 1 0
    [0, 0, 10, 0, 0, 1], // 2 5 ...
    [5, 1, 4, 3, 2, 0], // 0 2 3 4 1 5
  ]);
  const labels = new Int32Array([0, 0, 5, 1]);

  it('top-1 and top-5 correct counts on hand-made logits', () => {
    // row 0: label 0 is top-1. row 1: label 0 ranks 6th. row 2: label 5 ranks 2nd. row 3: label 1 ranks 5th.
    expect(topKCorrect(logits, labels, [1, 5])).toEqual([1, 3]);
    expect(topKCorrect(logits, labels, [2])).toEqual([2]);
  });

  it('accumulates errors and mean loss over batches; no top-5 below 5 classes', () => {
    const acc = new MetricAccumulator(6);
    acc.add(2, logits, labels);
    acc.add(1, tf.tensor2d([[0, 1, 0, 0, 0, 0]]), new Int32Array([1]));
    const r = acc.result();
    expect(r.images).toBe(5);
    expect(r.loss).toBeCloseTo((2 * 4 + 1) / 5, 12);
    expect(r.top1Error).toBeCloseTo(1 - 2 / 5, 12);
    expect(r.top5Error).toBeCloseTo(1 - 4 / 5, 12);
    const small = new MetricAccumulator(3);
    small.add(1, tf.tensor2d([[1, 0, 0]]), new Int32Array([0]));
    expect(small.result().top5Error).toBeUndefined();
  });

  it('softmax cross-entropy equals −log softmax of the label', () => {
    const l = softmaxCrossEntropy(tf.tensor2d([[1, 2, 3]]), tf.tensor2d([[0, 0, 1]]));
    const want = -Math.log(Math.exp(3) / (Math.exp(1) + Math.exp(2) + Math.exp(3)));
    expect(l.dataSync()[0]).toBeCloseTo(want, 5);
  });
});
