/** An SVG bar chart of the learned k_n of each LM step (the mean, with a whisker from min to max for per-channel k). */
export function kChartSvg(steps: { layer: string; k: number[] }[]): string {
  if (!steps.length) return '<p>This model has no linear multi-step layers (no k<sub>n</sub>).</p>';
  const stats = steps.map((s) => ({ layer: s.layer, mean: s.k.reduce((a, b) => a + b, 0) / s.k.length, min: Math.min(...s.k), max: Math.max(...s.k) }));
  const lo = Math.min(-0.1, ...stats.map((s) => s.min));
  const hi = Math.max(0.1, ...stats.map((s) => s.max));
  const W = 40 * stats.length + 60;
  const H = 220;
  const y = (v: number) => 10 + ((hi - v) / (hi - lo)) * (H - 40);
  const bars = stats
    .map((s, i) => {
      const x = 50 + 40 * i;
      const top = Math.min(y(s.mean), y(0));
      return (
        `<g class="step"><title>${s.layer}: k = ${s.mean.toFixed(4)}</title>` +
        `<rect x="${x}" y="${top}" width="24" height="${Math.abs(y(s.mean) - y(0))}" fill="#1a5fb4" data-k="${s.mean}" />` +
        `<line x1="${x + 12}" x2="${x + 12}" y1="${y(s.max)}" y2="${y(s.min)}" stroke="#333" />` +
        `<text x="${x + 12}" y="${H - 8}" font-size="10" text-anchor="middle">${i + 1}</text></g>`
      );
    })
    .join('');
  const axis = [lo, 0, hi].map((v) => `<text x="44" y="${y(v) + 4}" font-size="10" text-anchor="end">${v.toFixed(2)}</text>`).join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" role="img" aria-label="learned k_n per LM step">` +
    `<line x1="46" x2="${W}" y1="${y(0)}" y2="${y(0)}" stroke="#999" />${axis}${bars}</svg>`
  );
}
