/**
 * Gradient thunks of a kernel whose gradient kernel yields every input's gradient in one call. The tape calls
 * one thunk per input, each inside its own tidy: the first call runs the kernel and keeps its outputs, each thunk
 * hands out a clone of its own, and whatever no thunk asked for (inputs off the gradient path) is disposed right
 * after this synchronous backward pass.
 *
 * A kernel that can add gradients in (du + the gradient a tape already holds for u) offers that to tapes under
 * {@link ACCUMULATE_INTO}: a contract by key, like kernel names (`Symbol.for`, so every copy of a package agrees).
 * `record[ACCUMULATE_INTO](held)` takes the gradients a tape holds for some of the node's inputs, by input name,
 * and returns the thunks of every input's gradient with those of `added` summed in (held + dx, in that order):
 * one pass instead of a gradient and an Add. A tape that does not know the key calls the plain thunks.
 */
import { clone, keep, type Tensor } from '@tensorflow/tfjs-core';

export const ACCUMULATE_INTO: unique symbol = Symbol.for('@lm/gradient-accumulate-into') as never;

export type HeldGradients<K extends string> = Partial<Record<K, Tensor>>;
export type GradientRecord<K extends string> = Record<K, () => Tensor> & {
  [ACCUMULATE_INTO]?: (held: HeldGradients<K>) => { grads: Record<K, () => Tensor>; added: K[] };
};

/**
 * The thunks of `names` from one run of the gradient kernel; with `accumulates`, the inputs whose held gradients
 * `run` can add in (it gets them by name, and must return them summed into those inputs' gradients).
 */
export function sharedGradients<K extends string>(names: readonly K[], run: (held: HeldGradients<K>) => Tensor[], accumulates: readonly K[] = []): GradientRecord<K> {
  const thunks = (held: HeldGradients<K>): Record<K, () => Tensor> => {
    let grads: Tensor[] | undefined;
    const taken = names.map(() => false);
    const take = (i: number) => () => {
      if (!grads) {
        grads = run(held);
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
  };
  const record: GradientRecord<K> = thunks({});
  if (accumulates.length) {
    record[ACCUMULATE_INTO] = (held) => {
      const addable = Object.fromEntries(accumulates.filter((n) => held[n]).map((n) => [n, held[n]])) as HeldGradients<K>;
      return { grads: thunks(addable), added: Object.keys(addable) as K[] };
    };
  }
  return record;
}
