import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { getModelRandomState, type ModelRandomState, setModelRandomState } from '@lm/stochastic';

/**
 * What a training step changes before its optimizer update: the non-trainable weights (batch-norm moving
 * statistics, written during the forward pass) and the random state of the stochastic layers. Held so that an
 * abandoned step can be undone: the weights as clones (a variable's `assign` swaps the data it points to and
 * never writes into it, and a clone shares the data it was taken from, so this copies nothing on the cpu
 * backend), the random state as the small record it is.
 */
export class PreStepState {
  private readonly weights: { variable: tfl.LayerVariable; before: tf.Tensor }[];
  private readonly random: ModelRandomState;

  constructor(private readonly model: tfl.LayersModel) {
    this.weights = model.nonTrainableWeights.map((variable) => ({ variable, before: tf.clone(variable.read()) }));
    this.random = getModelRandomState(model);
  }

  /** Puts the model back as it was when this was taken. */
  restore(): void {
    for (const { variable, before } of this.weights) variable.write(before);
    setModelRandomState(this.model, this.random);
    this.release();
  }

  /** The step completed: the held data may go. */
  release(): void {
    for (const w of this.weights) w.before.dispose();
    this.weights.length = 0;
  }
}
