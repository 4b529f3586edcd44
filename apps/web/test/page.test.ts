import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadModel } from '@lm/core-blocks/node';
import { lmCoefficients } from '@lm/schemes';
import { train } from '@lm/trainer';
import { chromium, type BrowserContext } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toNetworkInput, type Normalisation } from '../src/preprocess';
import { samplePixels } from '../src/samples';
import { serveFolders } from './serve';

const app = join(dirname(fileURLToPath(import.meta.url)), '..');
// The trainer's test network: pooling to 8x8, a stem, a forward Euler step and two LM steps (2 k_n), BN, a classifier.
const TINY_PLUGIN = join(app, '..', '..', 'packages', 'trainer', 'test', 'fixtures', 'tiny-model.ts');
const CHROMIUM = process.env.LM_CHROMIUM ?? '/usr/bin/chromium';
// Without the networking flags Chromium waits for services a closed network never answers.
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const NORM: Normalisation = { mean: [0.5, 0.45, 0.4], std: [0.25, 0.24, 0.26] };

describe('the web page classifies with a model trained by lm train, as Node does', () => {
  const work = mkdtempSync(join(tmpdir(), 'lm-web-'));
  let server: Server;
  let base: string;
  let browser: BrowserContext;
  let runDir: string;

  beforeAll(async () => {
    const run = await train(
      { model: 'tiny-lm', dataset: 'synthetic', syntheticSize: 64, valSize: 16, epochs: 1, batchSize: 16, lr: 0.1, warmupEpochs: 0,
        backend: 'cpu', plugins: [TINY_PLUGIN], out: join(work, 'run') },
      { progress: 'silent', log: () => {} },
    );
    run.model.dispose();
    runDir = run.outDir;
    await build({ root: app, logLevel: 'silent', build: { outDir: join(work, 'site'), emptyOutDir: true } });
    ({ server, url: base } = await serveFolders({ '/': join(work, 'site'), '/run/': runDir }));
    browser = await chromium.launchPersistentContext(join(work, 'profile'), { executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
  });
  afterAll(async () => {
    await browser?.close();
    server?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it("the page's logits for its own sample equal Node's, on the backend it selects; top-5 and k_n drawn", async () => {
    const page = await browser.newPage();
    const q = `model=/run/model/model.json&sample=1&mean=${NORM.mean.join(',')}&std=${NORM.std.join(',')}`;
    await page.goto(`${base}/?${q}`);
    await page.waitForFunction(() => document.body.dataset.state === 'classified' || document.body.dataset.state === 'error');
    const result = await page.evaluate(() => window.lmPage);
    expect(result, await page.locator('#status').textContent() ?? '').toBeDefined();

    await tf.setBackend('cpu');
    const model = await loadModel(join(runDir, 'model'));
    const node = tf.tidy(() => (model.predict(tf.tensor4d(toNetworkInput(samplePixels(1, 32), NORM), [1, 32, 32, 3])) as tf.Tensor).dataSync());
    const maxDiff = Math.max(...result!.logits.map((z, i) => Math.abs(z - node[i]!)));
    console.log(`page backend: ${result!.backend}; max |page - node| logit difference ${maxDiff.toExponential(2)}`);
    expect(result!.logits).toHaveLength(node.length);
    result!.logits.forEach((z, i) => expect(Math.abs(z - node[i]!), `logit ${i}: page ${z}, node ${node[i]}`).toBeLessThan(1e-4));

    expect(await page.locator('#top5 li').count()).toBe(5);
    const k = lmCoefficients(model);
    expect(result!.k).toEqual(k);
    const bars = await page.locator('#k-chart rect').evaluateAll((rs) => rs.map((r) => Number(r.getAttribute('data-k'))));
    expect(bars).toHaveLength(2);
    bars.forEach((b, i) => expect(b).toBeCloseTo(k[i]!.k[0]!, 6));
    model.dispose();
  });
});
