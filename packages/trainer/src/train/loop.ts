import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { saveModel, writeFileAtomic } from '@lm/core-blocks';
import { getModelRandomState, type ModelRandomState, setModelRandomState } from '@lm/stochastic';
import { resolveConfig, type TrainConfig, type TrainOverrides } from '../config';
import { DivergenceError, InterruptedError, OptionError } from '../errors';
import { type BackendProbes, selectBackend } from '../backend/select';
import { heldOut, loadData } from '../data/datasets';
import { type EpochRecord, formatEpochLine, writeMetricsLog } from '../log';
import { emptySums, MetricAccumulator, softmaxCrossEntropy } from '../metrics';
import { learningRate } from '../optim/schedules';
import { SGD } from '../optim/sgd';
import { createProgress, type ProgressSink } from '../progress';
import {
  type CheckpointState,
  CHECKPOINT_FORMAT,
  type CheckpointWriteOptions,
  latestCheckpoint,
  readCheckpointState,
  restoreCheckpoint,
  writeCheckpoint,
} from './checkpoint';
import { evaluate } from './evaluate';
import { buildModel, kValues, trainableParams } from './model';
import { loadPlugins, normalisePluginSpecs } from './plugins';
import { versions } from '../version';
import type { DistributedHooks } from '../distributed/hooks';

export interface TrainOptions {
  /** Continue the run in this folder from its latest checkpoint (true: the folder `out` of the config). */
  resume?: string | boolean;
  /** Progress display: a sink, or a mode ('auto': bar on a TTY stderr, lines otherwise). */
  progress?: ProgressSink | 'auto' | 'bar' | 'lines' | 'silent';
  /** Receives the human-readable lines (backend, data, epochs); default: stdout. */
  log?: (line: string) => void;
  /** Backend availability probes (tests). */
  backendProbes?: BackendProbes;
  /** Skip backend selection (the caller already set one). */
  keepBackend?: boolean;
  /** Checkpoint writer hooks (tests: simulate a crash while writing). */
  checkpoint?: CheckpointWriteOptions;
  /** Clock in ms (tests). */
  now?: () => number;
  /**
   * On SIGINT/SIGTERM, finish the current step, write a checkpoint and throw {@link InterruptedError}
   * (the CLI sets this; a second signal exits at once). Default false.
   */
  handleSignals?: boolean;
  /** Data-parallel training: this process is one rank (see distributed/hooks.ts). */
  distributed?: DistributedHooks;
}

export interface TrainResult {
  config: TrainConfig;
  outDir: string;
  history: EpochRecord[];
  lastCheckpoint?: string;
  backend: string;
  /** The trained model (caller disposes). */
  model: tfl.LayersModel;
}

/** Runs (or resumes) a training run; see the package README for the run folder's layout. */
export async function train(overrides: TrainOverrides | TrainConfig = {}, options: TrainOptions = {}): Promise<TrainResult> {
  const now = options.now ?? Date.now;
  const dist = options.distributed;
  const writer = !dist || dist.writer;
  const progress: ProgressSink =
    typeof options.progress === 'object' ? options.progress : createProgress({ mode: options.progress ?? 'auto' });
  const out = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const log = (line: string) => {
    progress.clear();
    out(line);
  };

  // 1. Config: fresh, or the one stored in the checkpoint (epochs may be extended).
  let resumeFrom: string | undefined;
  let config: TrainConfig;
  if (options.resume) {
    const dir = typeof options.resume === 'string' ? options.resume : overrides.out;
    if (!dir) throw new OptionError('--resume', '--resume needs a run folder (or --out <run folder>)');
    const runDir = resolve(dir);
    resumeFrom = latestCheckpoint(runDir);
    if (!resumeFrom) throw new OptionError('--resume', `--resume: no checkpoint in '${runDir}' (expected ${join(runDir, 'checkpoints', 'latest')})`);
    const saved = readCheckpointState(resumeFrom).config;
    config = { ...saved, out: runDir, ...(overrides.epochs !== undefined ? { epochs: overrides.epochs } : {}) };
    if (overrides.backend !== undefined) config.backend = overrides.backend;
  } else {
    config = resolveConfig({ ...overrides, plugins: normalisePluginSpecs(overrides.plugins ?? []) });
  }
  const outDir = resolve(config.out);

  await loadPlugins(config.plugins);
  const backend = options.keepBackend ? { name: tf.getBackend(), line: `backend: ${tf.getBackend()} (already set)` } : await selectBackend(config.backend, options.backendProbes);
  log(backend.line);

  const data = await loadData(config, { progress: options.progress === 'silent' ? 'silent' : 'auto' });
  if (data.notice) log(data.notice);
  const ds = data.dataset;
  if (!resumeFrom) {
    // Record the data actually used, so that a resumed run (and lm eval) reads the same data: the resolved
    // CIFAR path, or the synthetic dataset when CIFAR was not available.
    if (ds.synthetic && config.dataset !== 'synthetic') config = { ...config, dataset: 'synthetic', syntheticClasses: ds.numClasses };
    else if (!config.data && config.dataset !== 'synthetic' && config.dataset !== 'imagenet' && ds.source) config = { ...config, data: ds.source };
  }
  const held = heldOut(ds, config.evalSplit);
  const numClasses = ds.numClasses;

  const model = buildModel(config, numClasses, ds.inputShape);
  const params = trainableParams(model, config.wdExclude);
  const sgd = new SGD(params, { lr: config.lr, momentum: config.momentum, weightDecay: config.weightDecay, nesterov: config.nesterov });
  const vars = params.map((p) => p.variable);

  const trainSize = config.trainImages > 0 ? Math.min(config.trainImages, ds.train.size) : ds.train.size;
  const stepsPerEpoch = Math.floor(trainSize / config.batchSize);
  if (stepsPerEpoch < 1) {
    throw new OptionError('--batch-size', `--batch-size ${config.batchSize} is larger than the ${trainSize} training images per epoch`);
  }

  mkdirSync(outDir, { recursive: true });
  let epoch = 0;
  let stepInEpoch = 0;
  let globalStep = 0;
  let trainSeconds = 0;
  let history: EpochRecord[] = [];
  let sums = emptySums();
  let lastCheckpoint: string | undefined;
  if (resumeFrom) {
    const s = restoreCheckpoint(resumeFrom, model, sgd);
    if (s.randomState !== undefined) setModelRandomState(model, s.randomState as ModelRandomState);
    ({ epoch, stepInEpoch, globalStep, trainSeconds, history } = s);
    sums = s.trainSums;
    lastCheckpoint = resumeFrom;
    log(`resuming ${resumeFrom}: epoch ${epoch + 1}, step ${stepInEpoch}/${stepsPerEpoch} (global step ${globalStep})`);
  } else if (writer) {
    writeFileAtomic(join(outDir, 'config.json'), JSON.stringify(config, null, 2));
  }
  await dist?.start({ config, model, trainSize, train: ds.train, resumedFrom: resumeFrom, globalStep });
  log(`model: ${config.model} (${params.reduce((n, p) => n + p.variable.size, 0)} trainable parameters) | data: ${data.description}`);
  log(`run folder: ${outDir}`);
  if (writer) writeMetricsLog(join(outDir, 'metrics.jsonl'), history);

  const lrAt = (e: number, s: number) =>
    learningRate({ lr: config.lr, schedule: config.schedule, epochs: config.epochs, warmupEpochs: config.warmupEpochs }, { epoch: e, step: s, stepsPerEpoch });
  const stateNow = (atEpoch: number, atStep: number, lr: number): CheckpointState => ({
    format: CHECKPOINT_FORMAT,
    epoch: atEpoch,
    stepInEpoch: atStep,
    globalStep,
    lr,
    data: { seed: config.seed, epoch: atEpoch, startBatch: atStep },
    trainSums: { ...sums },
    trainSeconds,
    randomState: getModelRandomState(model),
    kValues: kValues(model),
    history,
    config,
    versions: versions(),
    backend: backend.name,
    createdAt: new Date(now()).toISOString(),
  });
  const checkpoint = async (atEpoch: number, atStep: number) => {
    if (!writer) return;
    const lr = lrAt(Math.min(atEpoch, config.epochs - 1), atStep);
    lastCheckpoint = await writeCheckpoint(outDir, model, sgd, stateNow(atEpoch, atStep, lr), { keep: config.keepCheckpoints, ...options.checkpoint });
    lastCheckpointAt = now();
  };

  let lastCheckpointAt = now();
  let stopSignal: string | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopSignal) process.exit(130);
    stopSignal = sig;
    log(`${sig}: stopping after this step and writing a checkpoint (${sig} again to quit at once)`);
  };
  if (options.handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  try {
    const sessionStart = now();
    const sessionStartStep = globalStep;
    const totalSteps = config.epochs * stepsPerEpoch;
    const batchSize = config.batchSize;

    for (; epoch < config.epochs; epoch++) {
      const epochStart = now();
      let epochTrainMs = 0;
      let epochImages = 0;
      const acc = new MetricAccumulator(numClasses, sums);
      let lr = lrAt(epoch, stepInEpoch);
      const batches = (dist ? dist.trainSplit(ds.train) : ds.train).batches({
        batchSize,
        shuffle: true,
        augment: config.augment,
        seed: config.seed,
        epoch,
        dropLast: true,
        startBatch: stepInEpoch,
      });
      if (stepInEpoch < stepsPerEpoch) {
        for await (const { xs, ys, labels } of batches) {
          const t0 = now();
          lr = lrAt(epoch, stepInEpoch);
          let logits: tf.Tensor2D | undefined;
          const { value, grads } = tf.variableGrads(() => {
            const l = model.apply(xs, { training: true }) as tf.Tensor2D;
            logits = tf.keep(l);
            return softmaxCrossEntropy(l, ys);
          }, vars);
          const loss = dist ? dist.reduceStep(grads, vars, value, logits!, labels, acc) : value.dataSync()[0]!;
          if (!Number.isFinite(loss)) {
            tf.dispose([xs, ys, value, logits!, ...Object.values(grads)]);
            progress.done();
            throw new DivergenceError(epoch + 1, stepInEpoch + 1, loss, lastCheckpoint ?? latestCheckpoint(outDir));
          }
          sgd.step(vars.map((v) => grads[v.name]!), lr);
          if (!dist) acc.add(loss, logits!, labels);
          if (dist?.stopRequested) stopSignal = dist.stopRequested;
          tf.dispose([xs, ys, value, logits!, ...Object.values(grads)]);
          stepInEpoch++;
          globalStep++;
          const dt = now() - t0;
          epochTrainMs += dt;
          epochImages += labels.length;
          trainSeconds += dt / 1000;
          sums = acc.sums;
          const elapsed = (now() - sessionStart) / 1000;
          const done = globalStep - sessionStartStep;
          progress.update({
            epoch: epoch + 1,
            epochs: config.epochs,
            step: stepInEpoch,
            steps: stepsPerEpoch,
            imagesPerSecond: (epochImages * 1000) / Math.max(epochTrainMs, 1),
            loss,
            etaSeconds: done > 0 ? (elapsed / done) * (totalSteps - globalStep) : NaN,
          });
          if (stopSignal && stepInEpoch < stepsPerEpoch) {
            await checkpoint(epoch, stepInEpoch);
            progress.done();
            throw new InterruptedError(stopSignal, lastCheckpoint!, outDir);
          }
          if (stepInEpoch >= stepsPerEpoch) break;
          const everySteps = config.checkpointEverySteps > 0 && globalStep % config.checkpointEverySteps === 0;
          const everyMinutes = now() - lastCheckpointAt >= config.checkpointMinutes * 60_000;
          if (everySteps || everyMinutes) await checkpoint(epoch, stepInEpoch);
        }
      }
      const trainMetrics = acc.result();
      const evalMetrics = held
        ? { split: held.name, ...(await (dist?.evaluate ?? evaluate)(model, held.split, { batchSize: config.evalBatchSize, numClasses, maxImages: config.evalImages })) }
        : undefined;
      const record: EpochRecord = {
        epoch: epoch + 1,
        globalStep,
        lr,
        train: trainMetrics,
        ...(evalMetrics ? { eval: evalMetrics } : {}),
        imagesPerSecond: epochTrainMs > 0 ? (epochImages * 1000) / epochTrainMs : 0,
        seconds: (now() - epochStart) / 1000,
        k: kValues(model),
        time: new Date(now()).toISOString(),
      };
      history = [...history, record];
      if (writer) writeMetricsLog(join(outDir, 'metrics.jsonl'), history);
      log(formatEpochLine(record, config.epochs));
      // The epoch is complete: the next position is the start of the next epoch.
      stepInEpoch = 0;
      sums = emptySums();
      await checkpoint(epoch + 1, 0);
      if (stopSignal && epoch + 1 < config.epochs) {
        progress.done();
        throw new InterruptedError(stopSignal, lastCheckpoint!, outDir);
      }
    }
  } finally {
    if (options.handleSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
  progress.done();
  if (writer) await saveModel(model, join(outDir, 'model'));
  const last = history[history.length - 1];
  if (writer) writeFileSync(
    join(outDir, 'summary.json'),
    JSON.stringify({ model: config.model, dataset: config.dataset, synthetic: ds.synthetic ?? false, epochs: config.epochs, final: last, checkpoint: lastCheckpoint }, null, 2),
  );
  if (existsSync(join(outDir, 'model'))) log(`done: final model in ${join(outDir, 'model')}, metrics in ${join(outDir, 'metrics.jsonl')}`);
  return { config, outDir, history, lastCheckpoint, backend: backend.name, model };
}
