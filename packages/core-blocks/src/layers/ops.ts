import * as tfl from '@tensorflow/tfjs-layers';
import { convKernelInitializer, currentConvConventions } from '../conv-conventions';
import { applyLayer, type SymbolicTensor } from '../symbolic';
import { BatchNorm } from './batch-norm';
import { Conv2DSeparateGrads } from './conv2d';
import { GroupedConv2D } from './grouped-conv2d';

/** A seed for one layer's initialiser, derived from a model seed and the layer's name (FNV-1a). */
export function layerSeed(seed: number | undefined, name: string): number | undefined {
  if (seed === undefined) return undefined;
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % 2147483647;
}

export interface ConvOptions {
  filters: number;
  kernelSize: number;
  stride?: number;
  name: string;
  seed?: number;
  /** > 1 gives a grouped convolution. */
  groups?: number;
}

/**
 * Bias-free convolution, as ResNets use before a BN: 'same' padding and tfjs He-normal initialisation, or the
 * conventions of an enclosing {@link withConvConventions} (symmetric padding of strided convolutions is an
 * explicit ZeroPadding2D `<name>_pad` before a 'valid' convolution).
 */
export function conv(x: SymbolicTensor, o: ConvOptions): SymbolicTensor {
  const seed = layerSeed(o.seed, o.name);
  const c = currentConvConventions();
  const stride = o.stride ?? 1;
  let padding: 'same' | 'valid' = 'same';
  if (c.padding === 'symmetric' && stride > 1) {
    const p = Math.floor(o.kernelSize / 2);
    if (p > 0) x = applyLayer(tfl.layers.zeroPadding2d({ padding: p, name: `${o.name}_pad` }), x);
    padding = 'valid';
  }
  if ((o.groups ?? 1) > 1) {
    const fanMode = c.init === 'he-normal-fan-out' ? 'fanOut' : 'fanIn';
    return applyLayer(
      new GroupedConv2D({ filters: o.filters, kernelSize: o.kernelSize, strides: stride, padding, groups: o.groups!, name: o.name, seed, fanMode }),
      x,
    );
  }
  return applyLayer(
    new Conv2DSeparateGrads({
      filters: o.filters,
      kernelSize: o.kernelSize,
      strides: stride,
      padding,
      useBias: false,
      kernelInitializer: convKernelInitializer(c, o.kernelSize, o.filters, seed),
      name: o.name,
    }),
    x,
  );
}

export function batchNorm(x: SymbolicTensor, name: string): SymbolicTensor {
  return applyLayer(new BatchNorm({ name }), x);
}

/** BN → ReLU as one layer `name` (a BatchNorm with activation 'relu': one kernel forward, one backward). */
export function batchNormRelu(x: SymbolicTensor, name: string): SymbolicTensor {
  return applyLayer(new BatchNorm({ name, activation: 'relu' }), x);
}

export function relu(x: SymbolicTensor, name: string): SymbolicTensor {
  return applyLayer(tfl.layers.reLU({ name }), x);
}

/** BN → ReLU, the pre-activation of He et al. (2016): the fused layer `<name>_bn`. */
export function bnRelu(x: SymbolicTensor, name: string): SymbolicTensor {
  return batchNormRelu(x, `${name}_bn`);
}
