import { supervisedTraining } from './link';
import { useProcessStdio } from './stdio';

/** The worker half of `lm train`: the command as the main thread would run it, with the main thread's stdio. */
export async function runTrainWorker(): Promise<void> {
  const data = supervisedTraining();
  if (!data) throw new Error('runTrainWorker: this thread was not started by the `lm train` supervisor');
  useProcessStdio(data.stdio);
  const { main } = await import('../cli/main');
  try {
    process.exitCode = await main(data.argv);
  } catch (e) {
    process.stderr.write(`lm: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exitCode = 1;
  }
}
