/** A small SVG plotting kit: axes with nice ticks, labels, legends, line and grouped-bar panels. */

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** About `count` round tick values covering [lo, hi] (1, 2, 5 × 10^k steps). */
export function niceTicks(lo: number, hi: number, count = 5, integer = false): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  if (hi === lo) {
    const d = Math.abs(lo) > 0 ? Math.abs(lo) * 0.1 : 1;
    return niceTicks(lo - d, hi + d, count, integer);
  }
  const raw = (hi - lo) / Math.max(count, 1);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  let step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  if (integer) step = Math.max(1, Math.round(step));
  const k0 = Math.floor(lo / step + 1e-9);
  const ticks: number[] = [];
  // multiples of the step (no accumulated rounding: zero is exactly 0)
  for (let k = k0; k * step <= hi + step * 0.5 + 1e-12 || ticks.length < 2; k++) ticks.push(Number((k * step).toPrecision(12)));
  if (ticks[ticks.length - 1]! < hi) ticks.push(Number(((k0 + ticks.length) * step).toPrecision(12)));
  return ticks;
}

export function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
}

export interface Series {
  name: string;
  points: [number, number][];
  color?: string;
  dash?: boolean;
}

export interface Panel {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface AxesOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  xDomain: [number, number];
  yDomain: [number, number];
  xTicks?: number[];
  yTicks?: number[];
  xTickFormat?: (v: number) => string;
  /** Integer x ticks only (epochs). */
  xInteger?: boolean;
  yTickFormat?: (v: number) => string;
}

const MARGIN = { left: 70, right: 20, top: 36, bottom: 52 };

/** Draws axes, grid, ticks and labels in a panel; returns the SVG and the data → pixel mappings. */
export function axes(panel: Panel, o: AxesOptions): { svg: string; sx: (v: number) => number; sy: (v: number) => number; plot: Panel } {
  const plot = {
    x: panel.x + MARGIN.left,
    y: panel.y + MARGIN.top,
    width: panel.width - MARGIN.left - MARGIN.right,
    height: panel.height - MARGIN.top - MARGIN.bottom,
  };
  const xt = o.xTicks ?? niceTicks(o.xDomain[0], o.xDomain[1], 6, o.xInteger);
  const yt = o.yTicks ?? niceTicks(o.yDomain[0], o.yDomain[1], 5);
  const x0 = Math.min(o.xDomain[0], xt[0]!);
  const x1 = Math.max(o.xDomain[1], xt[xt.length - 1]!);
  const y0 = Math.min(o.yDomain[0], yt[0]!);
  const y1 = Math.max(o.yDomain[1], yt[yt.length - 1]!);
  const sx = (v: number) => plot.x + ((v - x0) / (x1 - x0 || 1)) * plot.width;
  const sy = (v: number) => plot.y + plot.height - ((v - y0) / (y1 - y0 || 1)) * plot.height;
  const fx = o.xTickFormat ?? formatTick;
  const fy = o.yTickFormat ?? formatTick;
  const parts: string[] = [];
  parts.push(`<rect x="${plot.x}" y="${plot.y}" width="${plot.width}" height="${plot.height}" fill="#ffffff" stroke="#333" stroke-width="1"/>`);
  for (const v of yt) {
    const y = sy(v).toFixed(1);
    parts.push(`<line x1="${plot.x}" x2="${plot.x + plot.width}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`);
    parts.push(`<line x1="${plot.x - 5}" x2="${plot.x}" y1="${y}" y2="${y}" stroke="#333"/>`);
    parts.push(`<text x="${plot.x - 8}" y="${y}" text-anchor="end" dominant-baseline="middle" font-size="13">${escapeXml(fy(v))}</text>`);
  }
  for (const v of xt) {
    const x = sx(v).toFixed(1);
    parts.push(`<line x1="${x}" x2="${x}" y1="${plot.y}" y2="${plot.y + plot.height}" stroke="#f0f0f0"/>`);
    parts.push(`<line x1="${x}" x2="${x}" y1="${plot.y + plot.height}" y2="${plot.y + plot.height + 5}" stroke="#333"/>`);
    parts.push(`<text x="${x}" y="${plot.y + plot.height + 20}" text-anchor="middle" font-size="13">${escapeXml(fx(v))}</text>`);
  }
  parts.push(`<rect x="${plot.x}" y="${plot.y}" width="${plot.width}" height="${plot.height}" fill="none" stroke="#333" stroke-width="1"/>`);
  if (o.title) {
    parts.push(`<text x="${plot.x + plot.width / 2}" y="${panel.y + 22}" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(o.title)}</text>`);
  }
  if (o.xLabel) {
    parts.push(`<text x="${plot.x + plot.width / 2}" y="${panel.y + panel.height - 10}" text-anchor="middle" font-size="14">${escapeXml(o.xLabel)}</text>`);
  }
  if (o.yLabel) {
    const cx = panel.x + 18;
    const cy = plot.y + plot.height / 2;
    parts.push(`<text x="${cx}" y="${cy}" text-anchor="middle" font-size="14" transform="rotate(-90 ${cx} ${cy})">${escapeXml(o.yLabel)}</text>`);
  }
  return { svg: parts.join('\n'), sx, sy, plot };
}

/** A legend box in the top-right corner of a plot area. */
export function legend(
  plot: Panel,
  entries: { name: string; color: string; dash?: boolean; bar?: boolean }[],
  corner: 'top-right' | 'bottom-left' = 'top-right',
): string {
  if (!entries.length) return '';
  const lineH = 20;
  const w = Math.min(plot.width - 20, 26 + 7.5 * Math.max(...entries.map((e) => e.name.length)) + 12);
  const h = entries.length * lineH + 10;
  const x = corner === 'top-right' ? plot.x + plot.width - w - 10 : plot.x + 10;
  const y = corner === 'top-right' ? plot.y + 10 : plot.y + plot.height - h - 10;
  const rows = entries.map((e, i) => {
    const cy = y + 15 + i * lineH;
    const mark = e.bar
      ? `<rect x="${x + 8}" y="${cy - 6}" width="18" height="12" fill="${e.color}"/>`
      : `<line x1="${x + 6}" x2="${x + 28}" y1="${cy}" y2="${cy}" stroke="${e.color}" stroke-width="2.5"${e.dash ? ' stroke-dasharray="6 4"' : ''}/>`;
    return `${mark}<text x="${x + 34}" y="${cy}" dominant-baseline="middle" font-size="13">${escapeXml(e.name)}</text>`;
  });
  return `<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="#ffffff" fill-opacity="0.9" stroke="#999"/>\n${rows.join('\n')}`;
}

function domainOf(values: number[], pad = 0.05, includeZero = false): [number, number] {
  const finite = values.filter(Number.isFinite);
  if (!finite.length) return [0, 1];
  let lo = Math.min(...finite, ...(includeZero ? [0] : []));
  let hi = Math.max(...finite, ...(includeZero ? [0] : []));
  const span = hi - lo || Math.abs(hi) || 1;
  if (!(includeZero && lo === 0)) lo -= span * pad;
  if (!(includeZero && hi === 0)) hi += span * pad;
  return [lo, hi];
}

export interface LinePanelOptions extends Partial<AxesOptions> {
  series: Series[];
  /** Force the y axis to start at 0. */
  yFromZero?: boolean;
  legendCorner?: 'top-right' | 'bottom-left';
}

/** A line chart in a panel: one polyline (with point markers when short) per series, and a legend. */
export function linePanel(panel: Panel, o: LinePanelOptions): string {
  const xs = o.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = o.series.flatMap((s) => s.points.map((p) => p[1]));
  const a = axes(panel, {
    ...o,
    xDomain: o.xDomain ?? [Math.min(...xs, 0), Math.max(...xs, 1)],
    yDomain: o.yDomain ?? domainOf(ys, 0.05, o.yFromZero),
  });
  const lines = o.series.map((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!;
    const pts = s.points.filter((p) => Number.isFinite(p[1]));
    const d = pts.map((p, j) => `${j ? 'L' : 'M'}${a.sx(p[0]).toFixed(1)},${a.sy(p[1]).toFixed(1)}`).join(' ');
    const markers = pts.length <= 40 ? pts.map((p) => `<circle cx="${a.sx(p[0]).toFixed(1)}" cy="${a.sy(p[1]).toFixed(1)}" r="3" fill="${color}"/>`).join('') : '';
    return `<path d="${d}" fill="none" stroke="${color}" stroke-width="2.2"${s.dash ? ' stroke-dasharray="7 4"' : ''}/>${markers}`;
  });
  const leg = legend(a.plot, o.series.map((s, i) => ({ name: s.name, color: s.color ?? PALETTE[i % PALETTE.length]!, dash: s.dash })), o.legendCorner);
  return [a.svg, `<g clip-path="none">${lines.join('\n')}</g>`, leg].join('\n');
}

export interface BarGroup {
  name: string;
  values: number[];
  color?: string;
}

/** Grouped bars: categories along x (e.g. LM steps), one bar per group (e.g. run) in each. */
export function barPanel(panel: Panel, o: Partial<AxesOptions> & { categories: string[]; groups: BarGroup[] }): string {
  const n = o.categories.length;
  const ys = o.groups.flatMap((g) => g.values);
  const yDomain = o.yDomain ?? domainOf(ys, 0.08, true);
  const every = Math.max(1, Math.ceil(n / 28));
  const a = axes(panel, {
    ...o,
    xDomain: [-0.5, n - 0.5],
    xTicks: [...Array(n).keys()].filter((i) => i % every === 0),
    xTickFormat: (v) => o.categories[Math.round(v)] ?? '',
    yDomain,
  });
  const slot = a.plot.width / Math.max(n, 1);
  const bw = (slot * 0.8) / Math.max(o.groups.length, 1);
  const zero = a.sy(Math.max(Math.min(0, yDomain[1]), yDomain[0]));
  const bars = o.groups.flatMap((g, gi) => {
    const color = g.color ?? PALETTE[gi % PALETTE.length]!;
    return g.values.map((v, i) => {
      if (!Number.isFinite(v)) return '';
      const x = a.plot.x + slot * i + slot * 0.1 + gi * bw;
      const y = a.sy(v);
      return `<rect x="${x.toFixed(1)}" y="${Math.min(y, zero).toFixed(1)}" width="${Math.max(bw - 1, 1).toFixed(1)}" height="${Math.abs(zero - y).toFixed(1)}" fill="${color}"/>`;
    });
  });
  const zeroLine = `<line x1="${a.plot.x}" x2="${a.plot.x + a.plot.width}" y1="${zero.toFixed(1)}" y2="${zero.toFixed(1)}" stroke="#333" stroke-width="1.2"/>`;
  const leg = legend(a.plot, o.groups.map((g, i) => ({ name: g.name, color: g.color ?? PALETTE[i % PALETTE.length]!, bar: true })));
  return [a.svg, bars.join('\n'), zeroLine, leg].join('\n');
}

/** Wraps panels into a complete SVG document with a white background. */
export function svgDocument(width: number, height: number, body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}">
<rect width="100%" height="100%" fill="#ffffff"/>
${body}
</svg>`;
}
