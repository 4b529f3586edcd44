import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types';
import { SeededLayer, type SeededLayerArgs } from './layers/seeded-layer';
import type { SeededRandom } from './random';
import { firstShape, singleInput } from '@lm/core-blocks';

/** Distribution of ε: standard Gaussian, or uniform on [−√3, √3] (also mean 0 and unit variance). */
export type NoiseDistribution = 'gaussian' | 'uniform';

export interface AdditiveNoiseOptions {
  /** Step size Δt (default 1). */
  dt?: number;
  distribution?: NoiseDistribution;
}

const SQRT3 = Math.sqrt(3);

function checkNoise(level: number, o: AdditiveNoiseOptions, where: string): { dt: number; distribution: NoiseDistribution } {
  const dt = o.dt ?? 1;
  const distribution = o.distribution ?? 'gaussian';
  if (!(level >= 0 && Number.isFinite(level))) throw new Error(`${where}: level must be a number >= 0, got ${level}.`);
  if (!(dt > 0 && Number.isFinite(dt))) throw new Error(`${where}: dt must be a positive number, got ${dt}.`);
  if (distribution !== 'gaussian' && distribution !== 'uniform') {
    throw new Error(`${where}: distribution must be 'gaussian' or 'uniform', got '${distribution}'.`);
  }
  return { dt, distribution };
}

/**
 * Noise injection after a step: u + σ √Δt ε in training (σ = `level`, ε with mean 0 and unit variance,
 * element-wise), u in evaluation. √Δt is the scaling of a Brownian increment over a step of size Δt, so the
 * stepped network is the Euler–Maruyama scheme of du = f(u) dt + σ dW_t.
 */
export function additiveNoise(x: tf.Tensor, level: number, training: boolean, rng: SeededRandom, options: AdditiveNoiseOptions = {}): tf.Tensor {
  const { dt, distribution } = checkNoise(level, options, 'additiveNoise');
  return tf.tidy(() => {
    if (!training || level === 0) return tf.clone(x);
    const scale = level * Math.sqrt(dt);
    const eps = new Float32Array(x.size);
    if (distribution === 'gaussian') rng.fillNormal(eps, scale);
    else rng.fillUniform(eps, -SQRT3 * scale, SQRT3 * scale);
    return tf.add(x, tf.tensor(eps, x.shape));
  });
}

export interface AdditiveNoiseArgs extends SeededLayerArgs, AdditiveNoiseOptions {
  /** σ: the noise's standard deviation per unit of time. */
  level: number;
}

/** Layer form of {@link additiveNoise}: applied to u_{n+1}. */
export class AdditiveNoise extends SeededLayer {
  static className = 'LmAdditiveNoise';
  readonly level: number;
  readonly dt: number;
  readonly distribution: NoiseDistribution;

  constructor(args: AdditiveNoiseArgs) {
    super(args);
    const o = checkNoise(args.level, args, `AdditiveNoise '${this.name}'`);
    this.level = args.level;
    this.dt = o.dt;
    this.distribution = o.distribution;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return firstShape(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    const x = singleInput(inputs, `AdditiveNoise '${this.name}'`);
    return additiveNoise(x, this.level, kwargs?.training === true, this.rng, { dt: this.dt, distribution: this.distribution });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), level: this.level, dt: this.dt, distribution: this.distribution };
  }
}
tf.serialization.registerClass(AdditiveNoise);
