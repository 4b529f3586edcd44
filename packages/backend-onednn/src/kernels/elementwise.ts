/** Element-wise kernels as native loops: broadcasting binary ops, AddN and unary activations (float32 only). */
import { backend_util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';

import { blockedOperands, blockedOutput, runsBlocked } from '../layout';
import { alloc, type Backend, cpuKernel, f32, native, output, size } from '../util';

/** Binary op codes of native/elementwise.cc. */
const BINARY: Record<string, number> = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3, Maximum: 4, Minimum: 5, SquaredDifference: 6 };
/** Unary op codes of native/elementwise.cc. */
const UNARY: Record<string, number> = {
  Relu: 0, Step: 1, Neg: 2, Square: 3, Sqrt: 4, Rsqrt: 5, Exp: 6, Log: 7, Abs: 8, Sigmoid: 9, Relu6: 10, Reciprocal: 11, Tanh: 12,
};

function binaryKernel(name: string): KernelFunc {
  const fallback = cpuKernel(name);
  const op = BINARY[name];
  return (args) => {
    const backend = args.backend as Backend;
    const { a, b } = args.inputs as Record<string, TensorInfo>;
    const outShape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    if (runsBlocked(backend, [a, b])) {
      const [av, bv] = blockedOperands(backend, [a, b]);
      const out = alloc(size(outShape));
      native().binary(op, av!, a.shape, bv!, b.shape, out, outShape);
      return blockedOutput(backend, outShape, out);
    }
    const av = f32(backend, a), bv = f32(backend, b);
    if (!av || !bv) return fallback(args, 'not float32');
    const out = alloc(size(outShape));
    if (out.length > 0) native().binary(op, av, a.shape, bv, b.shape, out, outShape);
    return output(backend, outShape, out);
  };
}

function unaryKernel(name: string): KernelFunc {
  const fallback = cpuKernel(name);
  const op = UNARY[name];
  return (args) => {
    const backend = args.backend as Backend;
    const { x } = args.inputs as Record<string, TensorInfo>;
    const blocked = runsBlocked(backend, [x]);
    const xv = blocked ? blockedOperands(backend, [x])[0] : f32(backend, x);
    if (!xv) return fallback(args, 'not float32');
    const alpha = (args.attrs as { alpha?: number } | undefined)?.alpha ?? 0;
    const out = alloc(xv.length);
    native().unary(op, xv, out, alpha);
    return blocked ? blockedOutput(backend, [...x.shape], out) : output(backend, [...x.shape], out);
  };
}

function addN(): KernelFunc {
  const fallback = cpuKernel('AddN');
  return (args) => {
    const backend = args.backend as Backend;
    const tensors = args.inputs as unknown as TensorInfo[];
    const shape = tensors[0]?.shape;
    if (tensors.length < 2) return fallback(args, 'single input');
    if (tensors.some((t) => t.dtype !== 'float32')) return fallback(args, 'not float32');
    if (tensors.some((t) => t.shape.join() !== shape.join())) return fallback(args, 'shapes differ');
    const blocked = runsBlocked(backend, tensors);
    const vals = blocked ? blockedOperands(backend, tensors) : tensors.map((t) => f32(backend, t));
    if (vals.some((v) => !v)) return fallback(args, 'not float32');
    const out = alloc(vals[0]!.length);
    native().binary(BINARY.Add, vals[0]!, shape, vals[1]!, shape, out, shape);
    for (let i = 2; i < vals.length; i++) native().binary(BINARY.Add, out, shape, vals[i]!, shape, out, shape);
    return blocked ? blockedOutput(backend, [...shape], out) : output(backend, [...shape], out);
  };
}

export function elementwiseKernels(): Array<Omit<KernelConfig, 'backendName'>> {
  return [
    ...Object.keys(BINARY).map((k) => ({ kernelName: k, kernelFunc: binaryKernel(k) })),
    ...Object.keys(UNARY).map((k) => ({ kernelName: k, kernelFunc: unaryKernel(k) })),
    { kernelName: 'AddN', kernelFunc: addN() },
  ];
}
