/**
 * Gradient thunks of a kernel whose gradient kernel yields every input's gradient in one call. The tape calls
 * one thunk per input, each inside its own tidy: the first call runs the kernel and keeps its outputs, each thunk
 * hands out a clone of its own, and whatever no thunk asked for (inputs off the gradient path) is disposed right
 * after this synchronous backward pass.
 */
import { clone, keep, type Tensor } from '@tensorflow/tfjs-core';

export function sharedGradients<K extends string>(names: readonly K[], run: () => Tensor[]): Record<K, () => Tensor> {
  let grads: Tensor[] | undefined;
  const taken = names.map(() => false);
  const take = (i: number) => () => {
    if (!grads) {
      grads = run();
      grads.forEach((g) => keep(g));
      const all = grads;
      queueMicrotask(() => all.forEach((g, j) => !taken[j] && g.dispose()));
    }
    taken[i] = true;
    const out = clone(grads[i]!);
    grads[i]!.dispose();
    return out;
  };
  return Object.fromEntries(names.map((n, i) => [n, take(i)])) as Record<K, () => Tensor>;
}
