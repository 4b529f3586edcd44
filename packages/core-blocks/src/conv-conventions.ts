import * as tfl from '@tensorflow/tfjs-layers';

/**
 * How {@link conv} pads and initialises. `'tf-same'` pads a strided convolution bottom/right only (TensorFlow);
 * `'symmetric'` pads floor(k/2) on every side, as PyTorch's `padding=k//2`. Stride-1 convolutions with odd
 * kernels are padded symmetrically by both.
 *
 * `'tfjs-he-normal'` is tfjs `heNormal`: fan_in, truncated at 2σ without rescaling; `'he-normal-fan-out'` is
 * N(0, 2 / (k² C_out)), not truncated (the LM-ResNet authors' initialisation).
 */
export interface ConvConventions {
  padding: 'tf-same' | 'symmetric';
  init: 'tfjs-he-normal' | 'he-normal-fan-out';
}

export const CONV_PADDINGS: readonly ConvConventions['padding'][] = ['tf-same', 'symmetric'];
export const CONV_INITS: readonly ConvConventions['init'][] = ['tfjs-he-normal', 'he-normal-fan-out'];
export const TFJS_CONV_CONVENTIONS: ConvConventions = { padding: 'tf-same', init: 'tfjs-he-normal' };

let current: ConvConventions = TFJS_CONV_CONVENTIONS;

/** The conventions {@link conv} uses right now (the tfjs ones outside {@link withConvConventions}). */
export function currentConvConventions(): ConvConventions {
  return current;
}

/** Runs `build` (a synchronous model build) with every {@link conv} in it following `conventions`. */
export function withConvConventions<T>(conventions: ConvConventions, build: () => T): T {
  const saved = current;
  current = conventions;
  try {
    return build();
  } finally {
    current = saved;
  }
}

/** The kernel initialiser of a k x k convolution with `filters` outputs under `conventions`. */
export function convKernelInitializer(
  conventions: ConvConventions,
  kernelSize: number,
  filters: number,
  seed: number | undefined,
): ReturnType<typeof tfl.initializers.zeros> {
  if (conventions.init === 'he-normal-fan-out') {
    return tfl.initializers.randomNormal({ mean: 0, stddev: Math.sqrt(2 / (kernelSize * kernelSize * filters)), seed });
  }
  return tfl.initializers.heNormal({ seed });
}
