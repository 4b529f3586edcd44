import * as tf from '@tensorflow/tfjs-core';
import type { Communicator } from '@lm/mpi';
import { topKCorrect, type MetricAccumulator } from '../metrics';

/** Trailing values of the step buffer: the batch's loss sum, top-1 and top-5 hits, image count, stop votes. */
const TAIL = 5;

/** Timing of the last step's allreduce, for the benchmark. */
export interface AllreduceStats {
  values: number;
  seconds: number;
}

/**
 * One allreduce per step carries everything ranks must agree on: every gradient (flattened into one buffer,
 * a single bucket), the moving statistics of normalisation layers (averaged, so every rank and so every
 * checkpoint holds the same model; skipped with sync-BN, where they already agree), the batch's metric sums,
 * and each rank's vote to stop.
 */
export class StepReducer {
  last: AllreduceStats = { values: 0, seconds: 0 };
  stopVotes = 0;

  constructor(
    private readonly comm: Pick<Communicator, 'size' | 'allreduce'>,
    /** Non-trainable weights averaged each step (moving mean/variance); empty with sync-BN. */
    private readonly averaged: tf.Variable[],
  ) {}

  /** Replaces `grads[v.name]` by the mean over ranks; adds the global sums to `acc`; returns the global mean loss. */
  reduce(grads: tf.NamedTensorMap, vars: tf.Variable[], loss: tf.Scalar, logits: tf.Tensor2D, labels: Int32Array, acc: MetricAccumulator, stop: boolean): number {
    const size = this.comm.size;
    const flat = tf.tidy(() => tf.concat([...vars.map((v) => tf.reshape(grads[v.name]!, [-1])), ...this.averaged.map((v) => tf.reshape(v, [-1]))]));
    const n = flat.size;
    const buf = new Float32Array(n + TAIL);
    buf.set(flat.dataSync() as Float32Array);
    flat.dispose();
    const [top1, top5] = topKCorrect(logits, labels, [1, 5]);
    buf.set([loss.dataSync()[0]! * labels.length, top1!, top5!, labels.length, stop ? 1 : 0], n);
    const t0 = performance.now();
    this.comm.allreduce(buf);
    this.last = { values: buf.length, seconds: (performance.now() - t0) / 1000 };
    const scale = 1 / size;
    for (let i = 0; i < n; i++) buf[i]! *= scale;
    let offset = 0;
    for (const v of vars) {
      const g = tf.tensor(buf.subarray(offset, offset + v.size), v.shape, 'float32');
      grads[v.name]!.dispose();
      grads[v.name] = g;
      offset += v.size;
    }
    for (const v of this.averaged) {
      tf.tidy(() => v.assign(tf.tensor(buf.subarray(offset, offset + v.size), v.shape, 'float32')));
      offset += v.size;
    }
    const [lossSum, t1, t5, count, votes] = Array.from(buf.subarray(n));
    acc.sums.lossSum += lossSum!;
    acc.sums.top1 += t1!;
    acc.sums.top5 += t5!;
    acc.sums.count += count!;
    this.stopVotes = votes!;
    return lossSum! / count!;
  }
}
