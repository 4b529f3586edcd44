import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { setBatchNormTrainOverride } from '@lm/core-blocks';
import type { Communicator } from '@lm/mpi';
import { emptySums, MetricAccumulator, softmaxCrossEntropy, summarise, type SplitMetrics } from '../metrics';
import type { Split } from '../data/datasets';
import type { EvaluateOptions } from '../train/evaluate';
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
    const numBatches = Math.ceil(limit / batchSize);
    const { begin, end } = evalBatchRange(numBatches, this.rank, this.size);
    const acc = new MetricAccumulator(o.numClasses);
    if (begin < end) {
      let bi = begin;
      for await (const b of split.batches({ batchSize, shuffle: false, augment: false, dropLast: false, startBatch: begin })) {
        let { xs, ys, labels } = b;
        const keep = Math.min(labels.length, limit - bi * batchSize);
        if (keep < labels.length) {
          const [x2, y2] = [tf.slice(xs, 0, keep), tf.slice(ys, 0, keep)];
          tf.dispose([xs, ys]);
          [xs, ys, labels] = [x2, y2, labels.subarray(0, keep)];
        }
        const logits = tf.tidy(() => model.apply(xs, { training: false }) as tf.Tensor2D);
        const loss = softmaxCrossEntropy(logits, ys);
        acc.add(loss.dataSync()[0]!, logits, labels);
        tf.dispose([xs, ys, logits, loss]);
        if (++bi >= end) break;
      }
    }
    const s = acc.sums;
    const sums = new Float64Array([s.lossSum, s.top1, s.top5, s.count]);
    this.comm.allreduce(sums);
    const total = { ...emptySums(), lossSum: sums[0]!, top1: sums[1]!, top5: sums[2]!, count: sums[3]! };
    o.onBatch?.(total.count, limit);
    return summarise(total, o.numClasses);
  };
}

/** Non-trainable float weights (moving mean and variance of batch norm), as variables. */
export function movingStatistics(model: tfl.LayersModel): tf.Variable[] {
  return model.nonTrainableWeights.filter((w) => w.dtype === 'float32').map((w) => w.read() as tf.Variable);
}
