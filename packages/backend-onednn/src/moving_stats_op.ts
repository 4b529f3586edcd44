/**
 * The batch-norm moving-statistics update as one kernel, shared with @lm/core-blocks' BatchNorm (the kernel name
 * and I/O are the contract):
 *   LmMovingStatsUpdate inputs {movingMean, movingVariance, mean, variance}, attrs {momentum, varianceCorrection}
 *                       -> [momentum·movingMean + (1−momentum)·mean, momentum·movingVariance + (1−momentum)·varianceCorrection·variance]
 * Every product and sum is rounded to float32, in the order the composed tf ops round them, so the result is the
 * ops' bit for bit. No gradient is registered: the statistics never reach the loss, and a kernel without one has
 * nothing saved for the backward pass. Registered for `cpu` and `onednn` (a loop over C values needs no native code).
 */
import { getKernel, type KernelFunc, registerKernel, type TensorInfo } from '@tensorflow/tfjs-core';

import { counted } from './coverage';
import { alloc, type Backend, f32, output } from './util';

export const MOVING_STATS_UPDATE = 'LmMovingStatsUpdate';

const fr = Math.fround;

const movingStatsUpdate: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as Backend;
  const { movingMean, movingVariance, mean, variance } = inputs as Record<string, TensorInfo>;
  const { momentum, varianceCorrection } = attrs as unknown as { momentum: number; varianceCorrection: number };
  const mm = f32(b, movingMean!), mv = f32(b, movingVariance!), m = f32(b, mean!), v = f32(b, variance!);
  const c = mm?.length;
  if (!mm || !mv || !m || !v || mv.length !== c || m.length !== c || v.length !== c)
    throw new Error(`${MOVING_STATS_UPDATE}: movingMean, movingVariance, mean and variance must be float32 vectors of one length`);
  const keep = fr(momentum), take = fr(1 - momentum), corr = fr(varianceCorrection);
  const outMean = alloc(c), outVariance = alloc(c);
  for (let i = 0; i < c; i++) {
    outMean[i] = fr(mm[i]! * keep) + fr(m[i]! * take);
    outVariance[i] = fr(mv[i]! * keep) + fr(fr(v[i]! * corr) * take);
  }
  return [output(b, [...movingMean!.shape], outMean), output(b, [...movingVariance!.shape], outVariance)];
};

/** Registers the kernel for `cpu` (when not yet there) and, with the addon loaded, for `onednn`. */
export function registerMovingStatsUpdate(withOnednn: boolean): void {
  if (!getKernel(MOVING_STATS_UPDATE, 'cpu')) registerKernel({ kernelName: MOVING_STATS_UPDATE, backendName: 'cpu', kernelFunc: movingStatsUpdate });
  if (withOnednn && !getKernel(MOVING_STATS_UPDATE, 'onednn'))
    registerKernel({ kernelName: MOVING_STATS_UPDATE, backendName: 'onednn', kernelFunc: counted(MOVING_STATS_UPDATE, movingStatsUpdate) });
}
