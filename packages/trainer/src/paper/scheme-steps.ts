import type * as tfl from '@tensorflow/tfjs-layers';
import { isSchemeCoefficientLayer, WeightedSum, type LinearMultistepForm } from '@lm/core-blocks';
import { LinearMultiStep } from '@lm/schemes';

/**
 * One residual step of a built network, read back from its layer names (`s<stage>_b<block>_…`, as the network
 * builder names them): an LM step (`_lm`), any other step whose layer declares its linear multi-step form (a k-step
 * scheme, Adams–Bashforth, a plugin's), a forward Euler step (`_sum`), or a transition: a step through the
 * shortcut that changes the shape of u, which is not a step of the ODE u_t = f(u).
 */
export interface SchemeStep {
  /** 1-based position among the residual steps (the depth axis of the paper's Fig. 4). */
  index: number;
  name: string;
  stage: number;
  kind: 'lm' | 'multistep' | 'euler' | 'transition' | 'other';
  /** k_n (one value, or one per channel) of an LM step. */
  k?: number[];
  /** The update as u_{n+1} = Σ a_j u_{n−j} + Δt Σ b_j f(u_{n−j}) of a `multistep` step (one form per channel). */
  forms?: LinearMultistepForm[];
  dt: number;
}

const STEP_NAME = /^(s(\d+)_b(\d+))_(.+)$/;

/** The residual steps of a model in network order. */
export function schemeSteps(model: tfl.LayersModel): SchemeStep[] {
  const order: string[] = [];
  const layersOf = new Map<string, tfl.layers.Layer[]>();
  for (const layer of model.layers) {
    const m = STEP_NAME.exec(layer.name);
    if (!m) continue;
    if (!layersOf.has(m[1]!)) {
      layersOf.set(m[1]!, []);
      order.push(m[1]!);
    }
    layersOf.get(m[1]!)!.push(layer);
  }
  return order.map((name, i) => {
    const layers = layersOf.get(name)!;
    const stage = Number(/^s(\d+)_/.exec(name)![1]);
    const lm = layers.find((l) => l instanceof LinearMultiStep) as LinearMultiStep | undefined;
    if (lm) return { index: i + 1, name, stage, kind: 'lm', k: Array.from(lm.coefficients()), dt: lm.dt };
    const declared = layers.find((l) => isSchemeCoefficientLayer(l) && l.linearMultistepForm);
    if (declared && isSchemeCoefficientLayer(declared) && !layers.some((l) => l.name.startsWith(`${name}_shortcut`))) {
      const forms = declared.linearMultistepForm!();
      return { index: i + 1, name, stage, kind: 'multistep', forms, dt: forms[0]?.dt ?? 1 };
    }
    if (layers.some((l) => l.name.startsWith(`${name}_shortcut`))) return { index: i + 1, name, stage, kind: 'transition', dt: sumDt(layers, name) };
    const sum = layers.find((l) => l.name === `${name}_sum`);
    if (sum instanceof WeightedSum && sum.coefficients.length === 2) return { index: i + 1, name, stage, kind: 'euler', dt: sum.coefficients[1]! };
    return { index: i + 1, name, stage, kind: 'other', dt: 1 };
  });
}

function sumDt(layers: tfl.layers.Layer[], name: string): number {
  const sum = layers.find((l) => l.name === `${name}_sum`);
  return sum instanceof WeightedSum && sum.coefficients.length === 2 ? sum.coefficients[1]! : 1;
}
