import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { applyReleasing } from '@lm/core-blocks';
import { type MetricAccumulator, softmaxCrossEntropy } from '../metrics';
import type { SGD } from '../optim/sgd';
import { releasingVariableGrads } from './releasing-grads';

/** What one optimizer step needs (the trainer's loop and the train-throughput benchmark both run {@link trainStep}). */
export interface TrainStepInput {
  model: tfl.LayersModel;
  /** The trainable variables, in the order of the SGD's parameters. */
  vars: tf.Variable[];
  sgd: SGD;
  xs: tf.Tensor;
  /** One-hot targets. */
  ys: tf.Tensor;
  labels: Int32Array;
  lr: number;
  /** Receives the batch's loss and top-1/top-5 counts. */
  acc: MetricAccumulator;
  /**
   * Data-parallel training: averages the gradients over ranks (in place in `grads`), adds the global batch's
   * metrics to `acc` and returns the global loss (see distributed/hooks.ts). Absent: this process's loss.
   */
  reduce?: (grads: tf.NamedTensorMap, vars: tf.Variable[], loss: tf.Scalar, logits: tf.Tensor2D, labels: Int32Array, acc: MetricAccumulator) => number;
  /**
   * Runs the forward and backward pass (never the update), e.g. the trainer's stop guard, which may end it with
   * an exception at a kernel dispatch (supervisor/kernel-guard.ts); the step then leaves no tensor behind.
   */
  forwardBackward?: (pass: () => { value: tf.Scalar; grads: tf.NamedTensorMap }) => { value: tf.Scalar; grads: tf.NamedTensorMap };
}

/**
 * One training step as `lm train` runs it: forward in training mode (each intermediate freed after its last
 * reader: applyReleasing), softmax cross-entropy, gradients of every variable, the SGD update at `lr` and the
 * metrics. Returns the (mean) loss. A non-finite loss leaves the weights
 * and `acc` untouched (the caller reports the divergence). Disposes everything it made; `xs`/`ys` stay the caller's.
 */
export function trainStep(s: TrainStepInput): number {
  let logits: tf.Tensor2D | undefined;
  const pass = () =>
    releasingVariableGrads(() => {
      const l = applyReleasing(s.model, s.xs, { training: true }) as tf.Tensor2D;
      logits = tf.keep(l);
      return softmaxCrossEntropy(l, s.ys);
    }, s.vars);
  let value: tf.Scalar, grads: tf.NamedTensorMap;
  try {
    ({ value, grads } = s.forwardBackward ? s.forwardBackward(pass) : pass());
  } catch (e) {
    logits?.dispose();
    throw e;
  }
  try {
    const loss = s.reduce ? s.reduce(grads, s.vars, value, logits!, s.labels, s.acc) : value.dataSync()[0]!;
    if (!Number.isFinite(loss)) return loss;
    s.sgd.step(s.vars.map((v) => grads[v.name]!), s.lr);
    if (!s.reduce) s.acc.add(loss, logits!, s.labels);
    return loss;
  } finally {
    tf.dispose([value, logits!, ...Object.values(grads)]);
  }
}
