import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyReleasing, WeightedSum, weightedSum } from '../src/index';
import { useCpu } from './setup-backend';

/**
 * Returns its input (tfjs-layers' apply hands a clone on) and records how many data buffers the backend holds when
 * it runs (tf.memory().numBytes counts tensors, so a saved clone would count twice; buffers count once).
 */
class BuffersProbe extends tfl.layers.Layer {
  static className = 'TestBuffersProbe';
  buffers = 0;
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    this.buffers = tf.memory().numDataBuffers;
    return Array.isArray(inputs) ? inputs[0]! : inputs;
  }
}

const N = 4096;

/**
 * dense → four weighted sums h + h/2 (whose gradient keeps no input) → a linear activation read twice by a
 * weighted sum with the dense output (fan-out) → a nested model (relu, sum with its input) → the probe; two
 * outputs (the probe's and the dense's).
 */
function model(): { model: tfl.LayersModel; probe: BuffersProbe } {
  const nin = tfl.input({ shape: [N / 8], name: 'nested_in' });
  const nr = tfl.layers.activation({ activation: 'relu', name: 'n_relu' }).apply(nin) as tfl.SymbolicTensor;
  const nsum = new WeightedSum({ coefficients: [1, 0.5], name: 'n_sum' }).apply([nin, nr]) as tfl.SymbolicTensor;
  const nested = tfl.model({ inputs: nin, outputs: nsum, name: 'nested' });

  const x = tfl.input({ shape: [16], name: 'x' });
  const dense = tfl.layers.dense({ units: N / 8, name: 'dense', kernelInitializer: tfl.initializers.glorotNormal({ seed: 3 }) });
  const d = dense.apply(x) as tfl.SymbolicTensor;
  let h = d;
  for (let i = 0; i < 4; i++) h = new WeightedSum({ coefficients: [1, 0.5], name: `h${i}` }).apply([h, h]) as tfl.SymbolicTensor;
  const alias = tfl.layers.activation({ activation: 'linear', name: 'alias' }).apply(h) as tfl.SymbolicTensor;
  const sum = new WeightedSum({ coefficients: [1, 2, -1], name: 'sum' }).apply([alias, d, alias]) as tfl.SymbolicTensor;
  const probe = new BuffersProbe({ name: 'probe' });
  const out = probe.apply(nested.apply(sum)) as tfl.SymbolicTensor;
  return { model: tfl.model({ inputs: x, outputs: [out, d], name: 'releasing' }), probe };
}

describe('applyReleasing', () => {
  beforeAll(useCpu);

  it('gives model.apply’s outputs and gradients, leaves no tensor behind and keeps the caller’s input', () => {
    const { model: m } = model();
    const x = tf.randomNormal([8, 16], 0, 1, 'float32', 5);
    const loss = (run: () => tf.Tensor[]) => () => {
      const [a, b] = run();
      return tf.add(tf.sum(tf.square(a!)), tf.sum(b!)) as tf.Scalar;
    };
    const vars = m.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
    const expected = tf.variableGrads(
      loss(() => m.apply(x, { training: true }) as tf.Tensor[]),
      vars,
    );
    const before = tf.memory().numTensors;
    const got = tf.variableGrads(
      loss(() => applyReleasing(m, x, { training: true }) as tf.Tensor[]),
      vars,
    );
    expect(got.value.dataSync()[0]).toBeCloseTo(expected.value.dataSync()[0]!, 3);
    for (const v of vars) {
      const [g, e] = [got.grads[v.name]!, expected.grads[v.name]!];
      expect(
        tf.tidy(() => tf.max(tf.abs(tf.sub(g, e))).dataSync()[0]),
        v.name,
      ).toBeLessThan(1e-5);
    }
    tf.dispose([got.value, ...Object.values(got.grads)]);
    expect(tf.memory().numTensors).toBe(before);
    expect(x.isDisposed).toBe(false);
    tf.dispose([x, expected.value, ...Object.values(expected.grads)]);
  });

  it('frees each intermediate after its last reader: the chain of sums is gone when the last layer runs', () => {
    const { model: m, probe } = model();
    const x = tf.randomNormal([8, 16], 0, 1, 'float32', 6);
    const buffersAtProbe = (run: () => tf.Tensor | tf.Tensor[]) => {
      const base = tf.memory().numDataBuffers;
      tf.tidy(() => {
        tf.variableGrads(
          () => tf.sum((run() as tf.Tensor[])[0]!) as tf.Scalar,
          m.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val),
        );
      });
      return probe.buffers - base;
    };
    const kept = buffersAtProbe(() => m.apply(x, { training: true }) as tf.Tensor[]);
    const released = buffersAtProbe(() => applyReleasing(m, x, { training: true }));
    // no gradient needs h0..h3 (the linear activation's output shares h3's buffer; it goes after the sum, its
    // last reader): four buffers fewer
    expect(kept - released, `buffers at the probe: model.apply ${kept}, applyReleasing ${released}`).toBeGreaterThanOrEqual(4);
    x.dispose();
  });

  it('says which model and how many inputs when the inputs do not match', () => {
    const { model: m } = model();
    expect(() => applyReleasing(m, [tf.zeros([1, 16]), tf.zeros([1, 16])])).toThrow(/model 'releasing' takes 1 input\(s\), got 2/);
  });
});

describe('weightedSum', () => {
  beforeAll(useCpu);

  it('has the gradient c_i · dy and keeps none of its inputs for it', () => {
    const a = tf.randomNormal([3, 5], 0, 1, 'float32', 1),
      b = tf.randomNormal([3, 5], 0, 1, 'float32', 2);
    const w = tf.randomNormal([3, 5], 0, 1, 'float32', 3);
    let freed = 0;
    const [ga, gb] = tf.grads((p: tf.Tensor, q: tf.Tensor) => {
      // fresh inputs made inside the pass and disposed at once (as applyReleasing does): only a saved clone could
      // keep their bytes (tf.mul keeps its inputs p and q, not its output)
      const x = tf.mul(p, 1.5),
        y = tf.mul(q, -1);
      const sum = weightedSum([x, y], [1, 0.25]);
      const before = tf.memory().numDataBuffers;
      tf.dispose([x, y]);
      freed = before - tf.memory().numDataBuffers;
      return tf.sum(tf.mul(sum, w));
    })([a, b]);
    expect(freed).toBe(2);
    expect(Array.from(ga!.dataSync())).toEqual(Array.from(tf.mul(w, 1.5).dataSync()));
    expect(Array.from(gb!.dataSync())).toEqual(Array.from(tf.mul(w, -0.25).dataSync()));
    tf.dispose([a, b, w, ga!, gb!]);
  });

  it('broadcasts inputs of different shapes as tf.add does', () => {
    const a = tf.ones([2, 3]),
      b = tf.tensor1d([1, 2, 3]);
    expect(Array.from(weightedSum([a, b], [2, 1]).dataSync())).toEqual([3, 4, 5, 3, 4, 5]);
    const [ga, gb] = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(weightedSum([p, q], [2, 1])))([a, b]);
    expect(Array.from(ga!.dataSync())).toEqual([2, 2, 2, 2, 2, 2]);
    expect(Array.from(gb!.dataSync())).toEqual([2, 2, 2]);
  });
});
