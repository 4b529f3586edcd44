import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type Sharp from 'sharp';
import { OptionError } from '../errors';
import { type EpochRecord, readMetricsLog } from '../log';
import { barPanel, escapeXml, linePanel, svgDocument } from './svg-plot';

export interface RunData {
  dir: string;
  label: string;
  model?: string;
  dataset?: string;
  history: EpochRecord[];
}

export interface ReportOptions {
  out: string;
  title?: string;
  /** Width of each figure in pixels (default 1200). */
  width?: number;
}

export interface ReportResult {
  files: string[];
  runs: RunData[];
}

/** Reads a run folder's metrics.jsonl (and config.json, for labels). */
export function readRun(dir: string): RunData {
  const path = join(dir, 'metrics.jsonl');
  if (!existsSync(path)) throw new OptionError('runs', `lm report: '${dir}' has no metrics.jsonl (is it a run folder of lm train?)`);
  const history = readMetricsLog(readFileSync(path, 'utf8'));
  let model: string | undefined;
  let dataset: string | undefined;
  const cfg = join(dir, 'config.json');
  if (existsSync(cfg)) {
    try {
      const c = JSON.parse(readFileSync(cfg, 'utf8'));
      model = c.model;
      dataset = c.dataset;
    } catch {
      /* labels only */
    }
  }
  return { dir, label: basename(resolve(dir)), model, dataset, history };
}

const pct = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '–' : `${(100 * x).toFixed(2)}%`);

/** The error-curve figure: training (left) and held-out (right) top-1 error vs epoch, one line per run. */
export function errorCurvesSvg(runs: RunData[], width = 1200): string {
  const height = Math.round(width * 0.4);
  const half = width / 2;
  const series = (pick: (r: EpochRecord) => number | undefined) =>
    runs.map((run) => ({ name: run.label, points: run.history.map((r) => [r.epoch, 100 * (pick(r) ?? NaN)] as [number, number]) }));
  const evalName = runs.some((r) => r.history.some((h) => h.eval?.split === 'test')) ? 'Test' : 'Validation';
  const maxEpoch = Math.max(1, ...runs.flatMap((r) => r.history.map((h) => h.epoch)));
  const common = { xLabel: 'epoch', yLabel: 'top-1 error (%)', xDomain: [0, maxEpoch] as [number, number], xInteger: true, yFromZero: true, legendCorner: 'bottom-left' as const };
  const left = linePanel({ x: 0, y: 0, width: half, height }, { ...common, title: 'Training error', series: series((r) => r.train.top1Error) });
  const right = linePanel({ x: half, y: 0, width: half, height }, { ...common, title: `${evalName} error`, series: series((r) => r.eval?.top1Error) });
  return svgDocument(width, height, `${left}\n${right}`);
}

/**
 * Mean value of each trainable scheme coefficient of each step at the last epoch (per-channel values averaged).
 * Logs written before coefficients had names hold the LM scheme's `k`.
 */
export function finalK(run: RunData): { layer: string; coefficient: string; k: number }[] {
  const last = run.history[run.history.length - 1];
  return (last?.k ?? []).map((e) => ({
    layer: e.layer,
    coefficient: (e as { coefficient?: string }).coefficient ?? 'k',
    k: e.k.reduce((a, b) => a + b, 0) / Math.max(e.k.length, 1),
  }));
}

/**
 * The k_n figure (the paper's Figure 4): the learned scheme coefficients per step at the last epoch, grouped bars
 * per run, one panel per coefficient name (one `k_n` panel for LM-ResNets; `a1`, `a2`... for a k-step scheme).
 */
export function kValuesSvg(runs: RunData[], width = 1200): string {
  const finals = runs.map((run) => ({ run, k: finalK(run) }));
  const names = [...new Set(finals.flatMap((r) => r.k.map((e) => e.coefficient)))];
  const panelHeight = Math.round(width * 0.42);
  if (!names.length) {
    return svgDocument(
      width,
      panelHeight,
      `<text x="${width / 2}" y="${panelHeight / 2}" text-anchor="middle" font-size="18">No trainable scheme coefficients in these runs: no k_n to show.</text>`,
    );
  }
  const panels = names.map((name, i) => {
    const withK = finals.map((r) => ({ run: r.run, k: r.k.filter((e) => e.coefficient === name) })).filter((r) => r.k.length);
    const n = Math.max(0, ...withK.map((r) => r.k.length));
    const lm = name === 'k';
    return barPanel(
      { x: 0, y: i * panelHeight, width, height: panelHeight },
      {
        title: lm ? 'Learned k_n per LM step (last epoch)' : `Learned ${name} per step (last epoch)`,
        xLabel: lm ? 'LM step n (network order)' : `step with ${name} (network order)`,
        yLabel: lm ? 'k_n' : name,
        categories: [...Array(n).keys()].map((j) => String(j + 1)),
        groups: withK.map((r) => ({ name: r.run.label, values: r.k.map((e) => e.k) })),
      },
    );
  });
  return svgDocument(width, panelHeight * names.length, panels.join('\n'));
}

function finalTable(runs: RunData[]): string {
  const rows = runs.map((r) => {
    const last = r.history[r.history.length - 1];
    const best = Math.min(...r.history.map((h) => h.eval?.top1Error ?? Infinity));
    const cells = [
      escapeXml(r.label),
      escapeXml(r.model ?? ''),
      escapeXml(r.dataset ?? ''),
      String(last?.epoch ?? 0),
      pct(last?.train.top1Error),
      pct(last?.eval?.top1Error),
      pct(last?.eval?.top5Error),
      pct(Number.isFinite(best) ? best : undefined),
      last ? last.imagesPerSecond.toFixed(1) : '–',
    ];
    return `<tr>${cells.map((c, i) => `<td${i > 2 ? ' class="num"' : ''}>${c}</td>`).join('')}</tr>`;
  });
  const split = runs.some((r) => r.history.some((h) => h.eval?.split === 'test')) ? 'test' : 'validation';
  return `<table>
<thead><tr><th>run</th><th>model</th><th>dataset</th><th>epochs</th><th>train top-1 err</th><th>${split} top-1 err</th><th>${split} top-5 err</th><th>best ${split} top-1 err</th><th>images/s</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>`;
}

/** Writes `report.html`, `error-curves.png/.svg` and `k-values.png/.svg` into `out`. */
export async function writeReport(runDirs: string[], o: ReportOptions): Promise<ReportResult> {
  if (!runDirs.length) throw new OptionError('runs', 'lm report: give one or more run folders');
  const runs = runDirs.map(readRun);
  const seen = new Map<string, number>();
  for (const r of runs) {
    const n = seen.get(r.label) ?? 0;
    seen.set(r.label, n + 1);
    if (n) r.label = `${r.label} (${n + 1})`;
  }
  const width = o.width ?? 1200;
  const out = resolve(o.out);
  mkdirSync(out, { recursive: true });
  const files: string[] = [];
  const figures: [string, string, string][] = [
    ['error-curves', errorCurvesSvg(runs, width), 'Top-1 error during training: training data (left) and held-out data (right), as in the paper\'s Figures 3 and 5.'],
    ['k-values', kValuesSvg(runs, width), 'Learned scheme coefficients (k_n of each LM step) at the last epoch, as in the paper\'s Figure 4.'],
  ];
  const sharp = await loadSharp();
  for (const [name, svg] of figures) {
    const svgPath = join(out, `${name}.svg`);
    const pngPath = join(out, `${name}.png`);
    writeFileSync(svgPath, svg);
    await sharp(Buffer.from(svg)).png().toFile(pngPath);
    files.push(pngPath, svgPath);
  }
  const title = o.title ?? 'LM-ResNet training report';
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeXml(title)}</title>
<style>
body { font-family: DejaVu Sans, Helvetica, Arial, sans-serif; margin: 2em auto; max-width: ${width + 40}px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 4px 10px; }
th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #555; margin-bottom: 2em; }
</style></head>
<body>
<h1>${escapeXml(title)}</h1>
<p>Runs: ${runs.map((r) => `<code>${escapeXml(r.dir)}</code>`).join(', ')}</p>
<h2>Final errors</h2>
${finalTable(runs)}
${figures.map(([name, , caption]) => `<figure><img src="${name}.png" alt="${name}"><figcaption>${escapeXml(caption)}</figcaption></figure>`).join('\n')}
</body></html>
`;
  const htmlPath = join(out, 'report.html');
  writeFileSync(htmlPath, html);
  files.unshift(htmlPath);
  return { files, runs };
}

/** sharp (SVG to PNG) is an optional dependency of @lm/trainer: only reports need it. */
async function loadSharp(): Promise<typeof Sharp> {
  try {
    return (await import('sharp')).default;
  } catch (err) {
    throw new Error(`lm report draws its PNG figures with sharp, which did not load (${(err as Error).message.split('\n')[0]}). Install it: npm install sharp`);
  }
}
