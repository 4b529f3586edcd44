import {
  applyLayer,
  buildBranch,
  buildShortcut,
  layerSeed,
  replayChain,
  WeightedSum,
  type BlockDefinition,
  type CoefficientStorage,
  type PerturbationContext,
  type ResidualFunction,
  type ResidualRequest,
  type SchemeMemory,
  type ShortcutType,
  type StepContext,
  type StepPosition,
  type StrategyDefinition,
  type SymbolicTensor,
} from '@lm/core-blocks';
import { channelsOf, hwcOf } from '@lm/core-blocks';

export interface ResolvedStrategy {
  name: string;
  definition: StrategyDefinition<any>;
  options: Record<string, unknown>;
}

export interface StepSetup {
  blockName: string;
  block: BlockDefinition<any>;
  blockOptions: Record<string, unknown>;
  shortcut: ShortcutType;
  /** Strategies in the order they apply at each hook. */
  strategies?: ResolvedStrategy[];
  dt: number;
  /** The past the scheme keeps (default: none). */
  memory?: SchemeMemory;
  /** Seed of the weight initialisers (undefined: random). */
  seed?: number;
  /** The model's convention for trainable scheme coefficients (default 'k'). */
  coefficientStorage?: CoefficientStorage;
  /** Seed of the stochastic strategy's draws; the model seed when given, else drawn once per model. */
  strategySeed?: number;
}

/** Builds what a scheme needs for one step from the network's configuration and the state u_n. */
export function createStepContext(
  setup: StepSetup,
  u: SymbolicTensor,
  position: StepPosition,
  width: number,
  stride: number,
  name: string,
): StepContext {
  const inChannels = channelsOf(u);
  const outChannels = width * setup.block.expansion;
  const [h, w] = hwcOf(u);
  const strategies = setup.strategies ?? [];
  const combiner = strategies.find((s) => s.definition.combineBranches);
  const residualPerturbers = strategies.filter((s) => s.definition.perturbResidual);
  const stepPerturbers = strategies.filter((s) => s.definition.perturbStep);
  const branchCount = Math.max(1, ...strategies.map((s) => s.definition.branches ?? 1));
  /** The i-th strategy at one hook names its layers `<suffix>`, `<suffix>2`, ... so that two never clash. */
  const nth = (suffix: string, i: number) => (i === 0 ? suffix : `${suffix}${i + 1}`);
  const perturbation = (suffix: string): PerturbationContext => ({
    position,
    name: `${name}_${suffix}`,
    dt: setup.dt,
    seed: layerSeed(setup.strategySeed ?? setup.seed ?? 0x5eed, `${name}_${suffix}`)!,
  });

  const residual = (request: ResidualRequest = {}): ResidualFunction => {
    const inC = request.inChannels ?? inChannels;
    const outC = request.outChannels ?? outChannels;
    const s = request.stride ?? stride;
    const suffix = request.suffix ?? 'f';
    const branchWidth = request.outChannels !== undefined ? Math.max(1, Math.floor(outC / setup.block.expansion)) : width;
    const count = branchCount;
    const branches = Array.from({ length: count }, (_, i) =>
      buildBranch(setup.blockName, setup.block, [h, w, inC], {
        inChannels: inC,
        width: branchWidth,
        outChannels: outC,
        stride: s,
        name: count > 1 ? `${name}_${suffix}${i + 1}` : `${name}_${suffix}`,
        seed: setup.seed,
        options: { ...(setup.block.defaults ?? {}), ...setup.blockOptions },
      }),
    );
    let applications = 0;
    const fn = (x: SymbolicTensor): SymbolicTensor => {
      const n = applications++;
      const tag = n === 0 ? suffix : `${suffix}_a${n + 1}`;
      const outputs = branches.map((b) => b.apply(x) as SymbolicTensor);
      let f: SymbolicTensor;
      if (outputs.length === 1) f = outputs[0]!;
      else if (combiner) f = combiner.definition.combineBranches!(outputs, perturbation(tag), combiner.options);
      else f = applyLayer(new WeightedSum({ coefficients: outputs.map(() => 1), name: `${name}_${tag}_branches` }), outputs);
      residualPerturbers.forEach((s, i) => {
        f = s.definition.perturbResidual!(f, perturbation(nth(`${tag}_drop`, i)), s.options);
      });
      return f;
    };
    return Object.assign(fn, { inChannels: inC, outChannels: outC, stride: s, branches });
  };

  let firstShortcut: { from: SymbolicTensor; to: SymbolicTensor } | undefined;
  const shortcut = (x: SymbolicTensor): SymbolicTensor => {
    if (firstShortcut) return replayChain(firstShortcut.from, firstShortcut.to, x);
    const to = buildShortcut(x, { type: setup.shortcut, outChannels, stride, name: `${name}_shortcut`, seed: layerSeed(setup.seed, `${name}_shortcut`) });
    firstShortcut = { from: x, to };
    return to;
  };

  return {
    position,
    name,
    dt: setup.dt,
    inChannels,
    outChannels,
    stride,
    changesShape: stride !== 1 || inChannels !== outChannels,
    coefficientStorage: setup.coefficientStorage ?? 'k',
    memory: setup.memory ?? { states: 0, evaluations: 0 },
    seed: setup.seed,
    residual,
    shortcut,
    finishStep: (x) => {
      let out = setup.block.afterStep ? setup.block.afterStep(x, name) : x;
      stepPerturbers.forEach((s, i) => {
        out = s.definition.perturbStep!(out, perturbation(nth('step', i)), s.options);
      });
      return out;
    },
  };
}
