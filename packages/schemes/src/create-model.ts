import type * as tfl from '@tensorflow/tfjs-layers';
import { registry as globalRegistry, type Registry } from '@lm/core-blocks';
import type { ModelOptions } from './models/model-options';

/**
 * Builds a registered model by name, in the manner of timm's `create_model`:
 * `createModel('lm-resnet56', { numClasses: 100, stochasticDepth: { pL: 0.8 } })`. Returns a TensorFlow.js
 * layers model that outputs logits.
 */
export function createModel(name: string, options: ModelOptions = {}, registry: Registry = globalRegistry): tfl.LayersModel {
  return registry.get('model', name).create(options, registry);
}

/** Registered model names, naturally sorted, optionally filtered by wildcards (`lm-*`). */
export function listModels(filter?: string | string[], registry: Registry = globalRegistry): string[] {
  return registry.list('model', filter);
}
