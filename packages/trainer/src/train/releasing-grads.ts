import * as tf from '@tensorflow/tfjs-core';

/** The parts of tfjs-core's engine and tape this module drives (tfjs-core 4.x; public in `engine.ts`). */
interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  saved?: tf.Tensor[];
  gradient?: (dys: Array<tf.Tensor | null>) => GradientRecord;
}

/**
 * The key under which a gradient record may offer its accumulating form (a contract by key, like kernel names;
 * `@lm/backend-onednn` exports it as ACCUMULATE_INTO): `record[key](held)` takes the gradients this tape holds
 * for some of the node's inputs and returns every input's gradient thunk with those of `added` summed in, which
 * replaces the gradient and the Add the tape would run for each.
 */
const ACCUMULATE_INTO = Symbol.for('@lm/gradient-accumulate-into');
type GradientRecord = Record<string, () => tf.Tensor> & {
  [ACCUMULATE_INTO]?: (held: Record<string, tf.Tensor>) => { grads: Record<string, () => tf.Tensor>; added: string[] };
};
interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  startTape(): void;
  endTape(): void;
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  tidy<T extends tf.TensorContainer>(name: string, f: () => T): T;
}

/**
 * The tape's nodes on a path from one of `xs` to `y`, in tape order, each with only the inputs that depend on
 * an x (the gradients of the others are never asked for).
 */
function nodesFromXsToY(tape: TapeNode[], xs: tf.Tensor[], y: tf.Tensor): TapeNode[] {
  const fromX = new Set(xs.map((x) => x.id));
  const nodeFromX = new Set<number>();
  for (const node of tape) {
    if (Object.values(node.inputs).some((t) => fromX.has(t.id))) {
      nodeFromX.add(node.id);
      for (const o of node.outputs) fromX.add(o.id);
    }
  }
  const toY = new Set([y.id]);
  const nodeToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i]!;
    if (node.outputs.some((o) => toY.has(o.id))) {
      nodeToY.add(node.id);
      for (const t of Object.values(node.inputs)) toY.add(t.id);
    }
  }
  return tape
    .filter((n) => nodeFromX.has(n.id) && nodeToY.has(n.id))
    .map((n) => ({ ...n, inputs: Object.fromEntries(Object.entries(n.inputs).filter(([, t]) => fromX.has(t.id))) }));
}

/**
 * Gradients of the scalar `f()` with respect to `vars`, as `tf.variableGrads`, with the memory of reverse-mode
 * differentiation as PyTorch's autograd has it: walking the tape backwards, a node's saved tensors are released
 * once its gradient has run, and the gradient flowing into a node's outputs once its inputs' gradients exist.
 * `tf.variableGrads` keeps both until the whole backward pass ends, so its peak holds every saved activation
 * plus the gradient of every intermediate tensor. A node whose gradient can add in the gradient already held for
 * an input (ACCUMULATE_INTO) does so, in place of the Add. Nested inside another gradient computation (higher-order
 * gradients need the tape kept), it is `tf.variableGrads` itself.
 */
export function releasingVariableGrads(f: () => tf.Scalar, vars: tf.Variable[]): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  const engine = tf.engine() as unknown as EngineInternals;
  if (engine.state.gradientDepth !== 0) return tf.variableGrads(f, vars);
  const trainable = vars.filter((v) => v.trainable);
  if (trainable.length === 0) throw new Error('releasingVariableGrads: none of the variables is trainable.');
  let y: tf.Scalar | undefined;
  try {
    y = engine.scopedRun(() => engine.startTape(), () => engine.endTape(), () => engine.tidy('forward', f));
    if (!(y instanceof tf.Tensor) || y.rank !== 0) throw new Error('releasingVariableGrads: f() must return a scalar tensor.');
    const value = y;
    const nodes = nodesFromXsToY(engine.state.activeTape ?? [], trainable, value);
    return engine.tidy('backward', () => {
      const gradOf = new Map<number, tf.Tensor>([[value.id, tf.onesLike(value)]]);
      /** How many entries of `gradOf` hold each gradient tensor (a gradient function may pass its dy on as is). */
      const holders = new Map<tf.Tensor, number>([[gradOf.get(value.id)!, 1]]);
      const hold = (id: number, g: tf.Tensor) => {
        gradOf.set(id, g);
        holders.set(g, (holders.get(g) ?? 0) + 1);
      };
      /** Drops entry `id`; its tensor goes once no entry holds it, unless it is `survivor` (about to be held again). */
      const release = (id: number, survivor?: tf.Tensor) => {
        const g = gradOf.get(id);
        if (!g) return;
        gradOf.delete(id);
        const n = holders.get(g)! - 1;
        if (n > 0) holders.set(g, n);
        else {
          holders.delete(g);
          if (g !== survivor) g.dispose();
        }
      };
      for (let i = nodes.length - 1; i >= 0; i--) {
        const node = nodes[i]!;
        if (!node.gradient) throw new Error(`Cannot compute gradient: gradient function not found for ${node.kernelName}.`);
        let inputGradients = node.gradient(node.outputs.map((o) => gradOf.get(o.id) ?? null));
        let added = new Set<string>();
        const accumulate = inputGradients[ACCUMULATE_INTO];
        if (accumulate) {
          // the gradient already held for each input (once per tensor: an input given twice is summed the usual way)
          const held: Record<string, tf.Tensor> = {};
          const seen = new Set<number>();
          for (const [name, x] of Object.entries(node.inputs)) {
            const g = seen.has(x.id) ? undefined : gradOf.get(x.id);
            seen.add(x.id);
            if (g) held[name] = g;
          }
          if (Object.keys(held).length) {
            const r = accumulate(held);
            inputGradients = r.grads;
            added = new Set(r.added);
          }
        }
        for (const [name, x] of Object.entries(node.inputs)) {
          const thunk = inputGradients[name];
          if (!thunk) throw new Error(`Cannot backprop through input ${name} of ${node.kernelName}: no gradient for it.`);
          const dx = engine.tidy(node.kernelName, thunk);
          if (dx.dtype !== 'float32' || !tf.util.arraysEqual(dx.shape, x.shape)) {
            throw new Error(`Gradient of ${node.kernelName}'s input '${name}' is ${dx.dtype} [${dx.shape}]; the input is [${x.shape}].`);
          }
          const previous = gradOf.get(x.id);
          if (previous && added.has(name)) {
            // dx already holds previous + this node's gradient
            release(x.id, dx);
            hold(x.id, dx);
          } else if (previous) {
            const sum = tf.add(previous, dx);
            release(x.id);
            if (!holders.has(dx)) dx.dispose();
            hold(x.id, sum);
          } else hold(x.id, dx);
        }
        for (const t of node.saved ?? []) t.dispose();
        for (const o of node.outputs) release(o.id);
      }
      const grads: tf.NamedTensorMap = {};
      for (const v of vars) grads[v.name] = gradOf.get(v.id) ?? (null as unknown as tf.Tensor);
      return { value, grads };
    });
  } catch (e) {
    y?.dispose();
    throw e;
  } finally {
    for (const node of engine.state.activeTape ?? []) for (const t of node.saved ?? []) t.dispose();
    engine.state.activeTape = null;
  }
}
