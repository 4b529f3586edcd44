import * as tfl from '@tensorflow/tfjs-layers';

/**
 * How a scheme stores a trainable coefficient k that is 0 at forward Euler: k itself ('k'), or k' = 1 − k
 * ('one-minus-k', as the LM-ResNet authors' code stores k_n). The update is the same; weight decay pulls the
 * stored value to 0, so towards k = 0 in the first case and k = 1 in the second. A model convention.
 */
export type CoefficientStorage = 'k' | 'one-minus-k';

/** One coefficient of a scheme's update (LM's k_n, a k-step method's a_j or b_j): one value, or one per channel. */
export interface SchemeCoefficient {
  name: string;
  values: number[];
  /** False for coefficients that are fixed or follow from others (a_0 = 1 − Σ a_j). */
  trainable: boolean;
}

/**
 * One step written as an explicit linear multi-step update, u_{n+1} = Σ_j a_j u_{n−j} + Δt Σ_j b_j f(u_{n−j})
 * (j = 0, 1, ...), for its numerical analysis: characteristic polynomials, zero-stability, order of consistency,
 * modified equation (`lm analyze`).
 */
export interface LinearMultistepForm {
  a: number[];
  b: number[];
  dt: number;
}

/**
 * A layer that holds a scheme's coefficients declares them; all its trainable weights are then scheme
 * coefficients (checkpoints, logs, reports and weight-decay exclusion find them through this, whatever the scheme).
 */
export interface SchemeCoefficientLayer {
  schemeCoefficients(): SchemeCoefficient[];
  /** The step as a linear multi-step update: one form, or one per channel (per-channel coefficients). */
  linearMultistepForm?(): LinearMultistepForm[];
}

export function isSchemeCoefficientLayer(layer: unknown): layer is tfl.layers.Layer & SchemeCoefficientLayer {
  return layer instanceof tfl.layers.Layer && typeof (layer as Partial<SchemeCoefficientLayer>).schemeCoefficients === 'function';
}

/** The layers of a model (sub-models included) that declare scheme coefficients, in network order. */
export function schemeCoefficientLayers(model: tfl.LayersModel): (tfl.layers.Layer & SchemeCoefficientLayer)[] {
  const out: (tfl.layers.Layer & SchemeCoefficientLayer)[] = [];
  const visit = (layers: tfl.layers.Layer[]) => {
    for (const layer of layers) {
      if (isSchemeCoefficientLayer(layer)) out.push(layer);
      else if (layer instanceof tfl.LayersModel) visit(layer.layers);
    }
  };
  visit(model.layers);
  return out;
}

/** Every step's scheme coefficients, in network order; `trainableOnly` keeps the trainable ones (and drops steps left without any). */
export function schemeCoefficients(model: tfl.LayersModel, options: { trainableOnly?: boolean } = {}): { layer: string; coefficients: SchemeCoefficient[] }[] {
  return schemeCoefficientLayers(model)
    .map((layer) => ({
      layer: layer.name,
      coefficients: layer.schemeCoefficients().filter((c) => !options.trainableOnly || c.trainable),
    }))
    .filter((s) => s.coefficients.length > 0);
}

/** The weights that are trainable scheme coefficients (for weight-decay exclusion). */
export function schemeCoefficientWeights(model: tfl.LayersModel): tfl.LayerVariable[] {
  return schemeCoefficientLayers(model).flatMap((layer) => layer.trainableWeights);
}
