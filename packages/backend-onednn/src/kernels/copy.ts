/**
 * Data movement on float32/int32 as native strided copies: non-contiguous Slice, SplitV (grouped convolutions
 * composed from stock ops split channels), Concat and constant PadV2.
 */
import { backend_util, type DataType, type KernelConfig, type KernelFunc, slice_util, type TensorInfo, util } from '@tensorflow/tfjs-core';

import { ZERO_COPY_VIEW } from '../coverage';
import { alloc, type Backend, cpuKernel, native, size } from '../util';

type Words = Float32Array | Int32Array;

function words(backend: Backend, t: TensorInfo): Words | undefined {
  if (t.dtype !== 'float32' && t.dtype !== 'int32') return undefined;
  const v = backend.data.get(t.dataId).values;
  return v instanceof Float32Array || v instanceof Int32Array ? v : undefined;
}

/** util's uninitialized allocation, viewed as int32 for int32 tensors. */
function allocLike(dtype: DataType, n: number): Words {
  const v = alloc(n);
  return dtype === 'int32' ? new Int32Array(v.buffer, v.byteOffset, n) : v;
}

function sliceKernel(): KernelFunc {
  const fallback = cpuKernel('Slice');
  return (args) => {
    const backend = args.backend as Backend;
    const { x } = args.inputs as Record<string, TensorInfo>;
    const a = args.attrs as { begin: number | number[]; size?: number | number[] };
    const xv = words(backend, x);
    if (!xv) return fallback(args, 'not float32/int32');
    if (x.shape.length === 0) return fallback(args, 'scalar');
    const [begin, sz] = slice_util.parseSliceParams(x as never, a.begin, a.size);
    slice_util.assertParamsValid(x as never, begin, sz);
    // Contiguous slices are zero-copy views in the cpu kernel: keep those.
    if (size(sz) === 0 || slice_util.isSliceContinous(x.shape, begin, sz)) return fallback(args, ZERO_COPY_VIEW);
    const out = allocLike(x.dtype, size(sz));
    native().slice(xv, x.shape, begin, sz, out);
    return backend.makeTensorInfo(sz, x.dtype, out);
  };
}

function padKernel(): KernelFunc {
  const fallback = cpuKernel('PadV2');
  return (args) => {
    const backend = args.backend as Backend;
    const { x } = args.inputs as Record<string, TensorInfo>;
    const a = args.attrs as { paddings: Array<[number, number]>; constantValue: number };
    const xv = words(backend, x);
    if (!xv) return fallback(args, 'not float32/int32');
    if (x.shape.length === 0) return fallback(args, 'scalar');
    if (a.paddings.some(([p, q]) => p < 0 || q < 0)) return fallback(args, 'negative padding');
    const outShape = x.shape.map((d, i) => a.paddings[i][0] + d + a.paddings[i][1]);
    const out = allocLike(x.dtype, size(outShape));
    const bits = x.dtype === 'int32' ? (a.constantValue | 0) >>> 0 : new Uint32Array(new Float32Array([a.constantValue]).buffer)[0];
    native().pad(xv, x.shape, a.paddings.map((p) => p[0]), out, outShape, bits);
    return backend.makeTensorInfo(outShape, x.dtype, out);
  };
}

function splitKernel(): KernelFunc {
  const fallback = cpuKernel('SplitV');
  return (args) => {
    const backend = args.backend as Backend;
    const { x } = args.inputs as Record<string, TensorInfo>;
    const a = args.attrs as { numOrSizeSplits: number | number[]; axis: number };
    const xv = words(backend, x);
    if (!xv) return fallback(args, 'not float32/int32');
    if (x.shape.length === 0) return fallback(args, 'scalar');
    const axis = util.parseAxisParam(a.axis, x.shape)[0];
    // Splits along the outermost non-trivial axis are contiguous views in the cpu kernel.
    if (x.shape.slice(0, axis).every((d) => d === 1)) return fallback(args, ZERO_COPY_VIEW);
    const sizes = backend_util.prepareSplitSize(x as never, a.numOrSizeSplits, axis);
    const begin = new Array<number>(x.shape.length).fill(0);
    return sizes.map((s) => {
      const sz = [...x.shape];
      sz[axis] = s;
      const out = allocLike(x.dtype, size(sz));
      if (size(sz) > 0) native().slice(xv, x.shape, begin, sz, out);
      begin[axis] += s;
      return backend.makeTensorInfo(sz, x.dtype, out);
    });
  };
}

function concatKernel(): KernelFunc {
  const fallback = cpuKernel('Concat');
  return (args) => {
    const backend = args.backend as Backend;
    const tensors = args.inputs as unknown as TensorInfo[];
    const a = args.attrs as { axis: number | number[] };
    if (tensors.length < 2) return fallback(args, 'single input');
    const dtype = tensors[0].dtype;
    const vals = tensors.map((t) => (t.dtype === dtype ? words(backend, t) : undefined));
    if (vals.some((v) => !v)) return fallback(args, 'not float32/int32 or mixed dtypes');
    if (tensors[0].shape.length === 0) return fallback(args, 'scalar');
    const axis = util.parseAxisParam(a.axis, tensors[0].shape)[0];
    backend_util.assertParamsConsistent(tensors.map((t) => t.shape), axis);
    const outShape = backend_util.computeOutShape(tensors.map((t) => t.shape), axis);
    const out = allocLike(dtype, size(outShape));
    const at = new Array<number>(outShape.length).fill(0);
    tensors.forEach((t, i) => {
      native().place(vals[i]!, t.shape, out, outShape, at);
      at[axis] += t.shape[axis];
    });
    return backend.makeTensorInfo(outShape, dtype, out);
  };
}

export function copyKernels(): Array<Omit<KernelConfig, 'backendName'>> {
  return [
    { kernelName: 'Slice', kernelFunc: sliceKernel() },
    { kernelName: 'PadV2', kernelFunc: padKernel() },
    { kernelName: 'SplitV', kernelFunc: splitKernel() },
    { kernelName: 'Concat', kernelFunc: concatKernel() },
  ];
}
