import { isMainThread, workerData } from 'node:worker_threads';
import type { StdioInfo } from './stdio';
import { StopFlag } from './stop-flag';

const KIND = 'lm-train-worker';

/** What the supervisor gives the worker that trains: the `lm` arguments, the shared stop flag, the main thread's stdio. */
export interface TrainWorkerData {
  kind: typeof KIND;
  argv: string[];
  stop: SharedArrayBuffer;
  stdio: StdioInfo;
}

export function trainWorkerData(argv: string[], stop: StopFlag, stdio: StdioInfo): TrainWorkerData {
  return { kind: KIND, argv, stop: stop.buffer, stdio };
}

/** This thread's data when it is the worker `lm train` trains in (and not some other worker). */
export function supervisedTraining(): TrainWorkerData | undefined {
  const d = isMainThread ? undefined : (workerData as Partial<TrainWorkerData> | null | undefined);
  return d?.kind === KIND ? (d as TrainWorkerData) : undefined;
}

/** The stop flag the supervisor sets on SIGINT/SIGTERM, when this thread is the worker `lm train` trains in. */
export function supervisorStopFlag(): StopFlag | undefined {
  const d = supervisedTraining();
  return d && new StopFlag(d.stop);
}
