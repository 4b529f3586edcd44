import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Runs plain Node on the built packages (dist/, as users get them): no `@lm/source` condition, no bundler.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

function node(type: 'commonjs' | 'module', script: string): any {
  const r = spawnSync('node', [`--input-type=${type}`, '-e', script], { cwd: root, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  if (r.status !== 0) throw new Error(`node exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
}

const BLOCK = `{ description: 'test', expansion: 1, build: (u) => u }`;

describe('one registry per process, whichever module system registers', () => {
  it('a block registered through require() is visible to import()', () => {
    const r = node('commonjs', `
      const cjs = require('@lm/core-blocks');
      require('@lm/schemes');
      cjs.registry.register('block', 'from-require', ${BLOCK});
      import('@lm/core-blocks').then((esm) => console.log(JSON.stringify({
        same: esm.registry === cjs.registry,
        block: esm.registry.has('block', 'from-require'),
        models: esm.registry.list('model', 'lm-resnet20'),
      })));`);
    expect(r).toMatchObject({ same: true, block: true, models: ['lm-resnet20'] });
  });

  it('a block registered through import is visible to require()', () => {
    const r = node('module', `
      import { createRequire } from 'node:module';
      import { registry } from '@lm/core-blocks';
      import '@lm/stochastic';
      registry.register('block', 'from-import', ${BLOCK});
      const cjs = createRequire(process.cwd() + '/')('@lm/core-blocks');
      console.log(JSON.stringify({
        same: cjs.registry === registry,
        block: cjs.registry.has('block', 'from-import'),
        strategies: cjs.registry.list('strategy', 'stochastic-depth'),
      }));`);
    expect(r).toEqual({ same: true, block: true, strategies: ['stochastic-depth'] });
  });
});
