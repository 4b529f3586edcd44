import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types';
import type { StepPosition } from '@lm/core-blocks';
import { SeededLayer, type SeededLayerArgs } from './layers/seeded-layer';
import { coefficientShape } from './layers/util';
import type { SeededRandom } from './random';
import { firstShape, singleInput } from '@lm/core-blocks';

/**
 * Where survivors are rescaled.
 * - `'train'` (default): a surviving f is multiplied by 1/p in training and evaluation is the plain,
 *   unscaled network, so an exported model evaluates as the deterministic network and a model trained with the
 *   strategy can be evaluated (or fine-tuned) without it (timm's `scale_by_keep`).
 * - `'eval'`: Huang et al.'s original: training uses η f unscaled, evaluation uses the expectation p f.
 */
export type DropPathScaleAt = 'train' | 'eval';

/** One Bernoulli draw per mini-batch (Huang et al., the paper's η_n; default) or one per image (timm). */
export type DropPathMode = 'batch' | 'sample';

export interface DropPathOptions {
  scaleAt?: DropPathScaleAt;
  mode?: DropPathMode;
}

function checkSurvival(survival: number, where: string): void {
  if (!(survival > 0 && survival <= 1)) throw new Error(`${where}: the survival probability must be in (0, 1], got ${survival}.`);
}

/**
 * Stochastic depth on a residual f: η f / p in training (η ~ Bernoulli(p), p = `survival`), f in evaluation
 * (with the default `scaleAt: 'train'`; `'eval'` gives η f and p f). Draws one η per batch or per image
 * from `rng`. The plain function beside the {@link DropPath} layer, as timm's `drop_path` beside `DropPath`.
 */
export function dropPath(x: tf.Tensor, survival: number, training: boolean, rng: SeededRandom, options: DropPathOptions = {}): tf.Tensor {
  checkSurvival(survival, 'dropPath');
  const scaleAt = options.scaleAt ?? 'train';
  const mode = options.mode ?? 'batch';
  return tf.tidy(() => {
    if (!training) return scaleAt === 'eval' && survival !== 1 ? tf.mul(x, survival) : tf.clone(x);
    if (survival === 1) return tf.clone(x);
    const count = mode === 'sample' ? x.shape[0] ?? 1 : 1;
    const scale = scaleAt === 'train' ? 1 / survival : 1;
    const mask = new Float32Array(count);
    for (let i = 0; i < count; i++) mask[i] = rng.bernoulli(survival) * scale;
    // Multiplying by a zero mask (rather than returning zeros) keeps f connected to the loss, so every
    // optimiser sees a (zero) gradient for a dropped branch.
    return tf.mul(x, tf.tensor(mask, coefficientShape(count, x.rank)));
  });
}

export type SurvivalRule = 'linear' | 'uniform';

/**
 * Survival probability of block l of L: p_l = 1 − (l / L)(1 − p_L) (Huang et al.'s linear decay, `'linear'`)
 * or p_L for every block (`'uniform'`).
 */
export function survivalProbability(position: Pick<StepPosition, 'index' | 'count'>, pL: number, rule: SurvivalRule = 'linear'): number {
  if (!(pL > 0 && pL <= 1)) throw new Error(`stochastic depth: pL must be in (0, 1], got ${pL}.`);
  const { index, count } = position;
  if (!(Number.isInteger(index) && Number.isInteger(count) && index >= 1 && index <= count)) {
    throw new Error(`stochastic depth: block index ${index} of ${count} is not in 1..L.`);
  }
  return rule === 'uniform' ? pL : 1 - (index / count) * (1 - pL);
}

/** Survival probabilities p_1..p_L of a network of L blocks (like timm's `calculate_drop_path_rates`). */
export function survivalProbabilities(count: number, pL: number, rule: SurvivalRule = 'linear'): number[] {
  return Array.from({ length: count }, (_, i) => survivalProbability({ index: i + 1, count }, pL, rule));
}

export interface DropPathArgs extends SeededLayerArgs, DropPathOptions {
  /** Survival probability p of the branch. */
  survival: number;
}

/** Layer form of {@link dropPath}: applied to f(u) of one step. */
export class DropPath extends SeededLayer {
  static className = 'LmDropPath';
  readonly survival: number;
  readonly scaleAt: DropPathScaleAt;
  readonly mode: DropPathMode;

  constructor(args: DropPathArgs) {
    super(args);
    checkSurvival(args.survival, `DropPath '${this.name}'`);
    this.survival = args.survival;
    this.scaleAt = args.scaleAt ?? 'train';
    this.mode = args.mode ?? 'batch';
    if (this.scaleAt !== 'train' && this.scaleAt !== 'eval') throw new Error(`DropPath '${this.name}': scaleAt must be 'train' or 'eval', got '${this.scaleAt}'.`);
    if (this.mode !== 'batch' && this.mode !== 'sample') throw new Error(`DropPath '${this.name}': mode must be 'batch' or 'sample', got '${this.mode}'.`);
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return firstShape(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    const x = singleInput(inputs, `DropPath '${this.name}'`);
    return dropPath(x, this.survival, kwargs?.training === true, this.rng, { scaleAt: this.scaleAt, mode: this.mode });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), survival: this.survival, scaleAt: this.scaleAt, mode: this.mode };
  }
}
tf.serialization.registerClass(DropPath);
