import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '@lm/core-blocks/node';
import { axes, escapeXml, PALETTE, svgDocument } from '../report/svg-plot';
import type { CompareResult } from './compare';

const pct = (x: number | undefined, d = 2) => (x === undefined || !Number.isFinite(x) ? '-' : (100 * x).toFixed(d));

/** Every seed's final error per arm, mean ± sd, then the paired differences against the baseline arm. */
export function compareMarkdown(r: CompareResult): string {
  const seeds = r.plan.seeds;
  const value = (arm: string, s: number) => r.runs.find((x) => x.arm === arm && x.seed === s)?.error;
  const split = r.runs.find((x) => x.split)?.split ?? 'held-out';
  const lines = [
    `Final-epoch ${split} top-1 error (%), fixed before the runs; ${r.complete ? 'all runs finished' : 'some runs unfinished (-)'}.`,
    '',
    `| arm | ${seeds.map((s) => `seed ${s}`).join(' | ')} | mean | sd |`,
    `| --- |${seeds.map(() => ' ---: ').join('|')}| ---: | ---: |`,
    ...r.arms.map((a) => `| ${a.arm} | ${seeds.map((s) => pct(value(a.arm, s))).join(' | ')} | ${pct(a.mean)} | ${pct(a.sd)} |`),
  ];
  if (r.differences.length) {
    lines.push(
      '',
      `Paired differences (arm − ${r.differences[0]!.baseline}, points), 95% t-interval, sign count (arm worse / better / tie):`,
      '',
      '| arm | pairs | mean | sd | 95% interval | worse / better / tie | sign test p |',
      '| --- | ---: | ---: | ---: | --- | --- | ---: |',
      ...r.differences.map((d) => `| ${d.arm} | ${d.n} | ${pct(d.mean)} | ${pct(d.sd)} | [${pct(d.low)}, ${pct(d.high)}] | ${d.above} / ${d.below} / ${d.ties} | ${d.signTestP.toFixed(3)} |`),
    );
  }
  return `${lines.join('\n')}\n`;
}

export function compareCsv(r: CompareResult): string {
  const lines = ['kind,arm,seed,value,n,mean,sd,low,high,above,below,ties'];
  for (const x of r.runs) lines.push(`run,${x.arm},${x.seed},${x.error ?? ''},,,,,,,,`);
  for (const a of r.arms) lines.push(`arm,${a.arm},,,${a.n},${a.mean},${a.sd},,,,,`);
  for (const d of r.differences) lines.push(`difference,${d.arm}-${d.baseline},,,${d.n},${d.mean},${d.sd},${d.low},${d.high},${d.above},${d.below},${d.ties}`);
  return `${lines.join('\n')}\n`;
}

/** Left: every seed's error per arm (points joined by seed), arm means with 95% t-intervals; right: paired differences. */
export function compareSvg(r: CompareResult, width = 1100): string {
  const height = 440;
  const half = width / 2;
  const errs = r.runs.flatMap((x) => (x.error === undefined ? [] : [100 * x.error]));
  const lo = Math.min(...errs, Infinity);
  const hi = Math.max(...errs, -Infinity);
  const pad = Number.isFinite(lo) ? Math.max(0.5, (hi - lo) * 0.2) : 1;
  const left = axes(
    { x: 0, y: 0, width: half, height },
    {
      title: 'final-epoch top-1 error per seed',
      yLabel: 'top-1 error (%)',
      xDomain: [-0.5, r.arms.length - 0.5],
      xTicks: r.arms.map((_, i) => i),
      xTickFormat: (v) => r.arms[Math.round(v)]?.arm ?? '',
      yDomain: Number.isFinite(lo) ? [lo - pad, hi + pad] : [0, 1],
    },
  );
  const parts = [left.svg];
  r.plan.seeds.forEach((seed, si) => {
    const pts = r.arms.map((a, i) => {
      const e = r.runs.find((x) => x.arm === a.arm && x.seed === seed)?.error;
      return e === undefined ? undefined : ([left.sx(i), left.sy(100 * e)] as const);
    });
    const color = PALETTE[(si + 2) % PALETTE.length]!;
    const d = pts.flatMap((p, i) => (p ? [`${i && pts[i - 1] ? 'L' : 'M'}${p[0].toFixed(1)},${p[1].toFixed(1)}`] : [])).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-opacity="0.5"/>`);
    for (const p of pts) if (p) parts.push(`<circle cx="${p[0].toFixed(1)}" cy="${p[1].toFixed(1)}" r="3.5" fill="${color}"><title>seed ${seed}</title></circle>`);
  });
  r.arms.forEach((a, i) => {
    if (!Number.isFinite(a.mean)) return;
    const x = left.sx(i) + 14;
    parts.push(`<rect x="${(x - 5).toFixed(1)}" y="${(left.sy(100 * a.mean) - 1.5).toFixed(1)}" width="10" height="3" fill="#000"><title>${escapeXml(`${a.arm}: mean ${pct(a.mean)}%`)}</title></rect>`);
  });
  const ds = r.differences;
  const bounds = ds.flatMap((d) => [d.low, d.high, d.mean].filter(Number.isFinite).map((v) => 100 * v));
  const dlo = Math.min(0, ...bounds);
  const dhi = Math.max(0, ...bounds);
  const dpad = Math.max(0.25, (dhi - dlo) * 0.15);
  const right = axes(
    { x: half, y: 0, width: half, height },
    {
      title: `paired difference vs ${ds[0]?.baseline ?? 'baseline'}, 95% t-interval`,
      yLabel: 'difference (points)',
      xDomain: [-0.5, Math.max(ds.length, 1) - 0.5],
      xTicks: ds.map((_, i) => i),
      xTickFormat: (v) => ds[Math.round(v)]?.arm ?? '',
      yDomain: [dlo - dpad, dhi + dpad],
    },
  );
  parts.push(right.svg, `<line x1="${right.plot.x}" x2="${right.plot.x + right.plot.width}" y1="${right.sy(0).toFixed(1)}" y2="${right.sy(0).toFixed(1)}" stroke="#555" stroke-dasharray="5 4"/>`);
  ds.forEach((d, i) => {
    const x = right.sx(i).toFixed(1);
    if (Number.isFinite(d.low)) parts.push(`<line x1="${x}" x2="${x}" y1="${right.sy(100 * d.low).toFixed(1)}" y2="${right.sy(100 * d.high).toFixed(1)}" stroke="${PALETTE[0]}" stroke-width="2.5"/>`);
    parts.push(`<circle cx="${x}" cy="${right.sy(100 * d.mean).toFixed(1)}" r="5" fill="${PALETTE[0]}"><title>${escapeXml(`${d.arm} − ${d.baseline}: ${pct(d.mean)} [${pct(d.low)}, ${pct(d.high)}]`)}</title></circle>`);
  });
  return svgDocument(width, height, parts.join('\n'));
}

/** compare.{md,csv,json,svg} in `out`. */
export function writeCompareReport(r: CompareResult, out: string): string[] {
  mkdirSync(out, { recursive: true });
  const files: [string, string][] = [
    ['compare.md', compareMarkdown(r)],
    ['compare.csv', compareCsv(r)],
    ['compare.json', `${JSON.stringify(r, null, 2)}\n`],
    ['compare.svg', compareSvg(r)],
  ];
  return files.map(([name, text]) => {
    writeFileAtomic(join(out, name), text);
    return join(out, name);
  });
}
