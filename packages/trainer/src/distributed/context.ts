import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { setBatchNormTrainOverride } from '@lm/core-blocks';
import type { Communicator } from '@lm/mpi';
import { emptySums, type MetricAccumulator, summarise, type SplitMetrics } from '../metrics';
import type { BatchOptions, Split } from '../data/datasets';
import { evaluate, type EvaluateOptions } from '../train/evaluate';
import { checkFingerprints, runFingerprint } from './fingerprint';
import { StepReducer } from './gradients';
import type { DistributedHooks, RunFacts } from './hooks';
import { evalBatchRange, shardedSplit, shareOf } from './shard';
import { syncBatchNormTrain } from './sync-batch-norm';

export interface DistributedOptions {
  /** Synchronised batch norm: statistics of the global batch (one allreduce per layer forward and backward). */
  syncBn?: boolean;
}

/** The {@link DistributedHooks} of one rank, over an MPI communicator. */
export class DistributedContext implements DistributedHooks {
  readonly rank: number;
  readonly size: number;
  readonly writer: boolean;
  stopRequested: string | undefined;
  private reducer?: StepReducer;
  private localStop: string | undefined;
  private readonly onSignal = (sig: NodeJS.Signals) => {
    if (this.localStop) process.exit(130);
    this.localStop = sig;
  };

  constructor(
    readonly comm: Communicator,
    readonly options: DistributedOptions = {},
  ) {
    this.rank = comm.rank;
    this.size = comm.size;
    this.writer = comm.rank === 0;
  }

  /** Installs the stop-signal handlers and the sync-BN override; {@link close} removes them. */
  open(): this {
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
    if (this.options.syncBn) setBatchNormTrainOverride(syncBatchNormTrain(this.comm));
    return this;
  }

  close(): void {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    if (this.options.syncBn) setBatchNormTrainOverride(undefined);
  }

  /** The last step's allreduce: values and seconds. */
  get lastAllreduce() {
    return this.reducer?.last ?? { values: 0, seconds: 0 };
  }

  async start(run: RunFacts): Promise<void> {
    shareOf(run.config.batchSize, this.rank, this.size); // the global batch splits evenly, or a clear error
    this.reducer = new StepReducer(this.comm, this.options.syncBn ? [] : movingStatistics(run.model));
    checkFingerprints(this.comm, await runFingerprint(run));
  }

  trainSplit(split: Split): Split {
    return shardedSplit(split, this.rank, this.size);
  }

  reduceStep(grads: tf.NamedTensorMap, vars: tf.Variable[], loss: tf.Scalar, logits: tf.Tensor2D, labels: Int32Array, acc: MetricAccumulator): number {
    if (!this.reducer) throw new Error('DistributedContext.start() was not called before the first step');
    const mean = this.reducer.reduce(grads, vars, loss, logits, labels, acc, this.localStop !== undefined);
    if (this.reducer.stopVotes > 0) this.stopRequested = this.localStop ?? 'SIGTERM';
    return mean;
  }

  /** Each rank evaluates a contiguous range of the split's batches; the metric sums are summed over ranks. */
  evaluate = async (model: tfl.LayersModel, split: Split, o: EvaluateOptions): Promise<SplitMetrics> => {
    const batchSize = o.batchSize ?? 100;
    const limit = o.maxImages && o.maxImages > 0 ? Math.min(o.maxImages, split.size) : split.size;
    const { begin, end } = evalBatchRange(Math.ceil(limit / batchSize), this.rank, this.size);
    const images = Math.max(0, Math.min(end * batchSize, limit) - begin * batchSize);
    const mine = images > 0 ? await evaluate(model, batchRange(split, begin, images), { ...o, maxImages: images, onBatch: undefined }) : undefined;
    const n = mine?.images ?? 0;
    // summarise() in reverse: the counts are integers, the loss a mean over n images.
    const hits = (error: number | undefined) => (mine && error !== undefined ? Math.round((1 - error) * n) : 0);
    const sums = new Float64Array([mine ? mine.loss * n : 0, hits(mine?.top1Error), hits(mine?.top5Error), n]);
    this.comm.allreduce(sums);
    const total = { ...emptySums(), lossSum: sums[0]!, top1: sums[1]!, top5: sums[2]!, count: sums[3]! };
    o.onBatch?.(total.count, limit);
    return summarise(total, o.numClasses);
  };
}

/** The unaugmented, in-order batches of `split` from batch `begin` on, `images` images in all. */
function batchRange(split: Split, begin: number, images: number): Split {
  return {
    size: images,
    batches: (opts: BatchOptions) => split.batches({ ...opts, startBatch: begin }),
  };
}

/** Non-trainable float weights (moving mean and variance of batch norm), as variables. */
export function movingStatistics(model: tfl.LayersModel): tf.Variable[] {
  return model.nonTrainableWeights.filter((w) => w.dtype === 'float32').map((w) => w.read() as tf.Variable);
}
