import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { createModel, lmCoefficients } from '@lm/schemes';
import type { TrainConfig, WdExcludeGroup } from '../config';
import type { SgdParam } from '../optim/sgd';
import { OptionError } from '../errors';

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

/** Which exclusion group a weight belongs to, by its name. */
export function weightGroup(name: string): WdExcludeGroup | 'weight' {
  const leaf = name.split('/').pop()!.replace(/_\d+$/, '');
  if (leaf === 'gamma' || leaf === 'beta') return 'norm';
  if (leaf === 'bias') return 'bias';
  if (leaf === 'k' || leaf === 'one_minus_k') return 'k';
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
  coefficients: CoefficientGroup = {},
): (Required<Pick<SgdParam, 'variable' | 'name' | 'decay'>> & SgdParam)[] {
  return model.trainableWeights.map((w, i) => {
    const group = weightGroup(w.originalName ?? w.name);
    return {
      variable: w.read() as tf.Variable,
      name: `${i}:${w.originalName ?? w.name}`,
      decay: group === 'weight' || !exclude.includes(group),
      ...(group === 'k' ? { lrScale: coefficients.lrScale ?? 1, ...(coefficients.weightDecay !== undefined ? { weightDecay: coefficients.weightDecay } : {}) } : {}),
    };
  });
}

/** The learned k_n of LM steps (empty for other models). */
export function kValues(model: tfl.LayersModel): { layer: string; k: number[] }[] {
  return lmCoefficients(model);
}
