// Tests run on the pure-JS CPU backend of tfjs (a dev dependency at the root); the package itself registers none.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, afterEach, beforeEach } from 'vitest';
import { cleanupTmp, isolateLmEnvironment } from './helpers.js';

tf.env().set('IS_TEST', true); // silences the "install tfjs-node" banner
await tf.setBackend('cpu');

afterAll(() => cleanupTmp());
isolateLmEnvironment({ beforeEach, afterEach });
