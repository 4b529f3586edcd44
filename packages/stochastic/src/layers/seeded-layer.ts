import type * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerArgs } from '@tensorflow/tfjs-layers/dist/engine/topology';
import { randomSeed, SeededRandom, type RandomState } from '../random';

export interface SeededLayerArgs extends LayerArgs {
  /** Seed of the layer's random source; drawn at random (and then saved in the config) when omitted. */
  seed?: number;
}

/**
 * Base of the stochastic layers (like tfjs-layers' `BaseRandomLayer`): owns a {@link SeededRandom} seeded from
 * `seed`, serialises the seed, and exposes the generator's state for checkpoints. Training versus evaluation
 * comes only through `kwargs.training` of `call`; evaluation never draws.
 */
export abstract class SeededLayer extends tfl.layers.Layer {
  readonly seed: number;
  protected readonly rng: SeededRandom;

  constructor(args: SeededLayerArgs = {}) {
    super(args);
    this.seed = args.seed ?? randomSeed();
    this.rng = new SeededRandom(this.seed);
  }

  /** The random source's state (four 32-bit words): saved with a training checkpoint. */
  getRandomState(): RandomState {
    return this.rng.getState();
  }

  /** Restores a state from {@link getRandomState}: the next draws repeat those after it was taken. */
  setRandomState(state: RandomState): void {
    this.rng.setState(state);
  }

  /** Back to the state right after construction from `seed`. */
  resetRandomState(): void {
    this.rng.setState(new SeededRandom(this.seed).getState());
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), seed: this.seed };
  }
}

/** Whether a layer carries a random state (duck-typed, so two copies of this package still recognise each other). */
export function hasRandomState(layer: unknown): layer is Pick<SeededLayer, 'getRandomState' | 'setRandomState' | 'resetRandomState'> {
  const l = layer as Partial<SeededLayer> | null;
  return !!l && typeof l.getRandomState === 'function' && typeof l.setRandomState === 'function';
}
