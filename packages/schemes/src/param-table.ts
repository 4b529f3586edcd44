import { registry as globalRegistry, type Registry } from '@lm/core-blocks';
import { createModel, listModels } from './create-model';

export interface ParamRow {
  model: string;
  params: number;
  /** Symbolic output shape of the model, [null, numClasses]. */
  outputShape: (number | null)[];
  paper?: number;
  /** (ours − paper) / paper, when the paper gives a figure. */
  relativeDifference?: number;
}

/** Trainable parameters of registered models next to the paper's figures. */
export function parameterTable(models?: string[], registry: Registry = globalRegistry): ParamRow[] {
  return (models ?? listModels(undefined, registry)).map((model) => {
    const paper = registry.get('model', model).paperParams;
    const m = createModel(model, {}, registry);
    const params = m.trainableWeights.reduce((sum, w) => sum + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
    const outputShape = [...m.outputs[0]!.shape];
    m.dispose();
    return { model, params, outputShape, paper, relativeDifference: paper ? (params - paper) / paper : undefined };
  });
}

export function formatParamTable(rows: ParamRow[]): string {
  const fmt = (n?: number) => (n === undefined ? '' : `${(n / 1e6).toFixed(3)}M`);
  const lines = ['| model | params | paper | difference |', '| --- | ---: | ---: | ---: |'];
  for (const r of rows) {
    const diff = r.relativeDifference === undefined ? '' : `${(r.relativeDifference * 100).toFixed(1)}%`;
    lines.push(`| ${r.model} | ${fmt(r.params)} | ${fmt(r.paper)} | ${diff} |`);
  }
  return lines.join('\n');
}
