import { builtinModules } from 'node:module';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin, type Rollup } from 'vite';
import { afterAll, describe, expect, it } from 'vitest';

// The app lives inside the repository (under node_modules/.cache) so it resolves packages as an installed app would.
const cache = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'node_modules', '.cache');
const NODE_BUILTINS = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

// The new user's 5-line app: the model packages, a model from the zoo, a prediction.
const APP = `import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { createModel, lmCoefficients } from '@lm/schemes';
import '@lm/stochastic';
const model = createModel('lm-resnet20', { numClasses: 10 });
console.log((model.predict(tf.zeros([1, 32, 32, 3])) as tf.Tensor).shape, lmCoefficients(model).length);
`;

/**
 * Records every import of a Node built-in by an @lm package (Vite would stub it out for the browser and the
 * page would fail at run time). Third-party modules that map built-ins away in their `browser` field are theirs.
 */
function recordNodeBuiltins(seen: string[]): Plugin {
  return {
    name: 'record-node-builtins',
    enforce: 'pre',
    resolveId(id, importer) {
      if (NODE_BUILTINS.has(id) && /[\\/](packages|@lm)[\\/]/.test(importer ?? '')) seen.push(`${id} (from ${importer})`);
      return null;
    },
  };
}

describe('the model packages bundle for the browser', () => {
  const dir = (mkdirSync(cache, { recursive: true }), mkdtempSync(join(cache, 'lm-browser-app-')));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a 5-line app on @lm/schemes and @lm/stochastic builds with Vite and needs no Node built-in', async () => {
    writeFileSync(join(dir, 'app.ts'), APP);
    const seen: string[] = [];
    const out = (await build({
      configFile: false,
      root: dir,
      logLevel: 'silent',
      // The packages' dist/ through their exports maps (no `@lm/source` condition).
      resolve: { conditions: ['browser', 'module', 'import', 'default'] },
      plugins: [recordNodeBuiltins(seen)],
      build: { write: false, minify: false, target: 'es2022', rollupOptions: { input: join(dir, 'app.ts') } },
    })) as Rollup.RollupOutput;
    expect(seen).toEqual([]);
    const code = out.output.filter((o): o is Rollup.OutputChunk => o.type === 'chunk').map((c) => c.code).join('\n');
    expect(code).not.toContain('__vite-browser-external');
    expect(code).toContain('LmBatchNorm');
  });
});
