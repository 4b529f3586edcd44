/** Reductions over any axes (Sum, Mean, Max, Min) as native loops on float32. */
import { backend_util, type KernelConfig, type KernelFunc, type TensorInfo, util } from '@tensorflow/tfjs-core';

import { alloc, type Backend, cpuKernel, f32, native, output, size } from '../util';

const OPS: Record<string, number> = { Sum: 0, Mean: 1, Max: 2, Min: 3 };

function reductionKernel(name: string): KernelFunc {
  const fallback = cpuKernel(name);
  const op = OPS[name];
  return (args) => {
    const backend = args.backend as Backend;
    const { x } = args.inputs as Record<string, TensorInfo>;
    const attrs = args.attrs as Record<string, any>;
    const xv = f32(backend, x);
    const axisAttr = name === 'Max' ? attrs.reductionIndices : attrs.axis;
    if (!xv) return fallback(args, 'not float32');
    if (xv.length === 0 || x.shape.length === 0) return fallback(args, 'empty or scalar');
    const axes = util.parseAxisParam(axisAttr, x.shape);
    if (axes.length === 0) return fallback(args, 'no axes');
    const [outShape] = backend_util.computeOutAndReduceShapes(x.shape, axes);
    const out = alloc(size(outShape));
    native().reduce(op, xv, x.shape, axes, out);
    const shape = attrs.keepDims ? backend_util.expandShapeToKeepDim(outShape, axes) : outShape;
    return output(backend, shape, out);
  };
}

export function reductionKernels(): Array<Omit<KernelConfig, 'backendName'>> {
  return Object.keys(OPS).map((k) => ({ kernelName: k, kernelFunc: reductionKernel(k) }));
}
