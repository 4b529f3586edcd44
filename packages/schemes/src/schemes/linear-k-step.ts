import { applyLayer, layerSeed, type SchemeDefinition, type SchemeMemory } from '@lm/core-blocks';
import { LinearKStep } from '../layers/linear-k-step';
import { advanceState, shortcutEulerStep } from './euler-update';

export interface LinearKStepOptions {
  /** k: the update reads u_n ... u_{n−k+1} and f(u_n) ... f(u_{n−k+1}) (default 2). */
  steps?: number;
  /** Initial a_1 ... a_{k−1} (a_0 = 1 − their sum), or a_0 ... a_{k−1} when `consistent` is false; default U[initMin, initMax]. */
  a?: number[];
  /** Initial b_0 ... b_{k−1} (default 1, 0, ..., 0: only Δt f(u_n), as the LM scheme). */
  b?: number[];
  /** Which coefficients train (default `['a']`). */
  trainable?: ('a' | 'b')[];
  /** Keep Σ_j a_j = 1 exactly by construction (default true). */
  consistent?: boolean;
  /** One coefficient per channel instead of one per step. */
  perChannelK?: boolean;
  /** a_j (j ≥ 1) start in U[initMin, initMax] unless given; the paper's k_n range [−0.1, 0] by default. */
  initMin?: number;
  initMax?: number;
  seed?: number;
}

interface Plan {
  steps: number;
  /** How many u_{n−j} and f(u_{n−j}) the update reads: coefficients that are fixed at 0 at the end are dropped. */
  states: number;
  evaluations: number;
  a?: number[];
  b: number[];
  trainableA: boolean;
  trainableB: boolean;
  consistent: boolean;
}

function usedLength(values: number[], trainable: boolean, total: number, from: number): number {
  if (trainable) return total;
  let n = values.length;
  while (n > from && values[n - 1] === 0) n--;
  return Math.max(n, from);
}

function plan(o: LinearKStepOptions): Plan {
  const steps = o.steps ?? 2;
  const where = 'linear-k-step';
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`${where}: option 'steps' must be an integer >= 1, got ${steps}.`);
  const trainable = o.trainable ?? ['a'];
  if (!Array.isArray(trainable) || trainable.some((t) => t !== 'a' && t !== 'b')) {
    throw new Error(`${where}: option 'trainable' must list 'a' and/or 'b', got ${JSON.stringify(trainable)}.`);
  }
  const consistent = o.consistent ?? true;
  const aLength = consistent ? steps - 1 : steps;
  if (o.a !== undefined && (o.a.length !== aLength || !o.a.every(Number.isFinite))) {
    throw new Error(`${where}: option 'a' must hold ${aLength} numbers (${consistent ? 'a_1 ... a_{k-1}; a_0 = 1 - their sum' : 'a_0 ... a_{k-1}'}), got ${JSON.stringify(o.a)}.`);
  }
  const b = o.b ?? [1, ...Array(steps - 1).fill(0)];
  if (b.length !== steps || !b.every(Number.isFinite)) throw new Error(`${where}: option 'b' must hold ${steps} numbers b_0 ... b_{k-1}, got ${JSON.stringify(o.b)}.`);
  const trainableA = trainable.includes('a');
  const trainableB = trainable.includes('b');
  // Fixed a's can be given, trainable ones start drawn unless given: a fixed, undrawn a is an error.
  if (!trainableA && o.a === undefined && aLength > 0) throw new Error(`${where}: fixed a coefficients (trainable without 'a') need option 'a'.`);
  const states = o.a === undefined || trainableA ? steps : usedLength(consistent ? [1, ...o.a] : o.a, false, steps, 1);
  const evaluations = usedLength(b, trainableB, steps, 1);
  const a = o.a && (consistent ? o.a.slice(0, states - 1) : o.a.slice(0, states));
  return { steps, states, evaluations, a, b: b.slice(0, evaluations), trainableA, trainableB, consistent };
}

/**
 * The general explicit k-step linear multi-step scheme of the paper's Appendix A.3:
 * u_{n+1} = Σ_{j<k} a_{n,j} u_{n−j} + Δt Σ_{j<k} b_{n,j} f(u_{n−j}), with Σ_j a_{n,j} = 1 kept exactly (a_0 =
 * 1 − Σ_{j≥1} a_j) and the coefficients chosen by `trainable` learned per step. k = 2, b = (1, 0) is the LM scheme
 * (`linear-multi-step`): same outputs for the same weights. A step without enough history (the network's first
 * steps) is a forward Euler step, a multi-step method's start; a step that changes shape is forward Euler through
 * the shortcut, which also carries the kept history into the new shape.
 */
export const linearKStep: SchemeDefinition<LinearKStepOptions> = {
  description: 'k-step linear multi-step: u_{n+1} = sum_j a_j u_{n-j} + dt sum_j b_j f(u_{n-j}), sum_j a_j = 1 (paper, Appendix A.3)',
  defaults: { steps: 2, trainable: ['a'], consistent: true, perChannelK: false },
  memory: (o): SchemeMemory => {
    const p = plan(o);
    return { states: p.states - 1, evaluations: p.evaluations - 1 };
  },
  step: (state, ctx, options) => {
    const p = plan(options);
    const history = state.history ?? [];
    const pastF = state.pastF ?? [];
    if (ctx.changesShape || history.length < p.states - 1 || pastF.length < p.evaluations - 1) return shortcutEulerStep(state, ctx);
    const f = ctx.residual();
    const fu = f(state.u);
    const name = `${ctx.name}_lm`;
    const layer = new LinearKStep({
      name,
      steps: p.states,
      a: p.a,
      b: p.b,
      trainableA: p.trainableA,
      trainableB: p.trainableB,
      consistent: p.consistent,
      perChannel: options.perChannelK ?? false,
      dt: ctx.dt,
      initMin: options.initMin,
      initMax: options.initMax,
      seed: layerSeed(options.seed ?? ctx.seed, name),
    });
    const u = applyLayer(layer, [state.u, ...history.slice(0, p.states - 1), fu, ...pastF.slice(0, p.evaluations - 1)]);
    return advanceState(state, ctx, ctx.finishStep(u), fu);
  },
};

/** Adams-Bashforth 2 as a fixed instance of the k-step scheme: u_{n+1} = u_n + Δt (3/2 f(u_n) − 1/2 f(u_{n−1})). */
export const adamsBashforth2: SchemeDefinition<LinearKStepOptions> = {
  ...linearKStep,
  description: 'Adams-Bashforth 2: u_{n+1} = u_n + dt (3/2 f(u_n) - 1/2 f(u_{n-1})), fixed coefficients',
  defaults: { steps: 2, a: [0], b: [1.5, -0.5], trainable: [], consistent: true, perChannelK: false },
};
