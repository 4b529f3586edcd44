import * as tfl from '@tensorflow/tfjs-layers';
import { applyLayer, type SymbolicTensor } from '../symbolic';
import { BatchNorm } from './batch-norm';
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

/** Bias-free convolution with He-normal initialisation ('same' padding), as ResNets use before a BN. */
export function conv(x: SymbolicTensor, o: ConvOptions): SymbolicTensor {
  const seed = layerSeed(o.seed, o.name);
  if ((o.groups ?? 1) > 1) {
    return applyLayer(
      new GroupedConv2D({ filters: o.filters, kernelSize: o.kernelSize, strides: o.stride ?? 1, groups: o.groups!, name: o.name, seed }),
      x,
    );
  }
  return applyLayer(
    tfl.layers.conv2d({
      filters: o.filters,
      kernelSize: o.kernelSize,
      strides: o.stride ?? 1,
      padding: 'same',
      useBias: false,
      kernelInitializer: tfl.initializers.heNormal({ seed }),
      name: o.name,
    }),
    x,
  );
}

export function batchNorm(x: SymbolicTensor, name: string): SymbolicTensor {
  return applyLayer(new BatchNorm({ name }), x);
}

export function relu(x: SymbolicTensor, name: string): SymbolicTensor {
  return applyLayer(tfl.layers.reLU({ name }), x);
}

/** BN → ReLU, the pre-activation of He et al. (2016). */
export function bnRelu(x: SymbolicTensor, name: string): SymbolicTensor {
  return relu(batchNorm(x, `${name}_bn`), `${name}_relu`);
}
