import * as tf from '@tensorflow/tfjs-core';

/** One parameter the optimizer updates. */
export interface SgdParam {
  variable: tf.Variable;
  /** Stable name for checkpoints and diagnostics (defaults to the variable's name). */
  name?: string;
  /** Apply weight decay to this parameter (default true, as PyTorch). */
  decay?: boolean;
  /** This parameter's learning rate is lrScale · lr (default 1): a parameter group of its own. */
  lrScale?: number;
  /** This parameter's weight decay, overriding the optimizer's (when `decay`). */
  weightDecay?: number;
}

export interface SgdOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

/** Serialisable optimizer state: hyper-parameters and one momentum buffer per parameter (null before its first step). */
export interface SgdState {
  options: Required<SgdOptions>;
  steps: number;
  names: string[];
  buffers: (Float32Array | null)[];
  shapes: number[][];
}

/**
 * Kernel a backend may register to run the whole update in one native call (e.g. `@lm/backend-onednn`):
 *   inputs {w0..w(n-1), g0..g(n-1), b_i where parameter i has a momentum buffer}
 *   attrs  {count: n, lr, momentum, dampening, weightDecay, nesterov, decay: boolean[n], hasBuffer: boolean[n]}
 *   outputs [w'0..w'(n-1), then b'0..b'(n-1) when momentum != 0], with the update below.
 * The trainer uses it when the current backend has it and the op-by-op update otherwise.
 */
export const SGD_STEP_KERNEL = 'LmSgdStep';

/**
 * Stochastic gradient descent with exactly the semantics of `torch.optim.SGD`:
 *
 *   g ← ∇w + wd · w                       (weight decay: added to the gradient, not to the loss)
 *   b ← g                    (first step)
 *   b ← μ · b + (1 − dampening) · g       (later steps)
 *   d ← g + μ · b  (Nesterov)   or   d ← b
 *   w ← w − lr · d
 *
 * With momentum 0 there is no buffer and d = g.
 */
export class SGD {
  readonly params: (Required<Omit<SgdParam, 'weightDecay'>> & Pick<SgdParam, 'weightDecay'>)[];
  options: Required<SgdOptions>;
  steps = 0;
  private buffers: (tf.Tensor | null)[];

  constructor(params: (SgdParam | tf.Variable)[], options: SgdOptions) {
    this.params = params.map((p) => {
      const q = p instanceof tf.Variable ? { variable: p } : p;
      return { variable: q.variable, name: q.name ?? q.variable.name, decay: q.decay ?? true, lrScale: q.lrScale ?? 1, weightDecay: q.weightDecay };
    });
    this.options = {
      lr: options.lr,
      momentum: options.momentum ?? 0,
      dampening: options.dampening ?? 0,
      weightDecay: options.weightDecay ?? 0,
      nesterov: options.nesterov ?? false,
    };
    if (this.options.nesterov && (this.options.momentum <= 0 || this.options.dampening !== 0)) {
      throw new Error('Nesterov momentum requires a momentum > 0 and zero dampening (as torch.optim.SGD).');
    }
    this.buffers = this.params.map(() => null);
  }

  /** Applies one update. `grads[i]` is the gradient of `params[i]` (or a map by variable name); `lr` overrides the current rate. */
  step(grads: tf.Tensor[] | tf.NamedTensorMap, lr = this.options.lr): void {
    const { momentum: mu, dampening, weightDecay: wd, nesterov } = this.options;
    this.options.lr = lr;
    if (tf.getKernel(SGD_STEP_KERNEL, tf.getBackend())) {
      this.fusedStep(grads);
      return;
    }
    this.params.forEach((p, i) => {
      const grad = Array.isArray(grads) ? grads[i] : grads[p.variable.name];
      if (!grad) return; // no gradient: PyTorch skips the parameter
      const old = this.buffers[i];
      const [next, buf] = tf.tidy(() => {
        const w = p.variable;
        let g: tf.Tensor = grad;
        const decay = p.weightDecay ?? wd;
        if (decay !== 0 && p.decay) g = tf.add(g, tf.mul(w, decay));
        let b: tf.Tensor | null = null;
        let d = g;
        if (mu !== 0) {
          b = old === null ? g.clone() : tf.add(tf.mul(old, mu), dampening === 0 ? g : tf.mul(g, 1 - dampening));
          d = nesterov ? tf.add(g, tf.mul(b, mu)) : b;
        }
        return [tf.sub(w, tf.mul(d, lr * p.lrScale)), b] as const;
      });
      p.variable.assign(next);
      next.dispose();
      if (old) old.dispose();
      this.buffers[i] = buf ? tf.keep(buf) : null;
    });
    this.steps++;
  }

  /** The same update as one {@link SGD_STEP_KERNEL} call over every parameter that has a gradient. */
  private fusedStep(grads: tf.Tensor[] | tf.NamedTensorMap): void {
    const { lr, momentum, dampening, weightDecay, nesterov } = this.options;
    const inputs: tf.NamedTensorMap = {};
    const which: number[] = [];
    this.params.forEach((p, i) => {
      const grad = Array.isArray(grads) ? grads[i] : grads[p.variable.name];
      if (!grad) return; // no gradient: PyTorch skips the parameter
      const k = which.length;
      inputs[`w${k}`] = p.variable;
      inputs[`g${k}`] = grad;
      const buf = this.buffers[i];
      if (momentum !== 0 && buf) inputs[`b${k}`] = buf;
      which.push(i);
    });
    if (which.length === 0) {
      this.steps++;
      return;
    }
    // each parameter's own rate and decay, as the op-by-op path computes them (lr · lrScale in float64)
    const attrs = {
      count: which.length,
      lrs: which.map((i) => lr * this.params[i]!.lrScale),
      weightDecays: which.map((i) => (this.params[i]!.decay ? (this.params[i]!.weightDecay ?? weightDecay) : 0)),
      momentum,
      dampening,
      nesterov,
      hasBuffer: which.map((i) => momentum !== 0 && this.buffers[i] !== null),
    };
    const outs = tf.engine().runKernel(SGD_STEP_KERNEL, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
    which.forEach((i, k) => {
      const next = outs[k]!;
      this.params[i]!.variable.assign(next);
      next.dispose();
      if (momentum !== 0) {
        this.buffers[i]?.dispose();
        this.buffers[i] = tf.keep(outs[which.length + k]!);
      }
    });
    this.steps++;
  }

  getState(): SgdState {
    return {
      options: { ...this.options },
      steps: this.steps,
      names: this.params.map((p) => p.name),
      buffers: this.buffers.map((b) => (b ? (b.dataSync() as Float32Array).slice() : null)),
      shapes: this.params.map((p) => p.variable.shape.slice()),
    };
  }

  /** Restores a state from {@link getState}; parameter count and shapes must match. */
  setState(state: SgdState): void {
    if (state.buffers.length !== this.params.length) {
      throw new Error(`Optimizer state has ${state.buffers.length} buffers for ${this.params.length} parameters.`);
    }
    this.options = { ...state.options };
    this.steps = state.steps;
    this.buffers.forEach((b) => b?.dispose());
    this.buffers = state.buffers.map((data, i) => {
      if (!data) return null;
      const shape = this.params[i]!.variable.shape;
      const size = shape.reduce((a, b) => a * b, 1);
      if (data.length !== size) {
        throw new Error(`Optimizer buffer ${i} (${state.names[i]}) has ${data.length} values; parameter ${this.params[i]!.name} has ${size}.`);
      }
      return tf.keep(tf.tensor(data, shape, 'float32'));
    });
  }

  dispose(): void {
    this.buffers.forEach((b) => b?.dispose());
    this.buffers = this.params.map(() => null);
  }
}

/** Serialises buffers into one binary blob plus a JSON manifest. */
export function packSgdState(state: SgdState): { json: Record<string, unknown>; bin: Uint8Array } {
  const entries: { name: string; shape: number[]; offset: number; length: number }[] = [];
  let total = 0;
  state.buffers.forEach((b, i) => {
    entries.push({ name: state.names[i]!, shape: state.shapes[i]!, offset: b ? total : -1, length: b ? b.length : 0 });
    if (b) total += b.length;
  });
  const all = new Float32Array(total);
  state.buffers.forEach((b, i) => {
    if (b) all.set(b, entries[i]!.offset);
  });
  return {
    json: { type: 'sgd', options: state.options, steps: state.steps, buffers: entries, file: 'momentum.bin', dtype: 'float32' },
    bin: new Uint8Array(all.buffer),
  };
}

export function unpackSgdState(json: any, bin: Uint8Array): SgdState {
  const all = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
  const entries = json.buffers as { name: string; shape: number[]; offset: number; length: number }[];
  return {
    options: json.options,
    steps: json.steps,
    names: entries.map((e) => e.name),
    shapes: entries.map((e) => e.shape),
    buffers: entries.map((e) => (e.offset < 0 ? null : all.slice(e.offset, e.offset + e.length))),
  };
}
