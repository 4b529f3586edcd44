import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerArgs } from '@tensorflow/tfjs-layers/dist/engine/topology';
import { schemeCoefficients, type CoefficientStorage, type LinearMultistepForm, type SchemeCoefficient } from '@lm/core-blocks';

export interface LinearMultiStepArgs extends LayerArgs {
  /** One k per channel instead of one per block. */
  perChannel?: boolean;
  /** Step size Δt multiplying f(u_n). */
  dt?: number;
  /** k_n is initialised from U[initMin, initMax]; the paper uses U[-0.1, 0]. */
  initMin?: number;
  initMax?: number;
  seed?: number;
  /** The stored weight: 'k' (k_n, the default) or 'one-minus-k' (k' = 1 − k_n, weight `one_minus_k`, as the authors). */
  parametrisation?: CoefficientStorage;
}

/**
 * Kernel contract shared with native backends (e.g. `@lm/backend-onednn`, which registers it for `onednn` and
 * `cpu` together with its gradient): inputs {f, u, prev, k}, attrs {dt, parametrisation}, output
 * u + k (prev − u) + dt f ('k') or prev + k (u − prev) + dt f ('one-minus-k'), with the composed ops' float32 rounding.
 */
export const LM_STEP_KERNEL = 'LmLinearMultiStep';

/**
 * The LM two-step update of the paper: u_{n+1} = (1 − k_n) u_n + k_n u_{n−1} + Δt f(u_n), with a trainable
 * k_n. Inputs: [f(u_n), u_n, u_{n−1}].
 */
export class LinearMultiStep extends tfl.layers.Layer {
  static className = 'LmLinearMultiStep';
  readonly perChannel: boolean;
  readonly dt: number;
  readonly initMin: number;
  readonly initMax: number;
  readonly seed?: number;
  readonly parametrisation: CoefficientStorage;
  private k!: tfl.LayerVariable;

  constructor(args: LinearMultiStepArgs = {}) {
    super(args);
    this.perChannel = args.perChannel ?? false;
    this.dt = args.dt ?? 1;
    this.initMin = args.initMin ?? -0.1;
    this.initMax = args.initMax ?? 0;
    this.seed = args.seed;
    this.parametrisation = args.parametrisation ?? 'k';
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shapes = inputShape as tfl.Shape[];
    if (!Array.isArray(shapes[0]) || shapes.length !== 3) {
      throw new Error(`${this.name}: expects three inputs [f(u_n), u_n, u_{n-1}].`);
    }
    const [f, u, prev] = shapes as [tfl.Shape, tfl.Shape, tfl.Shape];
    const same = (a: tfl.Shape, b: tfl.Shape) => a.length === b.length && a.every((d, i) => d === b[i]);
    if (!same(f, u) || !same(u, prev)) {
      throw new Error(`${this.name}: f(u_n), u_n and u_{n-1} must have one shape; got [${f}], [${u}], [${prev}].`);
    }
    const size = this.perChannel ? u[u.length - 1]! : 1;
    const stored = this.parametrisation === 'one-minus-k';
    this.k = this.addWeight(stored ? 'one_minus_k' : 'k', [size], 'float32', tfl.initializers.zeros());
    const next = this.seed === undefined ? Math.random : mulberry32(this.seed);
    const draw = () => this.initMin + (this.initMax - this.initMin) * next();
    const values = Float32Array.from({ length: size }, () => (stored ? 1 - draw() : draw()));
    this.k.write(tf.tensor1d(values));
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return (inputShape as tfl.Shape[])[1]!;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const [f, u, prev] = inputs as tf.Tensor[];
      // One fused kernel (and one for its gradient, dk included) when the backend has it; the same maths otherwise.
      if (tf.getKernel(LM_STEP_KERNEL, tf.getBackend()) !== undefined) {
        return tf.engine().runKernel(LM_STEP_KERNEL, { f: f!, u: u!, prev: prev!, k: this.k.read() }, { dt: this.dt, parametrisation: this.parametrisation }) as tf.Tensor;
      }
      // (1 − k) u_n + k u_{n−1} = u_n + k (u_{n−1} − u_n) = u_{n−1} + k' (u_n − u_{n−1}) with k' = 1 − k
      const mixed =
        this.parametrisation === 'one-minus-k'
          ? tf.add(prev!, tf.mul(this.k.read(), tf.sub(u!, prev!)))
          : tf.add(u!, tf.mul(this.k.read(), tf.sub(prev!, u!)));
      return tf.add(mixed, this.dt === 1 ? f! : tf.mul(f!, this.dt));
    });
  }

  /** The current k_n (one value, or one per channel), whatever the stored parametrisation. */
  coefficients(): Float32Array {
    const stored = this.k.read().dataSync() as Float32Array;
    return this.parametrisation === 'one-minus-k' ? stored.map((v) => 1 - v) : stored;
  }

  /** The scheme coefficient k_n, found by `schemeCoefficients(model)` like any scheme's. */
  schemeCoefficients(): SchemeCoefficient[] {
    return [{ name: 'k', values: Array.from(this.coefficients()), trainable: this.trainable }];
  }

  /** a = (1 − k_n, k_n), b = (1): per channel with per-channel k. */
  linearMultistepForm(): LinearMultistepForm[] {
    return Array.from(this.coefficients(), (k) => ({ a: [1 - k, k], b: [1], dt: this.dt }));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      perChannel: this.perChannel,
      dt: this.dt,
      initMin: this.initMin,
      initMax: this.initMax,
      ...(this.parametrisation !== 'k' ? { parametrisation: this.parametrisation } : {}),
      ...(this.seed !== undefined ? { seed: this.seed } : {}),
    };
  }
}
tf.serialization.registerClass(LinearMultiStep);

/** A small seeded generator of uniform numbers in [0, 1) (mulberry32), the same on every backend. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The LM step layers of a model in network order (sub-models included). */
export function lmStepLayers(model: tfl.LayersModel): LinearMultiStep[] {
  const out: LinearMultiStep[] = [];
  const visit = (layers: tfl.layers.Layer[]) => {
    for (const layer of layers) {
      if (layer instanceof LinearMultiStep) out.push(layer);
      else if (layer instanceof tfl.LayersModel) visit(layer.layers);
    }
  };
  visit(model.layers);
  return out;
}

/**
 * The trainable scheme coefficients of a model in network order, as `{ layer, k }` (the LM scheme's k_n; for a
 * scheme with several coefficients per step, `layer` is `<layer>/<coefficient>`). A thin alias of `schemeCoefficients`.
 */
export function lmCoefficients(model: tfl.LayersModel): { layer: string; k: number[] }[] {
  return schemeCoefficients(model, { trainableOnly: true }).flatMap(({ layer, coefficients }) =>
    coefficients.map((c) => ({ layer: coefficients.length === 1 ? layer : `${layer}/${c.name}`, k: c.values })),
  );
}
