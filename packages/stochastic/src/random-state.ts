import * as tfl from '@tensorflow/tfjs-layers';
import { hasRandomState, type SeededLayer } from './layers/seeded-layer';
import type { RandomState } from './random';

/** The random states of a model's stochastic layers, by layer path (`layer`, or `submodel/layer` inside sub-models). */
export type ModelRandomState = Record<string, RandomState>;

/** A layer that {@link hasRandomState} recognised. */
type StochasticLayer = tfl.layers.Layer & Pick<SeededLayer, 'getRandomState' | 'setRandomState' | 'resetRandomState'>;

type Visitor = (path: string, layer: tfl.layers.Layer) => void;

function walk(layers: tfl.layers.Layer[], prefix: string, visit: Visitor): void {
  for (const layer of layers) {
    const path = prefix ? `${prefix}/${layer.name}` : layer.name;
    visit(path, layer);
    if (layer instanceof tfl.LayersModel) walk(layer.layers, path, visit);
  }
}

/** The stochastic layers of a model (sub-models included), by path. */
export function stochasticLayers(model: tfl.LayersModel): Map<string, StochasticLayer> {
  const out = new Map<string, StochasticLayer>();
  walk(model.layers, '', (path, layer) => {
    if (hasRandomState(layer)) out.set(path, layer);
  });
  return out;
}

/**
 * Collects the random state of every stochastic layer, for a training checkpoint: restored with
 * {@link setModelRandomState}, a resumed run draws exactly the masks and coefficients the original run would have.
 */
export function getModelRandomState(model: tfl.LayersModel): ModelRandomState {
  const state: ModelRandomState = {};
  for (const [path, layer] of stochasticLayers(model)) state[path] = layer.getRandomState();
  return state;
}

/**
 * Restores states from {@link getModelRandomState}. Throws, before changing anything, when the state names a
 * layer the model has not; stochastic layers the state does not name are left as they are.
 */
export function setModelRandomState(model: tfl.LayersModel, state: ModelRandomState): void {
  const layers = stochasticLayers(model);
  const unknown = Object.keys(state).filter((k) => !layers.has(k));
  if (unknown.length) {
    throw new Error(
      `setModelRandomState: model '${model.name}' has no stochastic layer ${unknown.map((k) => `'${k}'`).join(', ')}` +
        ` (it has ${layers.size ? [...layers.keys()].join(', ') : 'none'}).`,
    );
  }
  for (const [path, s] of Object.entries(state)) layers.get(path)!.setRandomState(s);
}

/** Resets every stochastic layer to the state right after construction from its seed. */
export function resetModelRandomState(model: tfl.LayersModel): void {
  for (const layer of stochasticLayers(model).values()) layer.resetRandomState();
}
