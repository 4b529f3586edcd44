import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { conv, registry, type BlockDefinition } from '@lm/core-blocks';
import type { NetworkConfig } from '@lm/schemes';

export const SCHEMES = ['forward-euler', 'linear-multi-step', 'runge-kutta2', 'approx-backward-euler', 'revnet'] as const;
export const STRATEGIES = ['stochastic-depth', 'shake-shake', 'additive-noise'] as const;

export async function useCpu(): Promise<void> {
  await tf.setBackend('cpu');
  await tf.ready();
}

/** A small network: 8x8x3 input, stages of widths [4, 8] with two steps each. */
export function smallConfig(
  scheme: string,
  strategy?: NetworkConfig['strategy'],
  overrides: Partial<NetworkConfig> = {},
): NetworkConfig {
  return {
    name: `tiny_${scheme}`,
    stem: 'cifar',
    stemWidth: 4,
    stageWidths: [4, 8],
    blocksPerStage: [2, 2],
    block: 'preact-basic',
    scheme,
    shortcut: 'projection-preact',
    numClasses: 3,
    inputShape: [8, 8, 3],
    dt: 1,
    strategy,
    seed: 11,
    ...overrides,
  };
}

/** f(u) = a 3x3 convolution with no normalisation or activation: the network is linear in its random coefficients. */
export const LINEAR_BLOCK = 'stochastic-test-linear';
const linearBlock: BlockDefinition = {
  description: 'test block: one bias-free 3x3 convolution',
  expansion: 1,
  preActivation: true,
  build: (u, spec) => conv(u, { filters: spec.outChannels, kernelSize: 3, stride: spec.stride, name: `${spec.name}_conv`, seed: spec.seed }),
};
if (!registry.has('block', LINEAR_BLOCK)) registry.register('block', LINEAR_BLOCK, linearBlock);

/** A network linear from the input to the state before the final BN-ReLU (zero-padding shortcuts, no BN in f). */
export function linearConfig(scheme: string, strategy?: NetworkConfig['strategy'], overrides: Partial<NetworkConfig> = {}): NetworkConfig {
  return smallConfig(scheme, strategy, { block: LINEAR_BLOCK, shortcut: 'A', preActivation: true, ...overrides });
}

/** The sub-model from the input to the last step's state u_N (the input of the final BN). */
export function stateModel(model: tfl.LayersModel): tfl.LayersModel {
  const u = model.getLayer('final_bn').input as tfl.SymbolicTensor;
  return tfl.model({ inputs: model.inputs, outputs: u });
}

/** Deterministic pseudo-random input of shape [n, 8, 8, 3]. */
export function sampleInput(n: number, seed = 3, shape: number[] = [8, 8, 3]): tf.Tensor {
  const size = n * shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  let s = seed >>> 0;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s / 4294967296 - 0.5;
  }
  return tf.tensor(data, [n, ...shape]);
}

/** Running mean and variance (Welford) of equally shaped samples, in float64. */
export class RunningStats {
  n = 0;
  mean: Float64Array;
  m2: Float64Array;
  constructor(size: number) {
    this.mean = new Float64Array(size);
    this.m2 = new Float64Array(size);
  }
  add(x: ArrayLike<number>): void {
    this.n++;
    for (let i = 0; i < x.length; i++) {
      const d = x[i]! - this.mean[i]!;
      this.mean[i] += d / this.n;
      this.m2[i] += d * (x[i]! - this.mean[i]!);
    }
  }
  /** Standard error of the mean of element i. */
  stderr(i: number): number {
    return Math.sqrt(this.m2[i]! / (this.n - 1) / this.n);
  }
}

/** Largest |z| = |mean − expected| / stderr over the elements (elements with no spread must match exactly). */
export function maxZ(stats: RunningStats, expected: ArrayLike<number>, abs = 1e-5): number {
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(stats.mean[i]! - expected[i]!);
    if (diff <= abs) continue;
    const se = stats.stderr(i);
    worst = Math.max(worst, se === 0 ? Infinity : diff / se);
  }
  return worst;
}

export function countLayers(model: tfl.LayersModel, className: string): number {
  let n = 0;
  const visit = (layers: tfl.layers.Layer[]) => {
    for (const l of layers) {
      if (l.getClassName() === className) n++;
      if (l instanceof tfl.LayersModel) visit(l.layers);
    }
  };
  visit(model.layers);
  return n;
}
