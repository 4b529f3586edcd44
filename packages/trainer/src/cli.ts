import { isMainThread } from 'node:worker_threads';

const argv = process.argv.slice(2);
const failed = (e: unknown) => {
  process.stderr.write(`lm: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exitCode = 1;
};
const exitWith = (code: number) => {
  process.exitCode = code;
};

if (!isMainThread) {
  // the worker `lm train` trains in (supervisor/supervise.ts starts it on this module)
  import('./supervisor/worker').then((w) => w.runTrainWorker()).catch(failed);
} else {
  import('./supervisor/supervise').then(async (s) => {
    if (s.trainsInWorker(argv)) return s.superviseTraining(argv, new URL(import.meta.url)).then(exitWith, failed);
    // `lm models | head`: a closed pipe is not an error.
    process.stdout.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(0);
      throw e;
    });
    const { main } = await import('./cli/main');
    return main(argv).then(exitWith, failed);
  }, failed);
}
