import { analyseMultistep, type MultistepAnalysis, type Root } from './multistep-analysis';
import type { SchemeStep } from './scheme-steps';
import { axes, escapeXml, PALETTE, svgDocument } from '../report/svg-plot';

/** One row of `lm analyze`: a step, its coefficients and their numerical analysis (per channel: the worst). */
export interface StepAnalysisRow {
  index: number;
  name: string;
  kind: SchemeStep['kind'];
  dt: number;
  /** k_n; mean over channels with per-channel k. */
  k?: number;
  kMin?: number;
  kMax?: number;
  channels?: number;
  /** a_j and b_j of a `multistep` step (of the worst channel with per-channel coefficients). */
  a?: number[];
  b?: number[];
  roots?: Root[];
  zeroStability?: MultistepAnalysis['zeroStability'];
  /** Channels that fail the root condition (per-channel k). */
  unstableChannels?: number;
  orderForF?: number;
  effectiveScale?: number | null;
  effectiveOrder?: number | null;
  modified?: { uPrime: number; uSecond: number };
  note?: string;
}

const RANK = { stable: 0, weak: 1, unstable: 2 } as const;

/**
 * The analysis of every step: an LM step is a = (1 − k_n, k_n), b = (1); an Euler step the same with k = 0 (roots 1
 * and 0); any other step in the form its layer declares.
 */
export function analyseSteps(steps: SchemeStep[]): StepAnalysisRow[] {
  return steps.map((s) => {
    const base = { index: s.index, name: s.name, kind: s.kind, dt: s.dt };
    if (s.kind === 'transition') return { ...base, note: 'forward Euler through the shortcut: changes the shape of u, not a step of the ODE' };
    if (s.kind === 'other') return { ...base, note: 'declares no linear multi-step form' };
    const forms = s.kind === 'multistep' ? s.forms! : (s.kind === 'lm' ? s.k! : [0]).map((k) => ({ a: [1 - k, k], b: [1], dt: s.dt }));
    const all = forms.map((f) => analyseMultistep(f.a, f.b, f.dt));
    const size = (f: { a: number[]; b: number[] }) => Math.max(...f.a.slice(1).map(Math.abs), 0);
    const worse = (i: number, w: number) =>
      RANK[all[i]!.zeroStability] > RANK[all[w]!.zeroStability] || (RANK[all[i]!.zeroStability] === RANK[all[w]!.zeroStability] && size(forms[i]!) > size(forms[w]!));
    const worst = all.reduce((w, _, i) => (worse(i, w) ? i : w), 0);
    const a = all[worst]!;
    const ks = s.kind === 'lm' ? s.k! : undefined;
    const channels = forms.length;
    return {
      ...base,
      ...(ks ? { k: ks.reduce((x, y) => x + y, 0) / ks.length } : s.kind === 'euler' ? { k: 0 } : {}),
      ...(ks && ks.length > 1 ? { kMin: Math.min(...ks), kMax: Math.max(...ks) } : {}),
      ...(channels > 1 ? { channels } : {}),
      ...(s.kind === 'multistep' ? { a: a.a, b: a.b } : {}),
      roots: s.kind === 'euler' ? [a.roots[0]!] : a.roots,
      zeroStability: a.zeroStability,
      unstableChannels: all.filter((x) => x.zeroStability === 'unstable').length,
      orderForF: a.orderForF,
      effectiveScale: a.effective?.scale ?? null,
      effectiveOrder: a.effective?.order ?? null,
      ...(a.modified ? { modified: a.modified } : {}),
      ...(s.kind === 'euler' ? { note: 'forward Euler (k = 0)' } : {}),
      ...(channels > 1 ? { note: `${channels} channels; roots and stability of the channel with the worst` } : {}),
    };
  });
}

const num = (v: number | undefined | null, d = 4) => (v === undefined || v === null ? '' : Number(v.toFixed(d)).toString());
const root = (r: Root) => (Math.abs(r.im) < 1e-12 ? num(r.re) : `${num(r.re)}${r.im < 0 ? '-' : '+'}${num(Math.abs(r.im))}i`);

const COLUMNS: [string, (r: StepAnalysisRow) => string][] = [
  ['step', (r) => String(r.index)],
  ['name', (r) => r.name],
  ['kind', (r) => r.kind],
  ['k_n', (r) => (r.kind === 'lm' ? num(r.k) : r.kind === 'euler' ? '0' : '')],
  ['roots of ρ', (r) => (r.roots ? r.roots.map(root).join(' ') : '')],
  ['zero-stable', (r) => (r.zeroStability ? (r.zeroStability === 'weak' ? 'weakly (two roots on |ζ| = 1)' : r.zeroStability === 'stable' ? 'yes' : 'no') : '')],
  ['order (u_t = f)', (r) => (r.orderForF === undefined ? '' : String(r.orderForF))],
  ['consistent with', (r) => (r.effectiveScale === undefined ? '' : r.effectiveScale === null ? (r.kind === 'multistep' ? 'no first-order ODE' : 'no first-order ODE (1 + k_n = 0)') : `u_t = ${num(r.effectiveScale)} f, order ${r.effectiveOrder}`)],
  ['a_j; b_j', (r) => (r.a ? `${r.a.map((v) => num(v)).join(', ')}; ${r.b!.map((v) => num(v)).join(', ')}` : '')],
  ['modified equation', (r) => (r.modified ? `${num(r.modified.uPrime)} u' + ${num(r.modified.uSecond)} u'' = f(u)` : '')],
  ['note', (r) => r.note ?? ''],
];

export function analysisMarkdown(rows: StepAnalysisRow[]): string {
  const head = `| ${COLUMNS.map((c) => c[0]).join(' | ')} |\n|${COLUMNS.map(() => ' --- ').join('|')}|`;
  return `${head}\n${rows.map((r) => `| ${COLUMNS.map((c) => c[1](r).replace(/\|/g, '\\|')).join(' | ')} |`).join('\n')}\n`;
}

export function analysisCsv(rows: StepAnalysisRow[]): string {
  const cell = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return `${COLUMNS.map((c) => cell(c[0])).join(',')}\n${rows.map((r) => COLUMNS.map((c) => cell(c[1](r))).join(',')).join('\n')}\n`;
}

/**
 * The learned k_n against depth with the zero-stable band |k_n| < 1 shaded (the paper's Fig. 4 plus what it
 * states in prose); Euler steps at k = 0, transitions marked on the axis.
 */
export function coefficientsSvg(rows: StepAnalysisRow[], title = 'LM coefficients k_n against depth', width = 900): string {
  const height = 420;
  const ks = rows.flatMap((r) => (r.k === undefined ? [] : [r.kMin ?? r.k, r.kMax ?? r.k]));
  const lo = Math.min(-1.2, ...ks);
  const hi = Math.max(1.2, ...ks);
  const a = axes({ x: 0, y: 0, width, height }, { title, xLabel: 'step (depth)', yLabel: 'k_n', xDomain: [0, rows.length + 1], yDomain: [lo, hi], xInteger: true });
  const band = `<rect x="${a.plot.x}" y="${a.sy(1).toFixed(1)}" width="${a.plot.width}" height="${(a.sy(-1) - a.sy(1)).toFixed(1)}" fill="#2ca02c" fill-opacity="0.12"/>`;
  const bandLabel = `<text x="${a.plot.x + 6}" y="${(a.sy(1) + 16).toFixed(1)}" font-size="12" fill="#2a7a2a">zero-stable: |k_n| &lt; 1 (k_n = 1 weakly; k_n = −1 a double root)</text>`;
  const zero = `<line x1="${a.plot.x}" x2="${a.plot.x + a.plot.width}" y1="${a.sy(0).toFixed(1)}" y2="${a.sy(0).toFixed(1)}" stroke="#777" stroke-dasharray="5 4"/>`;
  const marks = rows.map((r) => {
    const x = a.sx(r.index).toFixed(1);
    if (r.kind === 'transition') return `<line x1="${x}" x2="${x}" y1="${a.plot.y}" y2="${a.plot.y + a.plot.height}" stroke="#bbb" stroke-dasharray="2 3"><title>${escapeXml(r.name)}: transition</title></line>`;
    if (r.k === undefined) return '';
    const color = r.kind === 'lm' ? PALETTE[0] : '#999';
    const range = r.kMin !== undefined ? `<line x1="${x}" x2="${x}" y1="${a.sy(r.kMin).toFixed(1)}" y2="${a.sy(r.kMax!).toFixed(1)}" stroke="${color}" stroke-width="2"/>` : '';
    return `${range}<circle cx="${x}" cy="${a.sy(r.k).toFixed(1)}" r="4.5" fill="${r.zeroStability === 'unstable' ? PALETTE[1] : color}"><title>${escapeXml(`${r.name}: k = ${r.k}`)}</title></circle>`;
  });
  return svgDocument(width, height, [a.svg, band, bandLabel, zero, ...marks].join('\n'));
}
