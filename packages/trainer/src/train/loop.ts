import { dirname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { registry } from '@lm/core-blocks';
import { saveModel, writeFileAtomic } from '@lm/core-blocks/node';
import { getModelRandomState, type ModelRandomState, setModelRandomState } from '@lm/stochastic';
import { resolveConfig, validateConfig, type TrainConfig, type TrainOverrides } from '../config';
import { asFileError, DataError, DivergenceError, InterruptedError, NonFiniteWeightsError, OptionError } from '../errors';
import { type BackendProbes, selectBackend } from '../backend/select';
import { heldOut, loadData, type LoadedData, type Split } from '../data/datasets';
import { type EpochRecord, formatEpochLine, summaryCsv, writeMetricsLog } from '../log';
import { emptySums, MetricAccumulator, type MetricSums } from '../metrics';
import { optionDef, optionName, TRAIN_CONFIG_KEYS, type TrainConfigKey } from '../options/train-options';
import { learningRate } from '../optim/schedules';
import { SGD } from '../optim/sgd';
import { createProgress, type ProgressSink } from '../progress';
import {
  type CheckpointState,
  CHECKPOINT_FORMAT,
  type CheckpointWriteOptions,
  chooseCheckpoint,
  cleanTempFiles,
  describeFallback,
  latestCheckpoint,
  readCheckpointState,
  restoreCheckpoint,
  writeCheckpoint,
} from './checkpoint';
import { evaluate } from './evaluate';
import { buildModel, kValues, trainableParams } from './model';
import { trainStep } from './step';
import { loadPlugins, normalisePluginSpecs } from './plugins';
import { checkResumeFolder, lockRunFolder, makeFolder, refuseExistingRun, type RunLock } from './run-folder';
import { versions } from '../version';
import type { DistributedHooks } from '../distributed/hooks';
import { KernelGuard, StepAbandoned } from '../supervisor/kernel-guard';
import { PreStepState } from '../supervisor/pre-step-state';
import type { StopFlag } from '../supervisor/stop-flag';

/** What {@link TrainOptions.onStepEnd} receives after every optimizer step. */
export interface StepEnd {
  /** One-based epoch and step inside it. */
  epoch: number;
  step: number;
  stepsPerEpoch: number;
  globalStep: number;
  loss: number;
  lr: number;
  /** The model being trained (as Keras gives callbacks `this.model`). */
  model: tfl.LayersModel;
}

export interface TrainOptions {
  /** Continue the run in this folder from its newest verified checkpoint (true: the folder `out` of the config). */
  resume?: string | boolean;
  /** Progress display: a sink, or a mode ('auto': bar on a TTY stderr, lines otherwise). */
  progress?: ProgressSink | 'auto' | 'bar' | 'lines' | 'silent';
  /** Receives the human-readable lines (backend, data, epochs); default: stdout. */
  log?: (line: string) => void;
  /** Receives warnings (synthetic fallback, skipped checkpoints, stale lock); default: stderr. */
  warn?: (line: string) => void;
  /** Called after every optimizer step (like Keras' onBatchEnd). */
  onStepEnd?: (s: StepEnd) => void | Promise<void>;
  /** Called after every epoch with its metrics record (like Keras' onEpochEnd). */
  onEpochEnd?: (r: EpochRecord) => void | Promise<void>;
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
  /**
   * Stop requests from another thread (the `lm` CLI's main thread owns the signals and trains in a worker):
   * honoured between kernel dispatches, so a step in progress is abandoned (none of it applied), then as a
   * signal is: a checkpoint of the steps before it and {@link InterruptedError}.
   */
  stopFlag?: StopFlag;
  /** Data-parallel training: this process is one rank (see distributed/hooks.ts); only the writer rank touches the run folder. */
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

/** Where the run stands: a fresh start, or a verified checkpoint's position. */
interface Position {
  epoch: number;
  stepInEpoch: number;
  globalStep: number;
  trainSeconds: number;
  history: EpochRecord[];
  sums: MetricSums;
}

/** Everything the epochs need, built once by the stages before them. */
interface Run {
  config: TrainConfig;
  outDir: string;
  data: LoadedData;
  held?: { name: 'validation' | 'test'; split: Split };
  model: tfl.LayersModel;
  sgd: SGD;
  vars: tf.Variable[];
  stepsPerEpoch: number;
  /** Training images per epoch (before sharding over ranks). */
  trainSize: number;
  /** This process writes the run folder (false on the other ranks of a distributed run). */
  writer: boolean;
  backend: { name: string; line: string };
  pos: Position;
  lastCheckpoint?: string;
}

interface Ui {
  progress: ProgressSink;
  log: (line: string) => void;
  warn: (line: string) => void;
  now: () => number;
}

/** Runs (or resumes) a training run; see the package README for the run folder's layout. */
export async function train(overrides: TrainOverrides | TrainConfig = {}, options: TrainOptions = {}): Promise<TrainResult> {
  const ui = createUi(options);
  const target = resolveTarget(overrides, options);
  const dist = options.distributed;
  const writer = !dist || dist.writer;
  const lock: Pick<RunLock, 'release'> = writer ? openRunFolder(target, ui) : { release: () => {} };
  try {
    const start: { config: TrainConfig; checkpoint?: string } = target.fresh ? { config: target.fresh } : resumePoint(target.runDir, overrides, ui);
    await loadPlugins(start.config.plugins);
    checkNames(start.config);
    const backend = options.keepBackend ? { name: tf.getBackend(), line: `backend: ${tf.getBackend()} (already set)` } : await selectBackend(start.config.backend, options.backendProbes);
    ui.log(backend.line);
    const data = await loadRunData(start.config, options, ui);
    // the config a run records is fixed here, once: the options plus the data actually used
    const config: TrainConfig = start.checkpoint ? start.config : { ...start.config, ...data.used };
    const run = buildRun(config, target.runDir, data, backend, start.checkpoint, ui, writer);
    try {
      await dist?.start({ config, model: run.model, trainSize: run.trainSize, train: data.dataset.train, resumedFrom: start.checkpoint, globalStep: run.pos.globalStep });
      await trainEpochs(run, options, ui);
      return await finish(run, ui);
    } catch (e) {
      run.model.dispose();
      throw e;
    }
  } finally {
    lock.release();
  }
}

function createUi(options: TrainOptions): Ui {
  const progress: ProgressSink = typeof options.progress === 'object' ? options.progress : createProgress({ mode: options.progress ?? 'auto' });
  const out = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const err = options.warn ?? ((line: string) => process.stderr.write(`${line}\n`));
  return {
    progress,
    log: (line) => {
      progress.clear();
      out(line);
    },
    warn: (line) => {
      progress.clear();
      err(line);
    },
    now: options.now ?? Date.now,
  };
}

/** Stage 1: which folder, and for a new run its whole config (a resumed run's comes from its checkpoint, under the lock). */
function resolveTarget(overrides: TrainOverrides, options: TrainOptions): { runDir: string; fresh?: TrainConfig } {
  if (!options.resume) {
    const config = resolveConfig({ ...overrides, ...(overrides.plugins ? { plugins: normalisePluginSpecs(overrides.plugins) } : {}) });
    return { runDir: resolve(config.out), fresh: config };
  }
  const dir = typeof options.resume === 'string' ? options.resume : overrides.out;
  if (!dir) throw new OptionError('--resume', '--resume needs a run folder (or --out <run folder>)');
  const runDir = checkResumeFolder(dir);
  if (overrides.out !== undefined && resolve(overrides.out) !== runDir) {
    throw new OptionError('--out', `--out '${overrides.out}' with --resume '${dir}': a resumed run stays in its folder; leave --out out`);
  }
  return { runDir };
}

/** Stage 2: the run folder created (without mkdir -p loops), locked, cleaned of failed writes; a new run must not overwrite one. */
function openRunFolder(target: { runDir: string; fresh?: TrainConfig }, ui: Ui): RunLock {
  makeFolder(target.runDir);
  const lock = lockRunFolder(target.runDir);
  try {
    if (lock.replacedStale) ui.warn(`warning: replaced the stale lock of process ${lock.replacedStale.pid} (not running any more) in ${target.runDir}`);
    if (target.fresh) refuseExistingRun(target.runDir);
    const cleaned = cleanTempFiles(target.runDir);
    if (cleaned.length) ui.warn(`warning: removed ${cleaned.length} leftover temp file(s) of an interrupted write: ${cleaned.slice(0, 3).join(', ')}${cleaned.length > 3 ? ', …' : ''}`);
    return lock;
  } catch (e) {
    lock.release();
    throw e;
  }
}

const sameValue = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Stage 2 (resume): the newest checkpoint that verifies (saying which newer ones were skipped and why), and the
 * run's stored config with the options `--resume` honours; any other option given with a new value is an error.
 */
function resumePoint(runDir: string, overrides: TrainOverrides, ui: Ui): { config: TrainConfig; checkpoint: string } {
  const choice = chooseCheckpoint(runDir);
  for (const line of describeFallback(choice)) ui.warn(line);
  if (!choice.path) {
    if (!choice.skipped.length) throw new OptionError('--resume', `--resume: no checkpoint in '${runDir}' (expected ${join(runDir, 'checkpoints', 'ckpt-<step>')}); start it again without --resume`);
    throw new DataError(`--resume: no checkpoint of '${runDir}' verifies (${choice.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}); the run cannot continue`);
  }
  const saved = readCheckpointState(choice.path);
  validateConfig(saved.config, `${join(choice.path, 'state.json')} field 'config'`);
  const config: Record<string, unknown> = { ...saved.config, out: runDir };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined || key === 'out') continue;
    if (!(TRAIN_CONFIG_KEYS as string[]).includes(key)) throw new OptionError(key, `train: unknown option '${key}'`);
    const d = optionDef(key as TrainConfigKey);
    const name = optionName(key as TrainConfigKey);
    const checked = d.kind.check(name, value);
    if (key === 'plugins') config.plugins = [...new Set([...(saved.config.plugins ?? []), ...normalisePluginSpecs(checked as string[])])];
    else if (d.onResume === 'honoured') config[key] = checked;
    else if (!sameValue(checked, (saved.config as Record<string, unknown>)[key])) {
      throw new OptionError(
        name,
        `${name} cannot change when resuming: the run was started with ${JSON.stringify((saved.config as Record<string, unknown>)[key]) ?? 'no value'}; ` +
          `leave ${name} out to continue it, or start a new run in a new --out folder`,
      );
    }
  }
  const c = config as TrainConfig;
  if (c.epochs < saved.history.length) throw new OptionError('--epochs', `--epochs ${c.epochs} is less than the ${saved.history.length} epochs this run has already trained`);
  return { config: c, checkpoint: choice.path };
}

/** Every name checked before any backend starts or data downloads (the model must be registered). */
function checkNames(c: TrainConfig): void {
  if (!registry.has('model', c.model)) {
    const known = registry.list('model');
    throw new OptionError('--model', `--model must be one of: ${known.join(', ')} (got '${c.model}'; plugins add more)`);
  }
}

/** Stage 3: the data, with its notices and warnings shown. */
async function loadRunData(c: TrainConfig, options: TrainOptions, ui: Ui): Promise<LoadedData> {
  const data = await loadData(c, { progress: options.progress === 'silent' ? 'silent' : 'auto' });
  if (data.notice) ui.log(data.notice);
  for (const w of data.warnings) ui.warn(w);
  return data;
}

/** Stage 4: model, optimizer and the starting position (fresh, or restored from the checkpoint). */
function buildRun(config: TrainConfig, outDir: string, data: LoadedData, backend: Run['backend'], checkpoint: string | undefined, ui: Ui, writer = true): Run {
  const ds = data.dataset;
  const held = heldOut(ds, config.evalSplit);
  checkAgainstData(config, ds.numClasses, ds.inputShape);
  const model = buildModel(config, ds.numClasses, ds.inputShape);
  const params = trainableParams(model, config.wdExclude, { lrScale: config.coefficientLrScale, weightDecay: config.coefficientWeightDecay });
  const sgd = new SGD(params, { lr: config.lr, momentum: config.momentum, weightDecay: config.weightDecay, nesterov: config.nesterov });
  const trainSize = config.trainImages === 'all' ? ds.train.size : Math.min(config.trainImages, ds.train.size);
  const stepsPerEpoch = Math.floor(trainSize / config.batchSize);
  if (trainSize === 0) throw new DataError(`the training split of ${data.description} has no images`);
  if (stepsPerEpoch < 1) {
    throw new OptionError('--batch-size', `--batch-size ${config.batchSize} is larger than the ${trainSize} training images per epoch`);
  }
  let pos: Position = { epoch: 0, stepInEpoch: 0, globalStep: 0, trainSeconds: 0, history: [], sums: emptySums() };
  try {
    if (checkpoint) {
      const s = restoreCheckpoint(checkpoint, model, sgd);
      if (s.randomState !== undefined) setModelRandomState(model, s.randomState as ModelRandomState);
      pos = { epoch: s.epoch, stepInEpoch: s.stepInEpoch, globalStep: s.globalStep, trainSeconds: s.trainSeconds, history: s.history, sums: s.trainSums };
      ui.log(`resuming ${checkpoint}: epoch ${pos.epoch + 1}, step ${pos.stepInEpoch}/${stepsPerEpoch} (global step ${pos.globalStep})`);
    } else if (writer) {
      writeRunFile(join(outDir, 'config.json'), JSON.stringify(config, null, 2));
    }
    ui.log(`model: ${config.model} (${params.reduce((n, p) => n + p.variable.size, 0)} trainable parameters) | data: ${data.description}`);
    ui.log(`run folder: ${outDir}`);
    if (writer) writeRunFile(join(outDir, 'metrics.jsonl'), pos.history);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { config, outDir, data, held, model, sgd, vars: params.map((p) => p.variable), stepsPerEpoch, trainSize, writer, backend, pos, lastCheckpoint: checkpoint };
}

/** `--model-options` may state numClasses / inputShape, but never differently from the data (no silent replacement). */
function checkAgainstData(c: TrainConfig, numClasses: number, inputShape?: [number, number, number]): void {
  const o = c.modelOptions;
  if (o.numClasses !== undefined && o.numClasses !== numClasses) {
    throw new OptionError('--model-options', `--model-options: 'numClasses' is ${o.numClasses}, but the data has ${numClasses} classes; leave numClasses out (it is taken from the data)`);
  }
  if (o.inputShape !== undefined && inputShape !== undefined && o.inputShape.join(',') !== inputShape.join(',')) {
    throw new OptionError('--model-options', `--model-options: 'inputShape' is [${o.inputShape}], but the data's images are [${inputShape}]; leave inputShape out (it is taken from the data)`);
  }
}

/** Writes a file of the run folder (the history: metrics.jsonl and summary.csv); OS errors (ENOSPC, EROFS, EACCES) become errors naming the file. */
function writeRunFile(path: string, content: string | EpochRecord[]): void {
  try {
    if (typeof content === 'string') writeFileAtomic(path, content);
    else {
      writeMetricsLog(path, content);
      writeFileAtomic(join(dirname(path), 'summary.csv'), summaryCsv(content));
    }
  } catch (e) {
    throw asFileError(e, path, 'write');
  }
}

/** Stage 5: the epochs, with checkpoints every --checkpoint-minutes and at each epoch end, and signal handling. */
async function trainEpochs(run: Run, options: TrainOptions, ui: Ui): Promise<void> {
  const { config, model, sgd, vars, stepsPerEpoch, outDir, pos } = run;
  const { progress, now } = ui;
  const numClasses = run.data.dataset.numClasses;
  const lrAt = (e: number, s: number) =>
    learningRate({ lr: config.lr, schedule: config.schedule, epochs: config.epochs, warmupEpochs: config.warmupEpochs }, { epoch: e, step: s, stepsPerEpoch });
  const stateAt = (atEpoch: number, atStep: number, lr: number): CheckpointState => ({
    format: CHECKPOINT_FORMAT,
    epoch: atEpoch,
    stepInEpoch: atStep,
    globalStep: pos.globalStep,
    lr,
    data: { seed: config.seed, epoch: atEpoch, startBatch: atStep },
    trainSums: { ...pos.sums },
    trainSeconds: pos.trainSeconds,
    randomState: getModelRandomState(model),
    kValues: kValues(model),
    history: pos.history,
    config,
    versions: versions(),
    backend: run.backend.name,
    createdAt: new Date(now()).toISOString(),
  });
  let lastCheckpointAt = now();
  let checkpointedStep = run.lastCheckpoint ? pos.globalStep : -1;
  const dist = options.distributed;
  const checkpoint = async (atEpoch: number, atStep: number) => {
    if (!run.writer) return;
    const lr = lrAt(Math.min(atEpoch, config.epochs - 1), atStep);
    try {
      run.lastCheckpoint = await writeCheckpoint(outDir, model, sgd, stateAt(atEpoch, atStep, lr), { keep: config.keepCheckpoints, ...options.checkpoint });
    } catch (e) {
      if (e instanceof NonFiniteWeightsError) {
        progress.done();
        const [epoch, step] = atStep === 0 ? [atEpoch, stepsPerEpoch] : [atEpoch + 1, atStep];
        throw new DivergenceError(epoch, step, NaN, run.lastCheckpoint ?? latestCheckpoint(outDir), `${e.message}, so no checkpoint was written`);
      }
      throw asFileError(e, join(outDir, 'checkpoints'), 'write a checkpoint in');
    }
    lastCheckpointAt = now();
    checkpointedStep = pos.globalStep;
  };

  let stopSignal: string | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopSignal) process.exit(130);
    stopSignal = sig;
    ui.log(`${sig}: stopping after this step and writing a checkpoint (${sig} again to quit at once)`);
  };
  if (options.handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  const stopFlag = options.stopFlag;
  if (stopFlag && dist) throw new Error('train: stopFlag cannot be used with distributed: the ranks stop together at a step boundary (distributed/context.ts)');
  const guard = stopFlag && new KernelGuard(stopFlag).install();
  stopFlag?.arm();
  const stopRequested = () => stopSignal ?? stopFlag?.requested();
  try {
    const sessionStart = now();
    const sessionStartStep = pos.globalStep;
    const totalSteps = config.epochs * stepsPerEpoch;
    for (; pos.epoch < config.epochs; pos.epoch++) {
      const epochStart = now();
      let epochTrainMs = 0;
      let epochImages = 0;
      let stepsThisSession = 0;
      const acc = new MetricAccumulator(numClasses, pos.sums);
      let lr = lrAt(pos.epoch, pos.stepInEpoch);
      const batches = (dist ? dist.trainSplit(run.data.dataset.train) : run.data.dataset.train).batches({
        batchSize: config.batchSize,
        shuffle: true,
        augment: config.augment,
        seed: config.seed,
        epoch: pos.epoch,
        dropLast: true,
        startBatch: pos.stepInEpoch,
      });
      if (pos.stepInEpoch < stepsPerEpoch) {
        for await (const { xs, ys, labels } of batches) {
          const t0 = now();
          lr = lrAt(pos.epoch, pos.stepInEpoch);
          const before = guard && new PreStepState(model);
          let loss: number;
          try {
            loss = trainStep({
              model, vars, sgd, xs, ys, labels, lr, acc,
              reduce: dist && ((...a) => dist.reduceStep(...a)),
              forwardBackward: guard && ((pass) => guard.abandonable(pass)),
            });
          } catch (e) {
            if (!(e instanceof StepAbandoned)) throw e;
            tf.dispose([xs, ys]);
            before!.restore();
            ui.warn(`${e.signal}: abandoned step ${pos.stepInEpoch + 1}/${stepsPerEpoch} of epoch ${pos.epoch + 1} (none of it applied); the checkpoint holds the run up to the step before it`);
            if (checkpointedStep !== pos.globalStep) await checkpoint(pos.epoch, pos.stepInEpoch);
            progress.done();
            throw new InterruptedError(e.signal, run.lastCheckpoint!, outDir);
          }
          before?.release();
          if (!Number.isFinite(loss)) {
            tf.dispose([xs, ys]);
            progress.done();
            throw new DivergenceError(pos.epoch + 1, pos.stepInEpoch + 1, loss, run.lastCheckpoint ?? latestCheckpoint(outDir));
          }
          if (dist?.stopRequested) stopSignal = dist.stopRequested;
          tf.dispose([xs, ys]);
          pos.stepInEpoch++;
          pos.globalStep++;
          stepsThisSession++;
          const dt = now() - t0;
          epochTrainMs += dt;
          epochImages += labels.length;
          pos.trainSeconds += dt / 1000;
          pos.sums = acc.sums;
          const elapsed = (now() - sessionStart) / 1000;
          const done = pos.globalStep - sessionStartStep;
          progress.update({
            epoch: pos.epoch + 1,
            epochs: config.epochs,
            step: pos.stepInEpoch,
            steps: stepsPerEpoch,
            imagesPerSecond: (epochImages * 1000) / Math.max(epochTrainMs, 1),
            loss,
            etaSeconds: done > 0 ? (elapsed / done) * (totalSteps - pos.globalStep) : NaN,
          });
          await options.onStepEnd?.({ epoch: pos.epoch + 1, step: pos.stepInEpoch, stepsPerEpoch, globalStep: pos.globalStep, loss, lr, model });
          const stop = stopRequested();
          if (stop && pos.stepInEpoch < stepsPerEpoch) {
            await checkpoint(pos.epoch, pos.stepInEpoch);
            progress.done();
            throw new InterruptedError(stop, run.lastCheckpoint!, outDir);
          }
          if (pos.stepInEpoch >= stepsPerEpoch) break;
          const everySteps = config.checkpointEverySteps > 0 && pos.globalStep % config.checkpointEverySteps === 0;
          const everyMinutes = now() - lastCheckpointAt >= config.checkpointMinutes * 60_000;
          if (everySteps || everyMinutes) await checkpoint(pos.epoch, pos.stepInEpoch);
        }
        if (stepsThisSession === 0) {
          progress.done();
          throw new DataError(`epoch ${pos.epoch + 1}: the training split of ${run.data.description} gave no usable image (every image failed to read; see the warnings above)`);
        }
      }
      const trainMetrics = acc.result();
      const evalMetrics = run.held
        ? { split: run.held.name, ...(await (dist?.evaluate ?? evaluate)(model, run.held.split, { batchSize: config.evalBatchSize, numClasses, maxImages: config.evalImages === 'all' ? 0 : config.evalImages })) }
        : undefined;
      if (evalMetrics && evalMetrics.images === 0) {
        progress.done();
        throw new DataError(`epoch ${pos.epoch + 1}: the ${evalMetrics.split} split of ${run.data.description} gave no usable image (every image failed to read; see the warnings above)`);
      }
      const record: EpochRecord = {
        epoch: pos.epoch + 1,
        globalStep: pos.globalStep,
        lr,
        train: trainMetrics,
        ...(evalMetrics ? { eval: evalMetrics } : {}),
        imagesPerSecond: epochTrainMs > 0 ? (epochImages * 1000) / epochTrainMs : 0,
        seconds: (now() - epochStart) / 1000,
        k: kValues(model),
        time: new Date(now()).toISOString(),
      };
      pos.history = [...pos.history, record];
      if (run.writer) writeRunFile(join(outDir, 'metrics.jsonl'), pos.history);
      ui.log(formatEpochLine(record, config.epochs));
      await options.onEpochEnd?.(record);
      // The epoch is complete: the next position is the start of the next epoch.
      pos.stepInEpoch = 0;
      pos.sums = emptySums();
      await checkpoint(pos.epoch + 1, 0);
      const stop = stopRequested();
      if (stop && pos.epoch + 1 < config.epochs) {
        progress.done();
        throw new InterruptedError(stop, run.lastCheckpoint!, outDir);
      }
    }
  } finally {
    if (options.handleSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    stopFlag?.disarm();
    guard?.uninstall();
  }
  progress.done();
}

/** Stage 6: the final model and summary.json. */
async function finish(run: Run, ui: Ui): Promise<TrainResult> {
  const { config, outDir, model } = run;
  const modelDir = join(outDir, 'model');
  const history = run.pos.history;
  if (run.writer) {
    try {
      await saveModel(model, modelDir);
    } catch (e) {
      throw asFileError(e, modelDir, 'save the final model in');
    }
    const summary = { model: config.model, dataset: config.dataset, synthetic: run.data.dataset.synthetic ?? false, epochs: config.epochs, final: history.at(-1), checkpoint: run.lastCheckpoint };
    writeRunFile(join(outDir, 'summary.json'), JSON.stringify(summary, null, 2));
  }
  ui.log(`done: final model in ${modelDir}, metrics in ${join(outDir, 'metrics.jsonl')}`);
  return { config, outDir, history, lastCheckpoint: run.lastCheckpoint, backend: run.backend.name, model };
}
