import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types';
import { SeededLayer, type SeededLayerArgs } from './layers/seeded-layer';
import { coefficientShape } from './layers/util';
import type { SeededRandom } from './random';
import { firstShape } from '@lm/core-blocks';

/** Forward pass: a random η (`'shake'`, default) or η = 1/2 (`'even'`). */
export type ShakeForward = 'shake' | 'even';
/** Backward pass: an independent η' (`'shake'`, default), the forward η (`'keep'`) or 1/2 (`'even'`). */
export type ShakeBackward = 'shake' | 'keep' | 'even';
/** One η per image (`'image'`, Gastaldi's best and the default) or per mini-batch (`'batch'`). */
export type ShakeLevel = 'image' | 'batch';

export interface ShakeShakeOptions {
  /** Step size Δt of the scheme (default 1: Gastaldi's original). */
  dt?: number;
  forward?: ShakeForward;
  backward?: ShakeBackward;
  level?: ShakeLevel;
}

/**
 * Coefficient c1 of the first branch for a given η; the second is c2 = 1 − c1.
 *
 * Equation (4) of the paper writes the shake-shake step as
 *   u_{n+1} = u_n + (Δt/2 + √Δt (η − 1/2)) f1(u_n) + (Δt/2 + √Δt (1/2 − η)) f2(u_n),  η ~ U(0, 1),
 * a weak approximation of an SDE whose noise has the Brownian scaling √Δt. Every scheme multiplies the
 * combined f by Δt itself, so f = c1 f1 + c2 f2 must carry c_i = (coefficient of eq. (4)) / Δt:
 *   c1 = 1/2 + (η − 1/2)/√Δt,  c2 = 1/2 − (η − 1/2)/√Δt,
 * and then Δt·f has exactly the coefficients of eq. (4). Δt = 1 gives Gastaldi's η f1 + (1 − η) f2.
 * E[η] = 1/2, so the expected coefficients are 1/2, 1/2 whatever Δt: what evaluation uses.
 */
export function shakeCoefficient(eta: number, dt: number): number {
  return 0.5 + (eta - 0.5) / Math.sqrt(dt);
}

function checkOptions(o: ShakeShakeOptions, where: string): Required<ShakeShakeOptions> {
  const dt = o.dt ?? 1;
  const forward = o.forward ?? 'shake';
  const backward = o.backward ?? 'shake';
  const level = o.level ?? 'image';
  if (!(dt > 0 && Number.isFinite(dt))) throw new Error(`${where}: dt must be a positive number, got ${dt}.`);
  if (forward !== 'shake' && forward !== 'even') throw new Error(`${where}: forward must be 'shake' or 'even', got '${forward}'.`);
  if (backward !== 'shake' && backward !== 'keep' && backward !== 'even') {
    throw new Error(`${where}: backward must be 'shake', 'keep' or 'even', got '${backward}'.`);
  }
  if (level !== 'image' && level !== 'batch') throw new Error(`${where}: level must be 'image' or 'batch', got '${level}'.`);
  return { dt, forward, backward, level };
}

/** The forward and backward c1 of one training call (c2 = 1 − c1), one per image or one per batch. */
export interface ShakeDraw {
  forward: Float32Array;
  backward: Float32Array;
}

/** Draws the coefficients of one call: the `count` forward η first, then the `count` backward η'. */
export function drawShakeCoefficients(count: number, rng: SeededRandom, options: ShakeShakeOptions = {}): ShakeDraw {
  return draw(count, rng, checkOptions(options, 'shakeShake'));
}

/** {@link drawShakeCoefficients} for options that {@link checkOptions} has already validated. */
function draw(count: number, rng: SeededRandom, o: Required<ShakeShakeOptions>): ShakeDraw {
  const eta = new Float32Array(count).fill(0.5);
  if (o.forward === 'shake') rng.fillUniform(eta);
  let etaBack: Float32Array;
  if (o.backward === 'shake') etaBack = rng.fillUniform(new Float32Array(count));
  else if (o.backward === 'keep') etaBack = eta;
  else etaBack = new Float32Array(count).fill(0.5);
  return { forward: eta.map((e) => shakeCoefficient(e, o.dt)), backward: etaBack.map((e) => shakeCoefficient(e, o.dt)) };
}

/**
 * Shake-shake combination of two branch outputs (Gastaldi 2017, with the step size of eq. (4)):
 * training gives c1 f1 + c2 f2 with random forward coefficients and, through a custom gradient, independent
 * random coefficients in the backward pass (dL/df1 = c1' dL/df, dL/df2 = c2' dL/df); evaluation gives the
 * expected combination (f1 + f2) / 2. The plain function beside the {@link ShakeShake} layer.
 */
export function shakeShake(f1: tf.Tensor, f2: tf.Tensor, training: boolean, rng: SeededRandom, options: ShakeShakeOptions = {}): tf.Tensor {
  const o = checkOptions(options, 'shakeShake');
  if (!tf.util.arraysEqual(f1.shape, f2.shape)) {
    throw new Error(`shakeShake: the branches must have one shape; got [${f1.shape}] and [${f2.shape}].`);
  }
  if (!training) return tf.tidy(() => tf.mul(tf.add(f1, f2), 0.5));
  const count = o.level === 'image' ? f1.shape[0] ?? 1 : 1;
  const { forward, backward } = draw(count, rng, o);
  const shape = coefficientShape(count, f1.rank);
  const complement = (c: Float32Array) => c.map((v) => 1 - v);
  // The coefficients stay JS arrays until used, so nothing has to outlive the forward pass's tidy scope.
  const op = tf.customGrad(((a: tf.Tensor, b: tf.Tensor) => {
    const value = tf.add(tf.mul(a, tf.tensor(forward, shape)), tf.mul(b, tf.tensor(complement(forward), shape)));
    const gradFunc = (dy: tf.Tensor) => [tf.mul(dy, tf.tensor(backward, shape)), tf.mul(dy, tf.tensor(complement(backward), shape))];
    return { value, gradFunc };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return tf.tidy(() => op(f1, f2));
}

export interface ShakeShakeArgs extends SeededLayerArgs, ShakeShakeOptions {}

/** Layer form of {@link shakeShake}: inputs [f1(u), f2(u)], output the combined f(u). */
export class ShakeShake extends SeededLayer {
  static className = 'LmShakeShake';
  readonly dt: number;
  readonly forward: ShakeForward;
  readonly backward: ShakeBackward;
  readonly level: ShakeLevel;

  constructor(args: ShakeShakeArgs = {}) {
    super(args);
    const o = checkOptions(args, `ShakeShake '${this.name}'`);
    this.dt = o.dt;
    this.forward = o.forward;
    this.backward = o.backward;
    this.level = o.level;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return firstShape(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    if (!Array.isArray(inputs) || inputs.length !== 2) {
      throw new Error(`ShakeShake '${this.name}' expects two inputs [f1, f2], got ${Array.isArray(inputs) ? inputs.length : 1}.`);
    }
    return shakeShake(inputs[0], inputs[1], kwargs?.training === true, this.rng, {
      dt: this.dt,
      forward: this.forward,
      backward: this.backward,
      level: this.level,
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), dt: this.dt, forward: this.forward, backward: this.backward, level: this.level };
  }
}
tf.serialization.registerClass(ShakeShake);
