/**
 * How far a cpu run keeps every ReLU input from the kink at 0. Where a pre-activation lies within rounding of 0,
 * the last bit decides the ReLU's mask, so two correct backends (or two summation orders) may disagree on the
 * gradient by a whole element's contribution; comparing gradients across backends needs a margin above rounding.
 */
import * as tf from '@tensorflow/tfjs-core';

type Values = Float32Array;

/** Each ReLU input's smallest |value| over its largest |value| (1 when a tensor is all zero). */
function margin(pre: ArrayLike<number>): number {
  let lo = Infinity, hi = 0;
  for (let i = 0; i < pre.length; i++) {
    const a = Math.abs(pre[i]!);
    if (a < lo) lo = a;
    if (a > hi) hi = a;
  }
  return hi > 0 ? lo / hi : 1;
}

/** The pre-activations of an LmBatchNormReluTrain call: (x − mean)·scale/√(variance + ε) + offset per channel. */
function batchNormPre(x: Values, mean: Values, variance: Values, scale: Values, offset: Values, eps: number): Float32Array {
  const C = scale.length;
  return x.map((v, i) => ((v - mean[i % C]!) * scale[i % C]!) / Math.sqrt(variance[i % C]! + eps) + offset[i % C]!);
}

/**
 * Runs `fn` on cpu with its Relu and LmBatchNormReluTrain kernels watched, and returns fn's result with the
 * smallest ReLU margin seen. The kernels are restored afterwards.
 */
export function withReluMargin<T>(fn: () => T): { result: T; margin: number } {
  let smallest = 1;
  const restore: tf.KernelConfig[] = [];
  const watch = (name: string, pre: (args: Parameters<tf.KernelFunc>[0], out: tf.TensorInfo[]) => ArrayLike<number>) => {
    const config = tf.getKernel(name, 'cpu');
    if (!config) return;
    restore.push(config);
    tf.unregisterKernel(name, 'cpu');
    tf.registerKernel({
      ...config,
      kernelFunc: (args) => {
        const out = config.kernelFunc(args);
        smallest = Math.min(smallest, margin(pre(args, Array.isArray(out) ? out : [out])));
        return out;
      },
    });
  };
  const read = (args: Parameters<tf.KernelFunc>[0], t: tf.TensorInfo) => (args.backend as unknown as { data: { get(id: object): { values: Values } } }).data.get(t.dataId).values;
  watch('Relu', (args) => read(args, args.inputs.x as tf.TensorInfo));
  watch('LmBatchNormReluTrain', (args, out) => {
    const { x, scale, offset } = args.inputs as Record<string, tf.TensorInfo>;
    return batchNormPre(read(args, x!), read(args, out[1]!), read(args, out[2]!), read(args, scale!), read(args, offset!), (args.attrs as { epsilon: number }).epsilon);
  });
  try {
    return { result: fn(), margin: smallest };
  } finally {
    for (const config of restore) {
      tf.unregisterKernel(config.kernelName, 'cpu');
      tf.registerKernel(config);
    }
  }
}
