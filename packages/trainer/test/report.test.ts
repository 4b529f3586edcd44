import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { EpochRecord } from '../src/log';
import { writeReport } from '../src/report/report';
import { niceTicks } from '../src/report/svg-plot';

function fabricate(dir: string, model: string, finalErr: number, ks: number[]): void {
  mkdirSync(dir, { recursive: true });
  const rows: EpochRecord[] = [];
  for (let e = 1; e <= 20; e++) {
    const t = e / 20;
    rows.push({
      epoch: e,
      globalStep: e * 100,
      lr: e < 10 ? 0.1 : 0.01,
      train: { loss: 2 - t, top1Error: 0.9 - (0.9 - finalErr + 0.05) * t, top5Error: 0.5 - 0.4 * t, images: 1000 },
      eval: { split: 'validation', loss: 2.1 - t, top1Error: 0.92 - (0.92 - finalErr) * t, top5Error: 0.3 - 0.2 * t, images: 500 },
      imagesPerSecond: 250,
      seconds: 4,
      k: ks.map((k, i) => ({ layer: `lm${i}`, k: [k * t] })),
      time: new Date(0).toISOString(),
    });
  }
  writeFileSync(join(dir, 'metrics.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ model, dataset: 'cifar10' }));
}

describe('lm report', () => {
  it('writes the HTML page with the final-error table and PNG figures of the right size', async () => {
    const root = mkdtempSync(join(tmpdir(), 'lm-report-'));
    fabricate(join(root, 'resnet'), 'resnet20', 0.0825, []);
    fabricate(join(root, 'lm'), 'lm-resnet20', 0.0775, [-0.1, 0.2, 0.35, -0.05, 0.6]);
    const out = join(root, 'out');
    const r = await writeReport([join(root, 'resnet'), join(root, 'lm')], { out, width: 1000 });
    expect(r.files.map((f) => f.slice(out.length + 1)).sort()).toEqual(['error-curves.png', 'error-curves.svg', 'k-values.png', 'k-values.svg', 'report.html']);
    const curves = await sharp(join(out, 'error-curves.png')).metadata();
    expect([curves.format, curves.width, curves.height]).toEqual(['png', 1000, 400]);
    const k = await sharp(join(out, 'k-values.png')).metadata();
    expect([k.width, k.height]).toEqual([1000, 420]);
    // The figure is not blank: it has dark (text/axes) and coloured (curve) pixels.
    const { data, info } = await sharp(join(out, 'error-curves.png')).raw().toBuffer({ resolveWithObject: true });
    let dark = 0;
    let red = 0;
    for (let i = 0; i < data.length; i += info.channels) {
      if (data[i]! < 80 && data[i + 1]! < 80 && data[i + 2]! < 80) dark++;
      if (data[i]! > 180 && data[i + 1]! < 80 && data[i + 2]! < 80) red++;
    }
    expect(dark).toBeGreaterThan(500);
    expect(red).toBeGreaterThan(200);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('<td>resnet</td><td>resnet20</td>');
    expect(html).toContain('8.25%');
    expect(html).toContain('7.75%');
    expect(html).toContain('src="error-curves.png"');
    expect(html).toContain('src="k-values.png"');
    const svg = readFileSync(join(out, 'k-values.svg'), 'utf8');
    expect(svg).toContain('Learned k_n per LM step');
    expect((svg.match(/<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="[\d.]+" fill="#/g) ?? []).length).toBeGreaterThanOrEqual(5);
  });

  it('nice ticks are round numbers covering the range', () => {
    expect(niceTicks(0, 100, 5)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(0, 3, 6, true)).toEqual([0, 1, 2, 3]);
    const t = niceTicks(-0.13, 0.61, 5);
    expect(t[0]).toBeLessThanOrEqual(-0.13);
    expect(t[t.length - 1]).toBeGreaterThanOrEqual(0.61);
  });
});

describe('tick values', () => {
  it('are exact multiples of the step, zero included', () => {
    expect(niceTicks(-0.15, 0.1, 5)).toEqual([-0.15, -0.1, -0.05, 0, 0.05, 0.1]);
  });
});
