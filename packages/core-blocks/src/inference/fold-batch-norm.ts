/**
 * Batch norm folded into the convolution before it, for evaluation. In evaluation mode BN is the per-channel
 * affine map y = scale · x + shift (BatchNorm.inferenceAffine), so conv(x, W) followed by BN is one convolution
 * with the filter W · scale (scaled along the output channels) and the bias shift, and BN+ReLU its ReLU: one
 * kernel instead of two, and one pass less over every activation.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

import { type GraphNode as Node, nodesOf } from '../graph/nodes';
import { BatchNorm } from '../layers/batch-norm';

/** One convolution that stands for a convolution and the BatchNorm after it. */
interface Fold {
  conv: tfl.layers.Layer;
  bn: BatchNorm;
  folded: tfl.layers.Layer;
}

/** An evaluation copy of a model with its Conv2D → BatchNorm pairs folded. */
export interface FoldedModel {
  /** Shares every other layer (and so its weights) with the original model. */
  model: tfl.LayersModel;
  /** How many Conv2D → BatchNorm pairs were folded, in the model and the models nested in it. */
  folds: number;
  /** Recomputes the folded filters and biases from the original layers' current weights: call it after training. */
  refresh(): void;
  /** Frees the folded layers' weights (the shared layers stay the original model's). */
  dispose(): void;
}

type Symbolic = tfl.SymbolicTensor;

const isModel = (l: tfl.layers.Layer): l is tfl.LayersModel => l instanceof tfl.LayersModel;

/** A plain convolution without bias or activation: what a BN after it can fold into. */
function isFoldableConv(l: tfl.layers.Layer): boolean {
  if (l.getClassName() !== 'Conv2D') return false;
  const c = l.getConfig();
  return c.useBias === false && (c.activation ?? 'linear') === 'linear';
}

function rebuild(model: tfl.LayersModel, folds: Fold[]): tfl.LayersModel {
  const nodes = nodesOf(model);
  // the nodes of this graph that read each tensor (by id); a model output has one more reader, outside
  const readersOf = new Map<number, Array<{ layer: tfl.layers.Layer; node: Node }>>();
  for (const n of nodes) for (const t of n.node.inputTensors) readersOf.set(t.id, [...(readersOf.get(t.id) ?? []), n]);
  const isOutput = new Set(model.outputs.map((t) => t.id));

  const mapped = new Map<number, Symbolic>();
  const inputs = model.inputs.map((t) => {
    const x = tfl.input({ batchShape: t.shape, dtype: t.dtype, name: `${t.name.replace(/[:/]/g, '_')}_folded` });
    mapped.set(t.id, x);
    return x;
  });
  const skip = new Set<Node>();
  for (const { layer, node } of nodes) {
    if (layer.getClassName() === 'InputLayer') continue;
    if (skip.has(node)) continue;
    const args = node.inputTensors.map((t) => {
      const m = mapped.get(t.id);
      if (!m) throw new Error(`foldBatchNorm: ${model.name}: the input '${t.name}' of layer '${layer.name}' was not built before it`);
      return m;
    });
    const x = args.length === 1 ? args[0]! : args;
    const out = node.outputTensors[0]!;
    const readers = readersOf.get(out.id) ?? [];
    const next = readers.length === 1 && !isOutput.has(out.id) ? readers[0] : undefined;
    if (node.outputTensors.length === 1 && isFoldableConv(layer) && next?.layer instanceof BatchNorm) {
      const c = layer.getConfig();
      const folded = tfl.layers.conv2d({
        filters: c.filters as number,
        kernelSize: c.kernelSize as [number, number],
        strides: c.strides as [number, number],
        padding: c.padding as 'same' | 'valid',
        dataFormat: c.dataFormat as 'channelsLast',
        dilationRate: c.dilationRate as [number, number],
        useBias: true,
        activation: next.layer.activation === 'relu' ? 'relu' : 'linear',
        name: `${layer.name}_${next.layer.name}_folded`,
      });
      mapped.set(next.node.outputTensors[0]!.id, folded.apply(x) as Symbolic);
      skip.add(next.node);
      folds.push({ conv: layer, bn: next.layer, folded });
      continue;
    }
    const applied = isModel(layer) ? rebuild(layer, folds) : layer;
    const result = applied.apply(x, node.callArgs) as Symbolic | Symbolic[];
    const outs = Array.isArray(result) ? result : [result];
    node.outputTensors.forEach((t, i) => mapped.set(t.id, outs[i]!));
  }
  const outputs = model.outputs.map((t) => mapped.get(t.id)!);
  return tfl.model({ inputs, outputs: outputs.length === 1 ? outputs[0]! : outputs, name: `${model.name}_folded` });
}

/**
 * An evaluation copy of `model`: every Conv2D without bias or activation whose only reader is a BatchNorm
 * becomes one Conv2D with bias (and ReLU for a BN+ReLU layer), in nested models too; all other layers are the
 * model's own. The copy computes what `model.apply(x, {training: false})` does, up to float rounding. Its folded
 * weights are those of the moment of the last `refresh()` (made once here).
 */
export function foldBatchNorm(model: tfl.LayersModel): FoldedModel {
  const folds: Fold[] = [];
  const folded = rebuild(model, folds);
  const refresh = () => {
    for (const f of folds) {
      const [kernel, bias] = tf.tidy(() => {
        const { scale, shift } = f.bn.inferenceAffine();
        return [tf.mul(f.conv.getWeights()[0]!, scale), shift];
      });
      f.folded.setWeights([kernel!, bias!]);
      tf.dispose([kernel!, bias!]);
    }
  };
  refresh();
  const dispose = () => {
    for (const f of folds) for (const w of f.folded.weights) w.dispose();
  };
  return { model: folded, folds: folds.length, refresh, dispose };
}
