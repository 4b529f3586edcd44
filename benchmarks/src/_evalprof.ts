const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-layers');
await import('@lm/backend-onednn');
const { buildModel, resolveConfig } = await import('@lm/trainer');
await tf.setBackend('onednn');
const name = process.argv[2] ?? 'preact-resnet20';
const model = buildModel(resolveConfig({ model: name, batchSize: 128 }), 10, [32, 32, 3]);
const x = tf.randomNormal([100, 32, 32, 3]);
const once = () => tf.tidy(() => (model.apply(x, { training: false }) as import('@tensorflow/tfjs-core').Tensor).dataSync());
for (let i = 0; i < 3; i++) once();
const N = 8; const t0 = performance.now(); for (let i = 0; i < N; i++) once(); const ms = (performance.now() - t0) / N;
const info = await tf.profile(() => { once(); return []; });
const by = new Map<string, [number, number]>();
for (const k of info.kernels) { const t = Number(await (k.kernelTimeMs as unknown as Promise<number>)); const c = by.get(k.name) ?? [0, 0]; by.set(k.name, [c[0] + t, c[1] + 1]); }
const rows = [...by].sort((a, b) => b[1][0] - a[1][0]);
const kms = rows.reduce((s, r) => s + r[1][0], 0);
console.log(`${name}: eval ${ms.toFixed(1)} ms/batch = ${(100000 / ms).toFixed(0)} img/s; kernels ${kms.toFixed(1)} ms, ${info.kernels.length} dispatches`);
for (const [n, [t, c]] of rows) console.log(`  ${n.padEnd(28)} ${t.toFixed(1).padStart(7)} ms  x${c}`);
