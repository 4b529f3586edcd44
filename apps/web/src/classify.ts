import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import { loadLayersModel, type LayersModel } from '@tensorflow/tfjs-layers';
// These two imports register every layer class a saved @lm model needs (LmBatchNorm, LmLinearMultiStep, ...).
import '@lm/schemes';
import '@lm/stochastic';

/** Backends in the order the page tries them; the first that initialises wins. */
export const BACKEND_ORDER = ['webgl', 'cpu'] as const;

export async function selectBackend(preferred?: string): Promise<string> {
  for (const name of preferred ? [preferred] : BACKEND_ORDER) {
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        return name;
      }
    } catch {
      // not available here (e.g. no WebGL in a headless browser): try the next one
    }
  }
  throw new Error(`no TensorFlow.js backend initialised (tried ${preferred ?? BACKEND_ORDER.join(', ')})`);
}

export function loadModel(url: string): Promise<LayersModel> {
  return loadLayersModel(url);
}

/** The model's input side lengths [height, width] (a saved model always has a fixed input shape). */
export function inputSize(model: LayersModel): [number, number] {
  const shape = model.inputs[0]!.shape;
  const h = shape[1];
  const w = shape[2];
  if (typeof h !== 'number' || typeof w !== 'number' || shape[3] !== 3) {
    throw new Error(`the model's input shape is [${shape.join(', ')}]; the page needs [batch, height, width, 3]`);
  }
  return [h, w];
}

/** Logits of one HWC image. */
export function logitsOf(model: LayersModel, input: Float32Array): Float32Array {
  const [h, w] = inputSize(model);
  return tf.tidy(() => (model.predict(tf.tensor4d(input, [1, h, w, 3])) as tf.Tensor).dataSync() as Float32Array);
}

export interface Ranked {
  index: number;
  label: string;
  probability: number;
}

/** The k most probable classes (softmax of the logits), most probable first. */
export function topK(logits: Float32Array, k: number, labels: readonly string[]): Ranked[] {
  const max = Math.max(...logits);
  const exp = Array.from(logits, (z) => Math.exp(z - max));
  const sum = exp.reduce((a, b) => a + b, 0);
  return exp
    .map((e, index) => ({ index, label: labels[index] ?? `class ${index}`, probability: e / sum }))
    .sort((a, b) => b.probability - a.probability)
    .slice(0, k);
}
