/** The parameter table against the paper's Table 2, written as a benchmark result. */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { parameterTable } from '@lm/schemes';
import { writeBenchResult } from './report';

await tf.setBackend('cpu');
const started = Date.now();
const rows = parameterTable();
const m = (n?: number) => (n === undefined ? null : Number((n / 1e6).toFixed(3)));
writeBenchResult({
  name: 'param-table',
  title: 'Trainable parameters against the paper (millions)',
  columns: ['model', 'ours (M)', 'paper (M)', 'difference'],
  rows: rows.map((r) => [
    r.model,
    m(r.params),
    r.paper === undefined ? '' : m(r.paper),
    r.relativeDifference === undefined ? '' : `${(r.relativeDifference * 100).toFixed(1)}%`,
  ]),
  notes: [
    `${rows.length} models built in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    'Differences over 2% are explained in the README (section "Parameters against the paper").',
  ],
  extra: { rows },
});
