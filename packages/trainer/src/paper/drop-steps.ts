import * as tfl from '@tensorflow/tfjs-layers';
import type { SchemeStep } from './scheme-steps';

/** What tfjs-layers keeps of one application of a layer (internal, stable across tfjs 4.x). */
interface GraphNode {
  outboundLayer: tfl.layers.Layer;
  inputTensors: tfl.SymbolicTensor[];
  outputTensors: tfl.SymbolicTensor[];
}

/** The model's own nodes, inputs first. */
function nodesInOrder(model: tfl.LayersModel): GraphNode[] {
  const byDepth = (model as unknown as { nodesByDepth: Record<string, GraphNode[]> }).nodesByDepth;
  return Object.keys(byDepth)
    .map(Number)
    .sort((a, b) => b - a)
    .flatMap((d) => byDepth[d]!);
}

function nodeOf(model: tfl.LayersModel, layerName: string): GraphNode {
  const node = nodesInOrder(model).find((n) => n.outboundLayer.name === layerName);
  if (!node) throw new Error(`layer ${layerName} is not applied in model ${model.name}`);
  return node;
}

/**
 * The model with step `step` removed, sharing every weight with `model`: the step's output is its input u_n,
 * and a following LM step takes the removed step's u_{n−1} as its own (the removed grid point is skipped:
 * the neighbouring step now spans two step sizes). Removing the first step makes the next LM step an Euler
 * step (u_{n−1} = u_n). Transitions cannot be removed: they change the shape of u.
 */
export function withoutStep(model: tfl.LayersModel, steps: SchemeStep[], stepName: string): tfl.LayersModel {
  const i = steps.findIndex((s) => s.name === stepName);
  const step = steps[i];
  if (!step) throw new Error(`no step ${stepName} in model ${model.name}`);
  if (step.kind === 'transition') throw new Error(`step ${stepName} is a transition, not a step of the ODE; it cannot be removed`);
  if (step.kind !== 'lm' && step.kind !== 'euler') throw new Error(`step ${stepName} is a ${step.kind} step: removing it is defined for LM and Euler steps only`);
  const layersOfStep = model.layers.filter((l) => l.name.startsWith(`${stepName}_`));
  const last = nodeOf(model, layersOfStep[layersOfStep.length - 1]!.name);
  const input = nodeOf(model, `${stepName}_f`).inputTensors[0]!;
  const alias = new Map<number, number>([[last.outputTensors[0]!.id, input.id]]);
  // node input overrides: layer name → input position → symbolic tensor id
  const rewire = new Map<string, Map<number, number>>();
  const next = steps[i + 1];
  if (next?.kind === 'lm' && step.kind === 'lm') {
    const previous = nodeOf(model, `${stepName}_lm`).inputTensors[2]!;
    rewire.set(`${next.name}_lm`, new Map([[2, previous.id]]));
  }
  const mapped = new Map<number, tfl.SymbolicTensor>();
  const inputs = model.inputs.map((t) => {
    const fresh = tfl.input({ shape: t.shape.slice(1) as number[], name: `${t.name.replace(/[^\w]/g, '_')}_without_${stepName}` });
    mapped.set(t.id, fresh);
    return fresh;
  });
  const resolve = (t: tfl.SymbolicTensor, layer: string, position: number): tfl.SymbolicTensor => {
    let id = rewire.get(layer)?.get(position) ?? t.id;
    while (alias.has(id)) id = alias.get(id)!;
    const out = mapped.get(id);
    if (!out) throw new Error(`drop-steps: tensor ${id} of ${layer} computed out of order`);
    return out;
  };
  for (const node of nodesInOrder(model)) {
    if (node.outboundLayer.getClassName() === 'InputLayer') continue;
    const args = node.inputTensors.map((t, p) => resolve(t, node.outboundLayer.name, p));
    // one tensor twice in one call (u_{n−1} = u_n after a removed start): tfjs's executor frees it after its
    // first use, so the repeat goes through an identity layer
    args.forEach((a, p) => {
      if (args.indexOf(a) !== p) args[p] = tfl.layers.activation({ activation: 'linear', name: `${node.outboundLayer.name}_in${p}_without_${stepName}` }).apply(a) as tfl.SymbolicTensor;
    });
    const out = node.outboundLayer.apply(args.length === 1 ? args[0]! : args) as tfl.SymbolicTensor | tfl.SymbolicTensor[];
    (Array.isArray(out) ? out : [out]).forEach((o, j) => mapped.set(node.outputTensors[j]!.id, o));
  }
  const outputs = model.outputs.map((t) => resolve(t, '(output)', -1));
  return tfl.model({ inputs, outputs, name: `${model.name}_without_${stepName}` });
}
