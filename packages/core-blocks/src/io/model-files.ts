import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { writeFileAtomic } from './atomic-write';

const MODEL_JSON = 'model.json';

/** Topology and weights of a model as TensorFlow.js serialises them. */
export async function modelToArtifacts(model: tfl.LayersModel): Promise<tf.io.ModelArtifacts> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
    }),
  );
  return artifacts!;
}

function weightBytes(a: tf.io.ModelArtifacts): Uint8Array {
  const data = a.weightData;
  if (data === undefined) return new Uint8Array(0);
  return new Uint8Array(Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data);
}

/**
 * Saves a model to `dir` as `model.json` plus a content-addressed weights file, in the TensorFlow.js
 * layers format. `model.json` is replaced atomically last, so a crash at any moment leaves a loadable model.
 */
export async function saveModel(model: tfl.LayersModel, dir: string): Promise<void> {
  const a = await modelToArtifacts(model);
  const bytes = weightBytes(a);
  const weightsFile = `weights-${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}.bin`;
  writeFileAtomic(join(dir, weightsFile), bytes);
  const json = {
    format: a.format ?? 'layers-model',
    generatedBy: a.generatedBy,
    convertedBy: a.convertedBy ?? null,
    modelTopology: a.modelTopology,
    weightsManifest: [{ paths: [weightsFile], weights: a.weightSpecs ?? [] }],
  };
  writeFileAtomic(join(dir, MODEL_JSON), JSON.stringify(json));
  for (const f of readdirSync(dir)) {
    if (/^weights-[0-9a-f]+\.bin$/.test(f) && f !== weightsFile) rmSync(join(dir, f), { force: true });
  }
}

export class ModelFileError extends Error {
  override name = 'ModelFileError';
}

/** Reads the artifacts that {@link saveModel} wrote. */
export function readModelArtifacts(dir: string): tf.io.ModelArtifacts {
  const path = join(dir, MODEL_JSON);
  if (!existsSync(path)) throw new ModelFileError(`No saved model at '${path}'.`);
  let json: any;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ModelFileError(`'${path}' is not valid JSON: ${(err as Error).message}`);
  }
  if (!json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new ModelFileError(`'${path}' lacks 'modelTopology' or 'weightsManifest'.`);
  }
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Uint8Array[] = [];
  for (const group of json.weightsManifest as tf.io.WeightsManifestConfig) {
    specs.push(...group.weights);
    for (const p of group.paths) {
      const file = join(dir, p);
      if (!existsSync(file)) throw new ModelFileError(`'${path}' names weights file '${file}', which is missing.`);
      buffers.push(readFileSync(file));
    }
  }
  const total = buffers.reduce((n, b) => n + b.length, 0);
  const joined = new Uint8Array(total);
  let off = 0;
  for (const b of buffers) {
    joined.set(b, off);
    off += b.length;
  }
  return { modelTopology: json.modelTopology, weightSpecs: specs, weightData: joined.buffer, format: json.format, generatedBy: json.generatedBy };
}

/** Loads a model saved by {@link saveModel}. Custom layers must be registered (import their packages first). */
export async function loadModel(dir: string): Promise<tfl.LayersModel> {
  return tfl.loadLayersModel(tf.io.fromMemory(readModelArtifacts(dir)));
}
