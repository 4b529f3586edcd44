import { Worker } from 'node:worker_threads';
import { trainWorkerData, type TrainWorkerData } from './link';
import { describeStdio } from './stdio';
import { StopFlag, type StopSignal } from './stop-flag';

/**
 * `lm train` trains in a worker thread unless it is one rank of a distributed run. Those stay on the main
 * thread: their stop is agreed by every rank at a step boundary (a vote carried in the gradient allreduce,
 * distributed/context.ts), which a rank abandoning its step alone would break, and MPI is initialised for the
 * thread that calls it.
 */
export function trainsInWorker(argv: string[]): boolean {
  return argv[0] === 'train' && !argv.includes('--distributed');
}

const SIGNALS: StopSignal[] = ['SIGINT', 'SIGTERM'];

/**
 * The main thread of `lm train`: starts the worker that trains, owns SIGINT/SIGTERM, and resolves to the
 * worker's exit code (the code the command has when it runs in-process). It stays free while a step runs, so:
 * - a first signal during the epochs is said at once and set in the {@link StopFlag} the worker polls between
 *   kernel dispatches: the step in progress is abandoned, the steps before it checkpointed, exit code 130;
 * - a second signal exits at once with 130 (checkpoint writes are atomic: only the steps since the newest
 *   checkpoint are lost). Node joins worker threads on exit: a JavaScript kernel is interrupted there and
 *   then, a native one (onednn, tfjs-node) returns first;
 * - a signal before the epochs start or after they end has its default effect, as it had without a worker.
 * `entry` is the module the worker runs (the `lm` entry, which runs {@link runTrainWorker} in a worker).
 */
export function superviseTraining(argv: string[], entry: URL): Promise<number> {
  const stop = new StopFlag();
  const stdio = describeStdio();
  const worker = startWorker(entry, trainWorkerData(argv, stop, stdio));
  const note = (text: string) => process.stderr.write(`${stdio.stderr.isTTY ? '\r\x1b[2K' : ''}${text}\n`);
  let stopping: StopSignal | undefined;
  const onSignal = (signal: StopSignal) => {
    if (stopping) {
      note(
        `${signal} again: quitting now. The checkpoints written so far are intact (each is written atomically); the steps since the newest one are lost. ` +
          'lm train --resume <run folder> continues from it.',
      );
      process.exit(130);
    }
    const r = stop.request(signal);
    if (r === 'idle') {
      stopListening();
      process.kill(process.pid, signal);
      return;
    }
    stopping = signal;
    note(
      `${signal}: stopping: the step in progress is abandoned at its next kernel (none of it applied; an evaluation in progress finishes first), ` +
        `the steps before it are checkpointed, then lm exits (${signal} again to quit at once)`,
    );
  };
  const stopListening = () => SIGNALS.forEach((s) => process.off(s, onSignal));
  SIGNALS.forEach((s) => process.on(s, onSignal));
  return new Promise((resolve) => {
    worker.on('error', (e) => process.stderr.write(`lm: ${e?.stack ?? String(e)}\n`));
    worker.on('exit', (code) => {
      stopListening();
      resolve(code);
    });
  });
}

/**
 * Under tsx (`node --import tsx`, `npx tsx`: the CLI from its TypeScript sources, or TypeScript plugins) the
 * worker needs the loader too, which on Node 20 registers itself in the main thread only: the worker then
 * registers it (tsx as installed beside this package) before loading the entry.
 */
function startWorker(entry: URL, workerData: TrainWorkerData): Worker {
  const tsx = process.execArgv.some((a) => /(^|[\\/=])tsx([\\/]|$)/.test(a)) ? tsxApi() : undefined;
  if (!tsx) return new Worker(entry, { workerData });
  // an ES module (a `data:` URL): eval'd code would be a CommonJS script, which puts `__dirname` and `require` on globalThis
  const code = `const tsx = await import(${JSON.stringify(tsx)}); tsx.register(); await import(${JSON.stringify(entry.href)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`), { workerData });
}

function tsxApi(): string | undefined {
  try {
    return import.meta.resolve('tsx/esm/api');
  } catch {
    return undefined;
  }
}
