/**
 * A model's forward pass that frees each intermediate tensor as soon as the last layer reading it has run, as
 * PyTorch frees a tensor when its last reference goes. tfjs-layers frees intermediates only outside training; in
 * training every one lives until the end of the forward pass, so the pass's peak holds them all, also those no
 * gradient needs (a residual sum whose ReLU keeps its own output, say). Gradients do not need the tensors
 * themselves: a kernel's gradient reads the clones the tape saved (which keep the values alive), and the tape
 * reads only the ids and shapes of a node's inputs.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types';

import { type GraphNode, nodesOf } from './nodes';

interface Plan {
  steps: Array<{ layer: tfl.layers.Layer; node: GraphNode }>;
  /** Readers of each symbolic tensor (by id) in this graph; a model output gets one more, the caller. */
  readers: Map<number, number>;
}

const plans = new WeakMap<tfl.LayersModel, Plan>();

function planOf(model: tfl.LayersModel): Plan {
  let plan = plans.get(model);
  if (plan) return plan;
  const steps = nodesOf(model).filter(({ layer }) => layer.getClassName() !== 'InputLayer');
  const readers = new Map<number, number>();
  for (const { node } of steps) for (const t of node.inputTensors) readers.set(t.id, (readers.get(t.id) ?? 0) + 1);
  for (const t of model.outputs) readers.set(t.id, (readers.get(t.id) ?? 0) + 1);
  plan = { steps, readers };
  plans.set(model, plan);
  return plan;
}

/**
 * `model.apply(inputs, kwargs)` for concrete tensors, freeing intermediates after their last reader. Each
 * symbolic tensor has a tensor of its own (Layer.apply hands on a clone of an output that is one of its inputs).
 * A tensor is never freed when it is one of `inputs`, a variable, kept, or the output of a stateful layer.
 * Nested models run through their own `apply` (which frees their intermediates when they return).
 */
export function applyReleasing(model: tfl.LayersModel, inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs = {}): tf.Tensor | tf.Tensor[] {
  const xs = Array.isArray(inputs) ? inputs : [inputs];
  if (xs.length !== model.inputs.length) {
    throw new Error(`applyReleasing: model '${model.name}' takes ${model.inputs.length} input(s), got ${xs.length}.`);
  }
  const { steps, readers } = planOf(model);
  return tf.tidy(() => {
    /** The tensor of each symbolic tensor still to be read, and how many of its readers have not run yet. */
    const pending = new Map<number, { value: tf.Tensor; left: number }>();
    const bind = (id: number, value: tf.Tensor) => {
      const left = readers.get(id) ?? 0;
      if (left > 0) pending.set(id, { value, left });
    };
    const caller = new Set(xs);
    model.inputs.forEach((t, i) => bind(t.id, xs[i]!));
    const read = (id: number, mayFree: boolean) => {
      const entry = pending.get(id)!;
      if (--entry.left > 0) return;
      pending.delete(id);
      const { value } = entry;
      if (mayFree && !caller.has(value) && !(value instanceof tf.Variable) && !value.kept) value.dispose();
    };
    for (const { layer, node } of steps) {
      const args = node.inputTensors.map((t) => {
        const v = pending.get(t.id)?.value;
        if (!v) throw new Error(`applyReleasing: ${model.name}: the input '${t.name}' of layer '${layer.name}' was not computed before it`);
        return v;
      });
      const result = layer.apply(args.length === 1 ? args[0]! : args, kwargs) as tf.Tensor | tf.Tensor[];
      const outs = Array.isArray(result) ? result : [result];
      node.outputTensors.forEach((t, i) => bind(t.id, outs[i]!));
      // a stateful layer's output (recurrent state) may be read later by the layer itself: tfjs-layers keeps those
      for (const t of node.inputTensors) read(t.id, (t.sourceLayer as tfl.layers.Layer).stateful !== true);
    }
    const outputs = model.outputs.map((t) => pending.get(t.id)!.value);
    return outputs.length === 1 ? outputs[0]! : outputs;
  });
}
