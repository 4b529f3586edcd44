import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerArgs } from '@tensorflow/tfjs-layers/dist/engine/topology';
import type { LinearMultistepForm, SchemeCoefficient } from '@lm/core-blocks';
import { mulberry32 } from './linear-multi-step';

export interface LinearKStepArgs extends LayerArgs {
  /** The update reads u_n ... u_{n−steps+1} (and f(u_n) ... f(u_{n−m+1}) for the m entries of b). */
  steps: number;
  /** Initial a_1 ... a_{k−1} (with `consistent`), else a_0 ... a_{k−1}; default drawn from U[initMin, initMax] (a_0 = 1 − Σ). */
  a?: number[];
  /** b_0 ... b_{m−1}, m ≤ k: the weights of Δt f(u_n) ... Δt f(u_{n−m+1}); default (1). */
  b?: number[];
  trainableA?: boolean;
  trainableB?: boolean;
  /** Σ_j a_j = 1 by construction: a_0 = 1 − Σ_{j≥1} a_j is not a weight (default true). */
  consistent?: boolean;
  /** One coefficient per channel instead of one per step. */
  perChannel?: boolean;
  dt?: number;
  initMin?: number;
  initMax?: number;
  seed?: number;
}

/**
 * The explicit k-step linear multi-step update of the paper's Appendix A.3,
 * u_{n+1} = Σ_{j<k} a_j u_{n−j} + Δt Σ_{j<m} b_j f(u_{n−j}), inputs [u_n, ..., u_{n−k+1}, f(u_n), ..., f(u_{n−m+1})].
 * With `consistent`, Σ a_j = 1 holds exactly: the update is computed as u_n + Σ_{j≥1} a_j (u_{n−j} − u_n).
 * k = 2, b = (1) is the LM scheme's (1 − k_n) u_n + k_n u_{n−1} + Δt f(u_n) with a_1 = k_n, operation for operation.
 */
export class LinearKStep extends tfl.layers.Layer {
  static className = 'LmLinearKStep';
  readonly steps: number;
  readonly initialA?: number[];
  readonly initialB: number[];
  readonly trainableA: boolean;
  readonly trainableB: boolean;
  readonly consistent: boolean;
  readonly perChannel: boolean;
  readonly dt: number;
  readonly initMin: number;
  readonly initMax: number;
  readonly seed?: number;
  private a?: tfl.LayerVariable;
  private b?: tfl.LayerVariable;
  private size = 1;

  constructor(args: LinearKStepArgs) {
    super(args);
    this.steps = args.steps;
    this.initialA = args.a ? [...args.a] : undefined;
    this.initialB = [...(args.b ?? [1])];
    this.trainableA = args.trainableA ?? true;
    this.trainableB = args.trainableB ?? false;
    this.consistent = args.consistent ?? true;
    this.perChannel = args.perChannel ?? false;
    this.dt = args.dt ?? 1;
    this.initMin = args.initMin ?? -0.1;
    this.initMax = args.initMax ?? 0;
    this.seed = args.seed;
    const where = `LinearKStep '${this.name}'`;
    if (!Number.isInteger(this.steps) || this.steps < 1) throw new Error(`${where}: steps must be an integer >= 1, got ${this.steps}.`);
    if (this.initialB.length < 1) throw new Error(`${where}: b needs at least one entry (b_0).`);
    const aCount = this.aCount();
    if (!this.trainableA && aCount > 0 && !this.initialA) throw new Error(`${where}: fixed (not trainable) a coefficients need 'a'.`);
    if (this.initialA && this.initialA.length !== aCount) {
      throw new Error(`${where}: a needs ${aCount} entries (${this.consistent ? 'a_1 ... a_{k-1}; a_0 = 1 - their sum' : 'a_0 ... a_{k-1}'}), got ${this.initialA.length}.`);
    }
  }

  /** How many a's are stored: k − 1 when a_0 follows from Σ a_j = 1, else k. */
  private aCount(): number {
    return this.consistent ? this.steps - 1 : this.steps;
  }

  /** Initial stored a's, one row per coefficient: given ones, else a_j ~ U[initMin, initMax] for j ≥ 1 and a_0 = 1 − Σ. */
  private initialRows(size: number): number[][] {
    const next = this.seed === undefined ? Math.random : mulberry32(this.seed);
    if (this.initialA) return this.initialA.map((v) => Array.from({ length: size }, () => v));
    const drawn = Array.from({ length: this.steps - 1 }, () => Array.from({ length: size }, () => this.initMin + (this.initMax - this.initMin) * next()));
    if (this.consistent) return drawn;
    return [Array.from({ length: size }, (_, c) => 1 - drawn.reduce((sum, r) => sum + r[c]!, 0)), ...drawn];
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shapes = inputShape as tfl.Shape[];
    const expected = this.steps + this.initialB.length;
    if (!Array.isArray(shapes[0]) || shapes.length !== expected) {
      throw new Error(`${this.name}: expects ${expected} inputs [u_n ... u_{n-${this.steps - 1}}, f(u_n) ... f(u_{n-${this.initialB.length - 1}})].`);
    }
    const first = shapes[0]!;
    for (const s of shapes) {
      if (s.length !== first.length || s.some((d, i) => d !== first[i])) throw new Error(`${this.name}: every input must have one shape; got [${s}] and [${first}].`);
    }
    const size = this.perChannel ? first[first.length - 1]! : 1;
    this.size = size;
    // Only trainable coefficients are weights; fixed ones are constants of the config.
    const aCount = this.aCount();
    if (aCount > 0 && this.trainableA) {
      this.a = this.addWeight('a', [aCount, size], 'float32', tfl.initializers.zeros());
      this.a.write(tf.tensor2d(this.initialRows(size), [aCount, size]));
    }
    if (this.trainableB) {
      this.b = this.addWeight('b', [this.initialB.length, size], 'float32', tfl.initializers.zeros());
      this.b.write(tf.tensor2d(this.initialB.map((v) => Array.from({ length: size }, () => v)), [this.initialB.length, size]));
    }
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return (inputShape as tfl.Shape[])[0]!;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const xs = inputs as tf.Tensor[];
      const us = xs.slice(0, this.steps);
      const fs = xs.slice(this.steps);
      const u = us[0]!;
      const a = this.a?.read();
      const b = this.b?.read();
      const row = (w: tf.Tensor, j: number) => tf.squeeze(tf.slice(w, [j, 0], [1, -1]), [0]);
      const fixedA = this.trainableA ? undefined : this.initialRows(1).map((r) => r[0]!);
      const aj = (j: number): tf.Tensor | number => (a ? row(a, j) : fixedA![j]!);
      let mixed: tf.Tensor;
      if (this.consistent) {
        // Σ_j a_j u_{n−j} with a_0 = 1 − Σ_{j≥1} a_j, i.e. u_n + Σ_{j≥1} a_j (u_{n−j} − u_n)
        mixed = u;
        for (let j = 1; j < this.steps; j++) mixed = tf.add(mixed, tf.mul(aj(j - 1), tf.sub(us[j]!, u)));
      } else {
        mixed = tf.mul(aj(0), u);
        for (let j = 1; j < this.steps; j++) mixed = tf.add(mixed, tf.mul(aj(j), us[j]!));
      }
      let drift: tf.Tensor | undefined;
      fs.forEach((f, j) => {
        const term = b ? tf.mul(row(b, j), f) : this.initialB[j] === 1 ? f : tf.mul(f, this.initialB[j]!);
        drift = drift === undefined ? term : tf.add(drift, term);
      });
      return tf.add(mixed, this.dt === 1 ? drift! : tf.mul(drift!, this.dt));
    });
  }

  /** a_0 ... a_{k−1} (a_0 derived when consistent) and b_0 ... b_{m−1}, each one value or one per channel. */
  schemeCoefficients(): SchemeCoefficient[] {
    const size = this.size;
    const constant = (values: number[]) => values.map((v) => Array.from({ length: size }, () => v));
    const stored = this.a ? (this.a.read().arraySync() as number[][]) : this.initialRows(size);
    const a = this.consistent ? [Array.from({ length: size }, (_, c) => 1 - stored.reduce((s, r) => s + r[c]!, 0)), ...stored] : stored;
    const b = this.b ? (this.b.read().arraySync() as number[][]) : constant(this.initialB);
    return [
      ...a.map((values, j) => ({ name: `a${j}`, values, trainable: this.trainableA && (j > 0 || !this.consistent) })),
      ...b.map((values, j) => ({ name: `b${j}`, values, trainable: this.trainableB })),
    ];
  }

  /** The a_j and b_j of each channel (one form without per-channel coefficients). */
  linearMultistepForm(): LinearMultistepForm[] {
    const coefficients = this.schemeCoefficients();
    const of = (prefix: string, c: number) => coefficients.filter((x) => x.name.startsWith(prefix)).map((x) => x.values[c]!);
    return Array.from({ length: this.size }, (_, c) => ({ a: of('a', c), b: of('b', c), dt: this.dt }));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      steps: this.steps,
      ...(this.initialA ? { a: [...this.initialA] } : {}),
      b: [...this.initialB],
      trainableA: this.trainableA,
      trainableB: this.trainableB,
      consistent: this.consistent,
      perChannel: this.perChannel,
      dt: this.dt,
      initMin: this.initMin,
      initMax: this.initMax,
      ...(this.seed !== undefined ? { seed: this.seed } : {}),
    };
  }
}
tf.serialization.registerClass(LinearKStep);
