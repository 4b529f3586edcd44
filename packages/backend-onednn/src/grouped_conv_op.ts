/**
 * Grouped 2-D convolution as one oneDNN primitive (ResNeXt's aggregated transformations), shared with
 * @lm/core-blocks (kernel names are the contract; this package keeps its own copy of the strings):
 *   LmConv2DGrouped               inputs {x, filter}, attrs {strides, pad, groups}              -> y
 *   LmConv2DGroupedBackpropInput  inputs {dy, filter}, attrs {strides, pad, groups, inputShape} -> dx
 *   LmConv2DGroupedBackpropFilter inputs {x, dy}, attrs {strides, pad, groups, filterShape}     -> dfilter
 * x is NHWC [N, H, W, C]; filter is [kh, kw, C/groups, F] and output channel g·(F/groups) + o sees only the input
 * channels [g·C/groups, (g+1)·C/groups), i.e. split/conv2d/concat over `groups` channel slices. pad is 'same'
 * (TF's arithmetic, as tf.conv2d) or 'valid'. Registered for `onednn` only, with the gradient of LmConv2DGrouped;
 * inputs whose data is not float32 run that split/conv2d/concat on the cpu kernels.
 */
import {
  backend_util,
  engine,
  type KernelFunc,
  type NamedTensorInfoMap,
  registerGradient,
  registerKernel,
  type Tensor,
  type TensorInfo,
} from '@tensorflow/tfjs-core';

import { counted } from './coverage';
import { convBlock, convParams, withBlock } from './kernels/conv';
import { asBlocked, blockedOutput, forwardBlocks } from './layout';
import { alloc, type Backend, cpuKernel, f32, native, output, size } from './util';

export const GROUPED_CONV2D = 'LmConv2DGrouped';
export const GROUPED_CONV2D_BACKPROP_INPUT = 'LmConv2DGroupedBackpropInput';
export const GROUPED_CONV2D_BACKPROP_FILTER = 'LmConv2DGroupedBackpropFilter';

type Shape4 = [number, number, number, number];

interface GroupedAttrs {
  strides: number | [number, number];
  pad: 'same' | 'valid';
  groups: number;
}

/** Checks the shapes against the contract (clear errors naming the kernel) and returns tfjs' convolution geometry. */
function geometry(kernel: string, xShape: readonly number[], filterShape: readonly number[], a: GroupedAttrs): backend_util.Conv2DInfo {
  const { groups, pad } = a;
  if (xShape?.length !== 4) throw new Error(`${kernel}: x (attr inputShape of the input gradient) must be NHWC 4-D, got [${xShape}]`);
  if (filterShape?.length !== 4) {
    throw new Error(`${kernel}: filter (attr filterShape of the filter gradient) must be 4-D [kh, kw, C/groups, F], got [${filterShape}]`);
  }
  if (!Number.isInteger(groups) || groups < 1) throw new Error(`${kernel}: attr groups must be a positive integer, got ${groups}`);
  if (pad !== 'same' && pad !== 'valid') throw new Error(`${kernel}: attr pad must be 'same' or 'valid', got ${JSON.stringify(pad)}`);
  const c = xShape[3]!, f = filterShape[3]!;
  if (c % groups !== 0 || filterShape[2]! * groups !== c) {
    throw new Error(`${kernel}: x has ${c} channels, which must be groups (${groups}) × the filter's input channels (${filterShape[2]})`);
  }
  if (f % groups !== 0) throw new Error(`${kernel}: the filter's ${f} output channels must be divisible by groups (${groups})`);
  return backend_util.computeConv2DInfo([...xShape] as Shape4, [...filterShape] as Shape4, a.strides, 1, pad, undefined, false, 'channelsLast');
}

/** A gradient kernel's dy must have the forward output's shape (the native call reads exactly that many values). */
function checkDy(kernel: string, dy: TensorInfo, ci: backend_util.Conv2DInfo): void {
  if (dy.shape.length !== 4 || dy.shape.some((d, i) => d !== ci.outShape[i])) {
    throw new Error(`${kernel}: dy has shape [${dy.shape}], the convolution's output has [${ci.outShape}]`);
  }
}

/**
 * A grouped kernel composed on cpu kernels, for inputs the native one does not take: both inputs split into
 * `groups` slices along the channel axis, the cpu kernel `kernel` on each pair (with `attrs`), the results
 * concatenated along the channel axis. The call is counted as a fallback with `reason` (coverage.ts).
 */
function composedOnCpu(kernel: string, names: [string, string]) {
  const split = cpuKernel('SplitV'), run = cpuKernel(kernel), concat = cpuKernel('Concat');
  return (backend: Backend, inputs: [TensorInfo, TensorInfo], a: GroupedAttrs, attrs: Record<string, unknown>, reason: string): TensorInfo => {
    const parts = inputs.map((t) => split({ inputs: { x: t }, backend, attrs: { numOrSizeSplits: a.groups, axis: 3 } }, reason) as TensorInfo[]);
    const convAttrs = { ...attrs, strides: a.strides, pad: a.pad, dataFormat: 'NHWC', dilations: 1 };
    const ys = parts[0]!.map((p, g) => run({ inputs: { [names[0]]: p, [names[1]]: parts[1]![g]! }, backend, attrs: convAttrs }, reason) as TensorInfo);
    const y = concat({ inputs: ys as unknown as NamedTensorInfoMap, backend, attrs: { axis: 3 } }, reason) as TensorInfo;
    for (const t of [...parts.flat(), ...ys]) backend.disposeIntermediateTensorInfo(t);
    return y;
  };
}

/** One direction of the grouped convolution: how its inputs map onto the convolution and onto native/conv.cc. */
interface Direction {
  kernel: string;
  /** The two inputs, in the order of the native call and of the cpu kernel that does one group. */
  inputs: [string, string];
  cpuKernel: string;
  /** Shapes of the convolution's x and filter, from the inputs and attrs. */
  convShapes(t: [TensorInfo, TensorInfo], a: Record<string, any>): [readonly number[], readonly number[]];
  /** Which inputs are activations (x or dy), and whether the output is one (not the filter's gradient). */
  activations: number[];
  activationOut: boolean;
  /** The forward pass: blocked only while a gradient tape records (layout.ts forwardBlocks). */
  forward?: true;
  /** Which input is dy (gradient kernels), checked against the convolution's output shape. */
  dy?: 0 | 1;
  outShape(ci: backend_util.Conv2DInfo, a: Record<string, any>): number[];
  /** Attrs of the cpu kernel for one group, besides strides/pad. */
  groupAttrs(a: Record<string, any>): Record<string, unknown>;
  run(a: Float32Array, b: Float32Array, out: Float32Array, params: number[]): void;
  /**
   * Whether native/conv.cc runs it one group at a time on contiguous copies (plain primitives) rather than as one
   * grouped primitive (supported for the filter gradient). Measured at ResNeXt-29 8x64d's shapes (batch 32,
   * 2 threads): the filter gradient is 1.2-1.6x faster per group; the forward pass and the input gradient are as
   * fast or faster grouped.
   */
  perGroup?: boolean;
}

/** Channels per group below which per-group copies cost more than they save (one AVX2 register of floats). */
const PER_GROUP_MIN_CHANNELS = 8;

function groupedKernel(d: Direction): KernelFunc {
  const composed = composedOnCpu(d.cpuKernel, d.inputs);
  return (args) => {
    const backend = args.backend as Backend;
    const named = args.inputs as Record<string, TensorInfo>;
    const t = d.inputs.map((n) => named[n]!) as [TensorInfo, TensorInfo];
    const a = args.attrs as unknown as GroupedAttrs & Record<string, any>;
    const ci = geometry(d.kernel, ...d.convShapes(t, a), a);
    if (d.dy !== undefined) checkDy(d.kernel, t[d.dy], ci);
    if (t[0].dtype !== 'float32' || t[1].dtype !== 'float32') return composed(backend, t, a, d.groupAttrs(a), 'not float32');
    // blocked activations (layout.ts) run as one grouped primitive: at ResNeXt-29's shapes it is as fast as the
    // per-group copies (stage 1) or faster (stages 2 and 3, ~2x) in every direction
    const block = d.forward && !forwardBlocks() ? 0 : convBlock(ci, a.groups);
    const [v0, v1] = t.map((x, i) => (block && d.activations.includes(i) ? asBlocked(backend, x) : f32(backend, x)));
    if (!v0 || !v1) return composed(backend, t, a, d.groupAttrs(a), 'not float32');
    const shape = d.outShape(ci, a);
    const out = alloc(size(shape));
    const params = convParams(ci, a.groups);
    if (d.perGroup && ci.inChannels / a.groups >= PER_GROUP_MIN_CHANNELS) params.push(1);
    d.run(v0, v1, out, withBlock(params, block));
    return block && d.activationOut ? blockedOutput(backend, shape, out) : output(backend, shape, out);
  };
}

const forward: Direction = {
  kernel: GROUPED_CONV2D,
  inputs: ['x', 'filter'],
  activations: [0],
  activationOut: true,
  forward: true,
  cpuKernel: 'Conv2D',
  convShapes: ([x, filter]) => [x.shape, filter.shape],
  outShape: (ci) => ci.outShape,
  groupAttrs: () => ({}),
  run: (x, w, y, p) => native().conv2dForward(x, w, null, y, p, 0, 0),
};

const backpropInput: Direction = {
  kernel: GROUPED_CONV2D_BACKPROP_INPUT,
  inputs: ['dy', 'filter'],
  activations: [0],
  activationOut: true,
  cpuKernel: 'Conv2DBackpropInput',
  convShapes: ([, filter], a) => [a.inputShape, filter.shape],
  dy: 0,
  outShape: (_, a) => [...a.inputShape],
  groupAttrs: (a) => ({ inputShape: [...a.inputShape.slice(0, 3), a.inputShape[3] / a.groups] }),
  run: (dy, w, dx, p) => native().conv2dBackpropInput(dy, w, dx, p),
};

const backpropFilter: Direction = {
  kernel: GROUPED_CONV2D_BACKPROP_FILTER,
  inputs: ['x', 'dy'],
  activations: [0, 1],
  activationOut: false,
  cpuKernel: 'Conv2DBackpropFilter',
  convShapes: ([x], a) => [x.shape, a.filterShape],
  dy: 1,
  outShape: (_, a) => [...a.filterShape],
  groupAttrs: (a) => ({ filterShape: [...a.filterShape.slice(0, 3), a.filterShape[3] / a.groups] }),
  run: (x, dy, dw, p) => native().conv2dBackpropFilter(x, dy, dw, p),
  perGroup: true,
};

let registered = false;

/** Registers the three kernels for `onednn` (counted for native coverage) and the gradient of LmConv2DGrouped. Idempotent. */
export function registerGroupedConv2D(): void {
  if (registered) return;
  registered = true;
  for (const d of [forward, backpropInput, backpropFilter]) {
    registerKernel({ kernelName: d.kernel, backendName: 'onednn', kernelFunc: counted(d.kernel, groupedKernel(d)) });
  }
  registerGradient({
    kernelName: GROUPED_CONV2D,
    inputsToSave: ['x', 'filter'],
    gradFunc: (dys: Tensor | Tensor[], saved: Tensor[], attrs) => {
      const dy = Array.isArray(dys) ? dys[0]! : dys;
      const [x, filter] = saved as [Tensor, Tensor];
      const { strides, pad, groups } = attrs as unknown as GroupedAttrs;
      const a = { strides, pad, groups };
      return {
        x: () => engine().runKernel(GROUPED_CONV2D_BACKPROP_INPUT, { dy, filter }, { ...a, inputShape: x.shape }) as Tensor,
        filter: () => engine().runKernel(GROUPED_CONV2D_BACKPROP_FILTER, { x, dy }, { ...a, filterShape: filter.shape }) as Tensor,
      };
    },
  });
}
