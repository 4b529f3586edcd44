/**
 * releasingVariableGrads gives tf.variableGrads' value and gradients, leaves no tensor behind, and holds less
 * memory during the backward pass: a node's saved tensors and its outputs' gradients go once its gradient ran.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers';
import { createModel } from '@lm/schemes';
import { beforeAll, describe, expect, it } from 'vitest';
import { seededValues, testSeed } from './helpers/seeded';
import { softmaxCrossEntropy } from '../src/metrics';
import { releasingVariableGrads } from '../src/train/releasing-grads';

const SEED = testSeed('releasing-grads', 11);

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/**
 * Identity whose gradient records the engine's bytes in use when the backward pass reaches it and passes its dy
 * on as is (the same tensor then holds the gradient of its input and of its output).
 */
function probe(seen: number[]): (x: tf.Tensor) => tf.Tensor {
  return tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    save([]);
    return { value: tf.clone(x), gradFunc: (dy: tf.Tensor) => {
      seen.push(tf.memory().numBytes);
      return dy;
    } };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;
}

/** A chain of tanh(x W_i) with a probe after each layer; x and W from the seeded stream. */
function chain(tag: string, depth: number, width: number, seen: number[]) {
  const ws = Array.from({ length: depth }, (_, i) =>
    tf.variable(tf.tensor2d(seededValues(SEED, width * width, i).map((v) => v / Math.sqrt(width)), [width, width]), true, `${tag}${i}`));
  const x = tf.tensor2d(seededValues(SEED, 64 * width, 99), [64, width]);
  const p = probe(seen);
  const f = () => {
    let h: tf.Tensor = x;
    for (const w of ws) h = p(tf.tanh(tf.matMul(h, w)));
    return tf.mean(tf.square(h)) as tf.Scalar;
  };
  return { ws, x, f };
}

describe('releasingVariableGrads', () => {
  it('gives tf.variableGrads\' value and gradients for a zoo model and leaves no tensor behind', () => {
    const model = createModel('lm-resnet20', { numClasses: 10, inputShape: [8, 8, 3], seed: 4 });
    const xs = tf.tensor4d(seededValues(SEED, 2 * 8 * 8 * 3, 1), [2, 8, 8, 3]);
    const ys = tf.oneHot(tf.tensor1d([3, 7], 'int32'), 10);
    const vars = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
    const loss = () => softmaxCrossEntropy(model.apply(xs, { training: true }) as tf.Tensor2D, ys);
    const before = tf.memory().numTensors;
    const reference = tf.variableGrads(loss, vars);
    const afterReference = tf.memory().numTensors;
    const ours = releasingVariableGrads(loss, vars);
    expect(tf.memory().numTensors - afterReference).toBe(afterReference - before);
    expect(ours.value.dataSync()[0]).toBe(reference.value.dataSync()[0]);
    expect(Object.keys(ours.grads).sort()).toEqual(Object.keys(reference.grads).sort());
    for (const v of vars) expect(Array.from(ours.grads[v.name]!.dataSync())).toEqual(Array.from(reference.grads[v.name]!.dataSync()));
    tf.dispose([ours.value, reference.value, ...Object.values(ours.grads), ...Object.values(reference.grads)]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it('holds less memory at the end of the backward pass than tf.variableGrads', () => {
    const depth = 12, width = 96;
    const seenRef: number[] = [], seenOurs: number[] = [];
    const ref = chain('ref', depth, width, seenRef);
    const baseRef = tf.memory().numBytes;
    const r = tf.variableGrads(ref.f, ref.ws);
    const ours = chain('ours', depth, width, seenOurs);
    const baseOurs = tf.memory().numBytes;
    const o = releasingVariableGrads(ours.f, ours.ws);
    expect(seenOurs.length).toBe(depth);
    expect(seenRef.length).toBe(depth);
    for (let i = 0; i < depth; i++) expect(Array.from(o.grads[`ours${i}`]!.dataSync())).toEqual(Array.from(r.grads[`ref${i}`]!.dataSync()));
    // Bytes held beyond the inputs and weights when the backward pass reaches each probe, in layer outputs.
    const layerBytes = 64 * width * 4;
    const heldRef = seenRef.map((b) => (b - baseRef) / layerBytes);
    const heldOurs = seenOurs.map((b) => (b - baseOurs) / layerBytes);
    // tf.variableGrads adds every layer's gradients to what it holds; ours releases a layer's saved output and
    // its gradients as it goes down, so at the last probe (after the first layer) it holds the weights'
    // gradients (1.5 layer outputs each) and a few layer outputs.
    for (let i = 1; i < depth; i++) {
      expect(heldRef[i]!).toBeGreaterThan(heldRef[i - 1]!);
      expect(heldOurs[i]!).toBeLessThan(heldOurs[i - 1]!);
    }
    const weightGrads = ((depth - 1) * width * width * 4) / layerBytes;
    expect(heldOurs.at(-1)! - weightGrads).toBeLessThan(6);
    expect(heldRef.at(-1)! - weightGrads).toBeGreaterThan(2 * depth);
    tf.dispose([r.value, o.value, ...Object.values(r.grads), ...Object.values(o.grads), ref.x, ours.x, ...ref.ws, ...ours.ws]);
  });

  it('frees the tape when a kernel throws in the backward pass', () => {
    const w = tf.variable(tf.ones([4, 4]), true, 'wthrow');
    const failing = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
      save([x]);
      return { value: tf.clone(x), gradFunc: () => { throw new Error('boom in the gradient'); } };
    }) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;
    const before = tf.memory().numTensors;
    expect(() => releasingVariableGrads(() => tf.sum(failing(tf.matMul(w, w))) as tf.Scalar, [w])).toThrow('boom in the gradient');
    expect(tf.memory().numTensors).toBe(before);
    expect((tf.engine() as unknown as { state: { activeTape: unknown } }).state.activeTape).toBeNull();
    w.dispose();
  });

  it('lets a gradient that can add in a held gradient do so (ACCUMULATE_INTO), with the sums tf.variableGrads gives', async () => {
    // y = x + 2·w, whose gradient record also offers the accumulating form: held + dy for x, held + 2·dy for w
    const calls: string[][] = [];
    tf.registerKernel({ kernelName: 'LmTestAxpy', backendName: 'cpu', kernelFunc: ({ inputs, backend }) => {
      const { x, w } = inputs as { x: tf.Tensor; w: tf.Tensor };
      const cpu = backend as unknown as { readSync(id: object): Float32Array; makeTensorInfo(s: number[], d: string, v: Float32Array): tf.TensorInfo };
      const a = cpu.readSync(x.dataId), b = cpu.readSync(w.dataId);
      return cpu.makeTensorInfo([...x.shape], 'float32', a.map((v, i) => v + 2 * b[i]!));
    } });
    const key = Symbol.for('@lm/gradient-accumulate-into');
    tf.registerGradient({ kernelName: 'LmTestAxpy', gradFunc: (dy) => {
      const d = dy as tf.Tensor;
      const thunks = (held: Record<string, tf.Tensor>) => ({ x: () => (held.x ? tf.add(held.x, d) : d.clone()), w: () => (held.w ? tf.add(held.w, tf.mul(d, 2)) : tf.mul(d, 2)) });
      return Object.assign(thunks({}), { [key]: (held: Record<string, tf.Tensor>) => (calls.push(Object.keys(held).sort()), { grads: thunks(held), added: Object.keys(held) }) });
    } });
    const axpy = (x: tf.Tensor, w: tf.Tensor) => tf.engine().runKernel('LmTestAxpy', { x, w }) as tf.Tensor;
    const v = tf.variable(tf.tensor1d(seededValues(SEED, 5, 7)), true, 'axpy_v');
    const u = tf.variable(tf.tensor1d(seededValues(SEED, 5, 8)), true, 'axpy_u');
    // square(v) and tanh(u) come after the axpys on the tape, so their gradients are held when the axpys' run;
    // axpy(v, v) gives one tensor twice: held once, the second input summed by the tape's Add
    const loss = () => tf.add(tf.add(tf.sum(tf.mul(axpy(v, u), axpy(v, v))), tf.sum(tf.square(v))), tf.sum(tf.tanh(u))) as tf.Scalar;
    const reference = tf.variableGrads(loss, [v, u]);
    expect(calls).toEqual([]);
    const before = tf.memory().numTensors;
    const ours = releasingVariableGrads(loss, [v, u]);
    expect(calls).toEqual([['x'], ['w', 'x']]);
    for (const n of ['axpy_v', 'axpy_u']) expect(Array.from(ours.grads[n]!.dataSync())).toEqual(Array.from(reference.grads[n]!.dataSync()));
    tf.dispose([ours.value, ...Object.values(ours.grads)]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([v, u, reference.value, ...Object.values(reference.grads)]);
  });

  it('keeps a held gradient that an accumulating gradient hands back as it is (held + 0)', () => {
    // y = 0·x: its gradient is zero, so its accumulating form may return the held gradient itself
    tf.registerKernel({ kernelName: 'LmTestTimesZero', backendName: 'cpu', kernelFunc: ({ inputs, backend }) => {
      const x = (inputs as { x: tf.Tensor }).x;
      const cpu = backend as unknown as { makeTensorInfo(s: number[], d: string, v: Float32Array): tf.TensorInfo };
      return cpu.makeTensorInfo([...x.shape], 'float32', new Float32Array(x.size));
    } });
    const key = Symbol.for('@lm/gradient-accumulate-into');
    tf.registerGradient({ kernelName: 'LmTestTimesZero', inputsToSave: ['x'], gradFunc: (dy, [x]) =>
      Object.assign({ x: () => tf.zerosLike(x!) }, { [key]: (held: Record<string, tf.Tensor>) => ({ grads: { x: () => held.x! }, added: ['x'] }) }) });
    const v = tf.variable(tf.tensor1d(seededValues(SEED, 4, 9)), true, 'zero_v');
    const loss = () => tf.add(tf.sum(tf.engine().runKernel('LmTestTimesZero', { x: v }) as tf.Tensor), tf.sum(tf.square(v))) as tf.Scalar;
    const reference = tf.variableGrads(loss, [v]);
    const ours = releasingVariableGrads(loss, [v]);
    expect(Array.from(ours.grads.zero_v!.dataSync())).toEqual(Array.from(reference.grads.zero_v!.dataSync()));
    tf.dispose([v, ours.value, reference.value, ...Object.values(ours.grads), ...Object.values(reference.grads)]);
  });
});
