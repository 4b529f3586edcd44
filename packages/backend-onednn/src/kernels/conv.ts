/** Convolution kernels (NHWC): Conv2D, its two gradients, FusedConv2D and the depthwise family. */
import { backend_util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';

import { activationBlock, asBlocked, blockable, blockedOutput, forwardBlocks } from '../layout';
import { activationCode, alloc, type Backend, cpuKernel, f32, lastAxisVector, native, output, size, trailingPad } from '../util';

type ConvInfo = backend_util.Conv2DInfo;

/**
 * The 18 shape parameters of native/conv.cc, with the right/bottom padding made consistent for oneDNN; the last is
 * the number of channel groups (1: plain, inChannels: depthwise). An optional 19th, 1, runs a grouped filter gradient
 * one group at a time.
 */
export function convParams(ci: ConvInfo, groups: number): number[] {
  const { padInfo } = ci;
  const pb = trailingPad(ci.inHeight, ci.outHeight, ci.strideHeight, ci.effectiveFilterHeight, padInfo.top, padInfo.bottom);
  const pr = trailingPad(ci.inWidth, ci.outWidth, ci.strideWidth, ci.effectiveFilterWidth, padInfo.left, padInfo.right);
  return [
    ci.batchSize, ci.inHeight, ci.inWidth, ci.inChannels,
    ci.outHeight, ci.outWidth, ci.outChannels,
    ci.filterHeight, ci.filterWidth, ci.strideHeight, ci.strideWidth, ci.dilationHeight, ci.dilationWidth,
    padInfo.top, padInfo.left, pb, pr, groups,
  ];
}

const channelsLast = (f: string | undefined) => f === undefined || f === 'NHWC' || f === 'channelsLast';
/** The channel groups of a plain (1) or depthwise (one per input channel) convolution. */
const groupsOf = (ci: ConvInfo, depthwise: boolean) => (depthwise ? ci.inChannels : 1);

type Shape4 = [number, number, number, number];

/**
 * The channel block a convolution of `groups` groups runs its activations in (layout.ts) when the input and
 * output channels of each group are multiples of it; 0 (NHWC) otherwise, e.g. a stem on 3 channels (oneDNN has
 * no fast kernel that mixes the two layouts) or a depthwise convolution.
 */
export function convBlock(ci: ConvInfo, groups: number): number {
  const b = activationBlock();
  const fits = (ci.inChannels / groups) % b === 0 && (ci.outChannels / groups) % b === 0;
  return b > 0 && fits && blockable([ci.batchSize, ci.inHeight, ci.inWidth, ci.inChannels]) && blockable(ci.outShape) ? b : 0;
}
const blockOf = (ci: ConvInfo, depthwise: boolean) => (depthwise ? 0 : convBlock(ci, 1));
/** native/conv.cc's parameters with the block at index 19 (index 18: the per-group flag, which a blocked run ignores). */
export const withBlock = (p: number[], block: number) => (block ? [...p.slice(0, 18), 0, block] : p);

/** tfjs' convolution geometry (output shape, padding) from a kernel's attributes, always NHWC. */
function convInfo(xShape: number[], filterShape: number[], a: Record<string, any>, depthwise: boolean) {
  return backend_util.computeConv2DInfo(xShape as Shape4, filterShape as Shape4, a.strides, a.dilations ?? 1, a.pad,
    a.dimRoundingMode, depthwise, 'channelsLast');
}

function convForward(name: string, depthwise: boolean, fused: boolean): KernelFunc {
  const fallback = cpuKernel(name);
  return (args) => {
    const backend = args.backend as Backend;
    const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>;
    const a = args.attrs as Record<string, any>;
    const ws = f32(backend, filter!);
    const act = activationCode(fused ? a.activation : 'linear');
    if (x!.dtype !== 'float32' || !ws) return fallback(args, 'not float32');
    if (!channelsLast(a.dataFormat)) return fallback(args, 'NCHW');
    if (act < 0 || preluActivationWeights) return fallback(args, `activation ${a.activation}`);
    if (x!.shape.length !== 4) return fallback(args, 'not 4-D');
    const ci = convInfo(x!.shape, filter!.shape, a, depthwise);
    // Only a per-output-channel bias maps onto oneDNN's bias; other broadcast shapes fall back.
    const bs = bias ? lastAxisVector(backend, bias, ci.outChannels) : null;
    if (bs === undefined) return fallback(args, 'bias not per output channel');
    const block = forwardBlocks() ? blockOf(ci, depthwise) : 0;
    const xs = block ? asBlocked(backend, x!) : f32(backend, x!);
    if (!xs) return fallback(args, 'not float32');
    const y = alloc(size(ci.outShape));
    native().conv2dForward(xs, ws, bs, y, withBlock(convParams(ci, groupsOf(ci, depthwise)), block), act, a.leakyreluAlpha ?? 0.2);
    return block ? blockedOutput(backend, ci.outShape, y) : output(backend, ci.outShape, y);
  };
}

function convBackpropInput(name: string, depthwise: boolean): KernelFunc {
  const fallback = cpuKernel(name);
  return (args) => {
    const backend = args.backend as Backend;
    const { dy, filter } = args.inputs as Record<string, TensorInfo>;
    const a = args.attrs as Record<string, any>;
    const ws = f32(backend, filter);
    if (dy.dtype !== 'float32' || !ws) return fallback(args, 'not float32');
    if (!channelsLast(a.dataFormat)) return fallback(args, 'NCHW');
    const inputShape = a.inputShape as [number, number, number, number];
    const ci = convInfo(inputShape, filter.shape, a, depthwise);
    const block = blockOf(ci, depthwise);
    const dys = block ? asBlocked(backend, dy) : f32(backend, dy);
    if (!dys) return fallback(args, 'not float32');
    const dx = alloc(size(inputShape));
    native().conv2dBackpropInput(dys, ws, dx, withBlock(convParams(ci, groupsOf(ci, depthwise)), block));
    return block ? blockedOutput(backend, [...inputShape], dx) : output(backend, [...inputShape], dx);
  };
}

function convBackpropFilter(name: string, depthwise: boolean): KernelFunc {
  const fallback = cpuKernel(name);
  return (args) => {
    const backend = args.backend as Backend;
    const { x, dy } = args.inputs as Record<string, TensorInfo>;
    const a = args.attrs as Record<string, any>;
    if (x.dtype !== 'float32' || dy.dtype !== 'float32') return fallback(args, 'not float32');
    if (!channelsLast(a.dataFormat)) return fallback(args, 'NCHW');
    const filterShape = a.filterShape as [number, number, number, number];
    const ci = convInfo(x.shape, filterShape, a, depthwise);
    const block = blockOf(ci, depthwise);
    const xs = block ? asBlocked(backend, x) : f32(backend, x), dys = block ? asBlocked(backend, dy) : f32(backend, dy);
    if (!xs || !dys) return fallback(args, 'not float32');
    const dw = alloc(size(filterShape));
    native().conv2dBackpropFilter(xs, dys, dw, withBlock(convParams(ci, groupsOf(ci, depthwise)), block));
    return output(backend, [...filterShape], dw);
  };
}

export function convKernels(): Array<Omit<KernelConfig, 'backendName'>> {
  return [
    { kernelName: 'Conv2D', kernelFunc: convForward('Conv2D', false, false) },
    { kernelName: 'FusedConv2D', kernelFunc: convForward('FusedConv2D', false, true) },
    { kernelName: 'Conv2DBackpropInput', kernelFunc: convBackpropInput('Conv2DBackpropInput', false) },
    { kernelName: 'Conv2DBackpropFilter', kernelFunc: convBackpropFilter('Conv2DBackpropFilter', false) },
    { kernelName: 'DepthwiseConv2dNative', kernelFunc: convForward('DepthwiseConv2dNative', true, false) },
    { kernelName: 'FusedDepthwiseConv2D', kernelFunc: convForward('FusedDepthwiseConv2D', true, true) },
    { kernelName: 'DepthwiseConv2dNativeBackpropInput', kernelFunc: convBackpropInput('DepthwiseConv2dNativeBackpropInput', true) },
    { kernelName: 'DepthwiseConv2dNativeBackpropFilter', kernelFunc: convBackpropFilter('DepthwiseConv2dNativeBackpropFilter', true) },
  ];
}
