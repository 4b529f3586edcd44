import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { TrainConfig } from '../config';
import type { Split } from '../data/datasets';
import type { MetricAccumulator } from '../metrics';
import type { evaluate } from '../train/evaluate';

/** What the training loop needs to know about the run it is part of, at start. */
export interface RunFacts {
  config: TrainConfig;
  model: tfl.LayersModel;
  /** Training images per epoch, and the whole training split (before sharding). */
  trainSize: number;
  train: Split;
  /** The checkpoint resumed from, with its global step. */
  resumedFrom?: string;
  globalStep: number;
}

/**
 * The seams through which the training loop (train/loop.ts) runs data-parallel: one rank per process, every
 * rank holding the same model, each step on its share of the global batch. See "Distributed training" in the
 * trainer's README.
 */
export interface DistributedHooks {
  readonly rank: number;
  readonly size: number;
  /** Only this rank writes the run folder (config, metrics, checkpoints, model, summary). */
  readonly writer: boolean;
  /** Checks that every rank runs the same configuration, data and initial weights (throws naming what differs). */
  start(run: RunFacts): Promise<void>;
  /** The split the loop iterates: each global batch of the epoch's seeded order, cut to this rank's share. */
  trainSplit(split: Split): Split;
  /**
   * Averages the step's gradients over ranks (one allreduce, all gradients flattened into one buffer) and
   * replaces them in `grads`; adds the global batch's metric sums to `acc`; returns the global mean loss.
   */
  reduceStep(grads: tf.NamedTensorMap, vars: tf.Variable[], loss: tf.Scalar, logits: tf.Tensor2D, labels: Int32Array, acc: MetricAccumulator): number;
  /** Set when any rank was asked to stop (SIGINT/SIGTERM), agreed at the last step: every rank stops at the same step. */
  readonly stopRequested: string | undefined;
  /** `evaluate` with the split sharded over ranks and the sums reduced: every rank gets the global metrics. */
  evaluate: typeof evaluate;
}
