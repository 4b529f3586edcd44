import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Runs every benchmark of this project one after another, each in its own process. */
// train-throughput before cifar-pipeline: the CIFAR table reports the training throughput next to its own.
const benches = ['param-table', 'train-throughput', 'conv-floor', 'layout-ab', 'cifar-pipeline', 'imagenet-pipeline'];
const here = dirname(fileURLToPath(import.meta.url));
let failed = 0;
for (const name of benches) {
  const started = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--conditions=@lm/source', join(here, `${name}.ts`)], {
    stdio: 'inherit',
    cwd: join(here, '..'),
  });
  const secs = ((Date.now() - started) / 1000).toFixed(0);
  console.log(`[bench] ${name}: ${r.status === 0 ? 'ok' : `failed (exit ${r.status})`} in ${secs} s`);
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
