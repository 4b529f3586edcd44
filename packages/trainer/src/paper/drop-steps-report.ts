import type * as tfl from '@tensorflow/tfjs-layers';
import { evaluate, type EvaluateOptions } from '../train/evaluate';
import type { Split } from '../data/datasets';
import type { SplitMetrics } from '../metrics';
import { axes, escapeXml, PALETTE, svgDocument } from '../report/svg-plot';
import { schemeSteps } from './scheme-steps';
import { withoutStep } from './drop-steps';

export interface DropStepRow {
  index: number;
  name: string;
  kind: string;
  /** Metrics with this step removed; absent for transitions (not a step of the ODE). */
  metrics?: SplitMetrics;
  /** Top-1 error with the step removed minus the full network's. */
  top1Increase?: number;
}

export interface DropStepsResult {
  full: SplitMetrics;
  rows: DropStepRow[];
}

/** The error of `model` on `split` with each residual step removed in turn (transitions are kept and marked). */
export async function evaluateDroppedSteps(model: tfl.LayersModel, split: Split, o: EvaluateOptions, full?: SplitMetrics): Promise<DropStepsResult> {
  const base = full ?? (await evaluate(model, split, o));
  const steps = schemeSteps(model);
  const rows: DropStepRow[] = [];
  for (const s of steps) {
    if (s.kind !== 'lm' && s.kind !== 'euler') {
      rows.push({ index: s.index, name: s.name, kind: s.kind });
      continue;
    }
    const metrics = await evaluate(withoutStep(model, steps, s.name), split, o);
    rows.push({ index: s.index, name: s.name, kind: s.kind, metrics, top1Increase: metrics.top1Error - base.top1Error });
  }
  return { full: base, rows };
}

const pct = (x?: number) => (x === undefined ? '' : `${(100 * x).toFixed(2)}`);

export function dropStepsMarkdown(r: DropStepsResult): string {
  const head = '| step | name | kind | top-1 error (%) | increase (points) | loss |\n| ---: | --- | --- | ---: | ---: | ---: |';
  const full = `| - | (none removed) | | ${pct(r.full.top1Error)} | | ${r.full.loss.toFixed(4)} |`;
  const rows = r.rows.map((x) =>
    x.metrics
      ? `| ${x.index} | ${x.name} | ${x.kind} | ${pct(x.metrics.top1Error)} | ${pct(x.top1Increase)} | ${x.metrics.loss.toFixed(4)} |`
      : `| ${x.index} | ${x.name} | ${x.kind} | ${x.kind === 'transition' ? 'kept: changes the shape of u, not a step of the ODE' : 'kept: removal is defined for LM and Euler steps only'} | | |`,
  );
  return `${[head, full, ...rows].join('\n')}\n`;
}

export function dropStepsCsv(r: DropStepsResult): string {
  const lines = ['step,name,kind,top1_error,top1_increase,loss', `,none,,${r.full.top1Error},,${r.full.loss}`];
  for (const x of r.rows) lines.push(`${x.index},${x.name},${x.kind},${x.metrics?.top1Error ?? ''},${x.top1Increase ?? ''},${x.metrics?.loss ?? ''}`);
  return `${lines.join('\n')}\n`;
}

/** Top-1 error with each step removed against the step's depth; the full network as a dashed line. */
export function dropStepsSvg(r: DropStepsResult, title = 'Test-time removal of single steps', width = 900): string {
  const height = 420;
  const errs = r.rows.flatMap((x) => (x.metrics ? [100 * x.metrics.top1Error] : []));
  const a = axes(
    { x: 0, y: 0, width, height },
    { title, xLabel: 'removed step (depth)', yLabel: 'top-1 error (%)', xDomain: [0, r.rows.length + 1], yDomain: [0, Math.max(100 * r.full.top1Error, ...errs) * 1.1 || 1], xInteger: true },
  );
  const base = a.sy(100 * r.full.top1Error).toFixed(1);
  const parts = [a.svg, `<line x1="${a.plot.x}" x2="${a.plot.x + a.plot.width}" y1="${base}" y2="${base}" stroke="#555" stroke-dasharray="6 4"><title>no step removed</title></line>`];
  for (const x of r.rows) {
    const cx = a.sx(x.index).toFixed(1);
    if (!x.metrics) {
      parts.push(`<line x1="${cx}" x2="${cx}" y1="${a.plot.y}" y2="${a.plot.y + a.plot.height}" stroke="#bbb" stroke-dasharray="2 3"><title>${escapeXml(x.name)}: transition, kept</title></line>`);
      continue;
    }
    const color = x.kind === 'lm' ? PALETTE[0] : PALETTE[3];
    parts.push(`<circle cx="${cx}" cy="${a.sy(100 * x.metrics.top1Error).toFixed(1)}" r="4.5" fill="${color}"><title>${escapeXml(`${x.name} removed: ${pct(x.metrics.top1Error)}%`)}</title></circle>`);
  }
  return svgDocument(width, height, parts.join('\n'));
}
