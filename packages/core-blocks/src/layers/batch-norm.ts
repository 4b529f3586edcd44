import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerArgs } from '@tensorflow/tfjs-layers/dist/engine/topology';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types';
import { batchNormInference, batchNormTrain } from './batch-norm-op';
import { updateMovingStats } from './moving-stats-op';
import { singleInput, firstShape } from './util';

export interface BatchNormArgs extends LayerArgs {
  /** Moving statistics: m ← momentum · m + (1 − momentum) · batch statistic. Default 0.9 (PyTorch's 0.1). */
  momentum?: number;
  /** Default 1e-5, as PyTorch. */
  epsilon?: number;
  /** 'relu': the layer outputs max(BN(x), 0), BN and ReLU as one kernel. Default 'linear' (BN alone). */
  activation?: BatchNormActivation;
}

export type BatchNormActivation = 'linear' | 'relu';

/**
 * Batch normalisation over the channel (last) axis. Training mode uses the backend's fused training kernel
 * when available (one kernel forward, one backward instead of ~45 small ones); evaluation uses the moving
 * mean and the moving unbiased variance, as PyTorch does. With `activation: 'relu'` it is BN followed by ReLU
 * (the same outputs and gradients as a BatchNorm layer then a ReLU layer), fused where the backend can.
 */
export class BatchNorm extends tfl.layers.Layer {
  static className = 'LmBatchNorm';
  readonly momentum: number;
  readonly epsilon: number;
  readonly activation: BatchNormActivation;
  private gamma!: tfl.LayerVariable;
  private beta!: tfl.LayerVariable;
  private movingMean!: tfl.LayerVariable;
  private movingVariance!: tfl.LayerVariable;

  constructor(args: BatchNormArgs = {}) {
    super(args);
    this.momentum = args.momentum ?? 0.9;
    this.epsilon = args.epsilon ?? 1e-5;
    const activation = args.activation ?? 'linear';
    if (activation !== 'linear' && activation !== 'relu') {
      throw new Error(`${this.name}: BatchNorm option 'activation' must be 'linear' or 'relu', got '${String(activation)}'.`);
    }
    this.activation = activation;
    this.supportsMasking = true;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = firstShape(inputShape);
    const channels = shape[shape.length - 1];
    if (channels == null) throw new Error(`${this.name}: the channel dimension must be known.`);
    this.gamma = this.addWeight('gamma', [channels], 'float32', tfl.initializers.ones());
    this.beta = this.addWeight('beta', [channels], 'float32', tfl.initializers.zeros());
    this.movingMean = this.addWeight('moving_mean', [channels], 'float32', tfl.initializers.zeros(), undefined, false);
    this.movingVariance = this.addWeight('moving_variance', [channels], 'float32', tfl.initializers.ones(), undefined, false);
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = singleInput(inputs);
      const gamma = this.gamma.read() as tf.Tensor1D;
      const beta = this.beta.read() as tf.Tensor1D;
      const relu = this.activation === 'relu';
      if (kwargs?.training !== true) {
        return batchNormInference(x, this.movingMean.read(), this.movingVariance.read(), gamma, beta, this.epsilon, relu);
      }
      const { y, mean, variance, count: statsCount } = batchNormTrain(x, gamma, beta, this.epsilon, relu);
      const count = statsCount ?? x.size / x.shape[x.rank - 1]!;
      const moving = updateMovingStats(this.movingMean.read(), this.movingVariance.read(), mean, variance, this.momentum, count);
      this.movingMean.write(moving.movingMean);
      this.movingVariance.write(moving.movingVariance);
      return y;
    });
  }

  /**
   * The evaluation-mode map as y = scale · x + shift per channel, scale = γ / sqrt(σ² + ε), shift = β − μ · scale
   * (moving statistics μ, σ²): what folding this layer into the convolution before it multiplies and adds.
   */
  inferenceAffine(): { scale: tf.Tensor1D; shift: tf.Tensor1D } {
    return tf.tidy(() => {
      const scale = tf.div(this.gamma.read(), tf.sqrt(tf.add(this.movingVariance.read(), this.epsilon))) as tf.Tensor1D;
      const shift = tf.sub(this.beta.read(), tf.mul(this.movingMean.read(), scale)) as tf.Tensor1D;
      return { scale, shift };
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    // 'linear' is left out so that configs of plain BN layers stay what they were before the option existed.
    const config: tf.serialization.ConfigDict = { ...super.getConfig(), momentum: this.momentum, epsilon: this.epsilon };
    if (this.activation !== 'linear') config.activation = this.activation;
    return config;
  }
}
tf.serialization.registerClass(BatchNorm);
