import * as tf from '@tensorflow/tfjs-core';

export const TRAINER_VERSION = '0.1.0';

/** Versions recorded in checkpoints. */
export function versions(): Record<string, string> {
  return { '@lm/trainer': TRAINER_VERSION, '@tensorflow/tfjs-core': tf.version_core, node: process.versions.node };
}
