import { mkdirSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { join } from 'node:path';
import { loadModel, writeFileAtomic } from '@lm/core-blocks/node';
import '@lm/schemes';
import '@lm/stochastic';
import { locateModel } from '../train/evaluate-checkpoint';
import { loadPlugins } from '../train/plugins';
import { useCpuBackend } from '../backend/select';
import { analyseSteps, analysisCsv, analysisMarkdown, coefficientsSvg, type StepAnalysisRow } from './analyze';
import { schemeSteps } from './scheme-steps';

export interface AnalyzeResult {
  modelDir: string;
  epoch?: number;
  rows: StepAnalysisRow[];
  /** Files written (Markdown, CSV, JSON, SVG) when an output folder was given. */
  files: string[];
}

/** `lm analyze`: the steps of a checkpoint's scheme, their coefficients and numerical analysis. */
export async function analyzeCheckpoint(checkpoint: string, o: { out?: string; plugins?: string[]; title?: string } = {}): Promise<AnalyzeResult> {
  const found = locateModel(checkpoint);
  // reading weights needs a backend; no computation is done on it
  if (!tf.getBackend()) await useCpuBackend();
  await loadPlugins([...(found.config?.plugins ?? []), ...(o.plugins ?? [])]);
  const model = await loadModel(found.modelDir);
  try {
    const rows = analyseSteps(schemeSteps(model));
    const files: string[] = [];
    if (o.out) {
      mkdirSync(o.out, { recursive: true });
      const title = o.title ?? `${found.config?.model ?? model.name}${found.epoch !== undefined ? `, epoch ${found.epoch}` : ''}: k_n against depth`;
      const write = (name: string, text: string) => {
        writeFileAtomic(join(o.out!, name), text);
        files.push(join(o.out!, name));
      };
      write('analysis.md', analysisMarkdown(rows));
      write('analysis.csv', analysisCsv(rows));
      write('analysis.json', `${JSON.stringify({ modelDir: found.modelDir, epoch: found.epoch, steps: rows }, null, 2)}\n`);
      write('coefficients.svg', coefficientsSvg(rows, title));
    }
    return { modelDir: found.modelDir, epoch: found.epoch, rows, files };
  } finally {
    model.dispose();
  }
}
