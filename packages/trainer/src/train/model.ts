import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { schemeCoefficients, schemeCoefficientWeights } from '@lm/core-blocks';
import { createModel } from '@lm/schemes';
import type { TrainConfig, WdExcludeGroup } from '../config';
import type { SgdParam } from '../optim/sgd';
import { OptionError } from '../errors';
import './model-variants';

/** Builds the configured model for a dataset: numClasses and input shape from the data, seed from the config. */
export function buildModel(c: TrainConfig, numClasses: number, inputShape?: [number, number, number]): tfl.LayersModel {
  try {
    return createModel(c.model, { ...c.modelOptions, numClasses, ...(inputShape ? { inputShape } : {}), seed: c.modelOptions.seed ?? c.seed });
  } catch (e) {
    const err = e as Error & { kind?: string; known?: string[] };
    if (err.name === 'UnknownEntryError' && err.kind === 'model') {
      throw new OptionError('--model', `--model must be one of: ${(err.known ?? []).join(', ')} (got '${c.model}'; plugins add more)`);
    }
    if (err.name === 'UnknownEntryError' || err.name === 'ModelConfigError') throw new OptionError('--model-options', `--model-options: ${err.message}`);
    throw e;
  }
}

/** Names of the weights that are trainable scheme coefficients (LM's k_n, a k-step scheme's a_j, a plugin's own). */
export function schemeCoefficientNames(model: tfl.LayersModel): Set<string> {
  return new Set(schemeCoefficientWeights(model).map((w) => w.originalName ?? w.name));
}

/**
 * Which exclusion group a weight belongs to: `k` when it is a scheme coefficient (`schemeCoefficientNames`, found
 * through the layers that declare them, whatever the scheme), else by its name (BN γ/β, biases).
 */
export function weightGroup(name: string, coefficients: ReadonlySet<string> = new Set()): WdExcludeGroup | 'weight' {
  if (coefficients.has(name)) return 'k';
  const leaf = name.split('/').pop()!.replace(/_\d+$/, '');
  if (leaf === 'gamma' || leaf === 'beta') return 'norm';
  if (leaf === 'bias') return 'bias';
  return 'weight';
}

/** The scheme coefficients (k_n) as a parameter group: learning-rate scale and weight decay of their own. */
export interface CoefficientGroup {
  lrScale?: number;
  weightDecay?: number;
}

/** The trainable weights as optimizer parameters; weight decay on all except the excluded groups. */
export function trainableParams(
  model: tfl.LayersModel,
  exclude: readonly WdExcludeGroup[] = [],
  coefficientGroup: CoefficientGroup = {},
): (Required<Pick<SgdParam, 'variable' | 'name' | 'decay'>> & SgdParam)[] {
  const coefficients = schemeCoefficientNames(model);
  return model.trainableWeights.map((w, i) => {
    const group = weightGroup(w.originalName ?? w.name, coefficients);
    return {
      variable: w.read() as tf.Variable,
      name: `${i}:${w.originalName ?? w.name}`,
      decay: group === 'weight' || !exclude.includes(group),
      ...(group === 'k'
        ? { lrScale: coefficientGroup.lrScale ?? 1, ...(coefficientGroup.weightDecay !== undefined ? { weightDecay: coefficientGroup.weightDecay } : {}) }
        : {}),
    };
  });
}

/** One trainable scheme coefficient of one step, as checkpoints and epoch logs keep it. */
export interface KValue {
  layer: string;
  /** The coefficient's name (`k` for the LM scheme, `a1`, `b0`... for a k-step scheme). */
  coefficient: string;
  k: number[];
}

/** Every trainable scheme coefficient of the model by step, in network order (empty when the scheme has none). */
export function kValues(model: tfl.LayersModel): KValue[] {
  return schemeCoefficients(model, { trainableOnly: true }).flatMap(({ layer, coefficients }) =>
    coefficients.map((c) => ({ layer, coefficient: c.name, k: c.values })),
  );
}
