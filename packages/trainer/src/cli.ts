import { main } from './cli/main';

// `lm models | head`: a closed pipe is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`lm: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exitCode = 1;
  },
);
