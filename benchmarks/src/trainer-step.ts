/**
 * A model as the trainer's buildRun (train/loop.ts) sets it up, and its step: the trainer's own (train/step.ts),
 * on one random CIFAR-shaped batch. Import after setting OMP_NUM_THREADS (the addon reads it when it loads).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { buildModel, MetricAccumulator, resolveConfig, SGD, trainableParams, trainStep } from '@lm/trainer';

const numClasses = 10;

export function trainerStep(name: string, batch: number): { model: ReturnType<typeof buildModel>; step: () => void } {
  const config = resolveConfig({ model: name, batchSize: batch });
  const model = buildModel(config, numClasses, [32, 32, 3]);
  const params = trainableParams(model, config.wdExclude, { lrScale: config.coefficientLrScale, weightDecay: config.coefficientWeightDecay });
  const sgd = new SGD(params, { lr: 0.01, momentum: 0.9, weightDecay: 5e-4, nesterov: false });
  const vars = params.map((p) => p.variable);
  const acc = new MetricAccumulator(numClasses);
  const labels = Int32Array.from({ length: batch }, (_, i) => (i * 7) % numClasses);
  const xs = tf.randomNormal([batch, 32, 32, 3]);
  const ys = tf.oneHot(tf.tensor1d(labels, 'int32'), numClasses);
  const step = () => {
    const loss = trainStep({ model, vars, sgd, xs, ys, labels, lr: 0.01, acc });
    if (!Number.isFinite(loss)) throw new Error(`${name}: loss ${loss}`);
  };
  return { model, step };
}
