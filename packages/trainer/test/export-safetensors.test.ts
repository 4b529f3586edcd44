import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadModel } from '@lm/core-blocks/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main';
import { train } from '../src/train/loop';
import { tinyConfig, tmp } from './helpers';

const PYTHON = process.env.LM_PYTHON ?? '/usr/bin/python3';
const torchVersion = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
const hasTorch = torchVersion.status === 0;
if (!hasTorch) console.warn(`export-safetensors: skipped, ${PYTHON} has no torch (apt-get install python3-torch, or set LM_PYTHON)`);

// A hand-written PyTorch twin of the tiny LM network of test/fixtures/tiny-model.ts, modules named as its layers.
// The safetensors file is parsed by hand (the format: u64 header length, JSON header, raw little-endian data).
const REFERENCE = String.raw`
import json, struct, sys, torch
import torch.nn as nn, torch.nn.functional as F

def load_safetensors(path):
    raw = open(path, 'rb').read()
    n = struct.unpack('<Q', raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    header.pop('__metadata__', None)
    dtypes = {'F32': torch.float32, 'I64': torch.int64}
    base = 8 + n
    return {k: torch.frombuffer(bytearray(raw[base + v['data_offsets'][0]:base + v['data_offsets'][1]]), dtype=dtypes[v['dtype']]).reshape(v['shape'])
            for k, v in header.items()}

class LinearMultiStep(nn.Module):
    def __init__(self):
        super().__init__()
        self.k = nn.Parameter(torch.zeros(1))
    def forward(self, f, u, prev):  # u_{n+1} = (1 - k) u_n + k u_{n-1} + f(u_n)
        return (1 - self.k) * u + self.k * prev + f

class TinyLM(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.stem_conv = nn.Conv2d(3, 4, 3, padding=1, bias=False)
        for i in range(3):
            setattr(self, f'f{i}_bn', nn.BatchNorm2d(4, eps=1e-5))
            setattr(self, f'f{i}_conv', nn.Conv2d(4, 4, 3, padding=1, bias=False))
        self.lm1, self.lm2 = LinearMultiStep(), LinearMultiStep()
        self.final_bn = nn.BatchNorm2d(4, eps=1e-5)
        self.classifier = nn.Linear(4, classes)
    def f(self, u, i):
        return getattr(self, f'f{i}_conv')(F.relu(getattr(self, f'f{i}_bn')(u)))
    def forward(self, x):
        u0 = self.stem_conv(F.avg_pool2d(x, 4))
        u1 = u0 + self.f(u0, 0)
        u2 = self.lm1(self.f(u1, 1), u1, u0)
        u3 = self.lm2(self.f(u2, 2), u2, u1)
        return self.classifier(F.relu(self.final_bn(u3)).mean((2, 3)))

weights, inputs, shape = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
state = load_safetensors(weights)
model = TinyLM(state['classifier.weight'].shape[0])
model.load_state_dict(state, strict=True)
model.eval()
x = torch.frombuffer(bytearray(open(inputs, 'rb').read()), dtype=torch.float32).reshape(shape).permute(0, 3, 1, 2)
with torch.no_grad():
    print(json.dumps({'logits': model(x).flatten().tolist(), 'names': sorted(state)}))
`;

describe.skipIf(!hasTorch)('lm export --format safetensors', () => {
  const work = tmp('export');
  let run: string;
  beforeAll(async () => {
    const r = await train(tinyConfig(join(work, 'run'), { epochs: 1, syntheticSize: 64, valSize: 16 }), { progress: 'silent', log: () => {} });
    r.model.dispose();
    run = r.outDir;
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("loads into a PyTorch model of the same architecture (strict) and gives TensorFlow.js's logits", async () => {
    const file = join(work, 'tiny.safetensors');
    const out: string[] = [];
    const code = await main(['export', run, '--out', file], { out: (s) => out.push(s), err: (s) => out.push(s) });
    expect(code, out.join('\n')).toBe(0);
    expect(existsSync(file)).toBe(true);

    await tf.setBackend('cpu');
    const model = await loadModel(join(run, 'model'));
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 7);
    const expected = Array.from((model.predict(x) as tf.Tensor).dataSync());
    writeFileSync(join(work, 'x.bin'), new Uint8Array(x.dataSync().buffer));
    writeFileSync(join(work, 'reference.py'), REFERENCE);
    const py = spawnSync(PYTHON, [join(work, 'reference.py'), file, join(work, 'x.bin'), JSON.stringify(x.shape)], { encoding: 'utf8' });
    expect(py.status, py.stderr).toBe(0);
    const got = JSON.parse(py.stdout.trim().split('\n').at(-1)!) as { logits: number[]; names: string[] };
    expect(got.names).toEqual(expect.arrayContaining(['stem_conv.weight', 'f0_bn.running_var', 'f0_bn.num_batches_tracked', 'lm1.k', 'classifier.weight']));
    expect(got.logits).toHaveLength(expected.length);
    got.logits.forEach((z, i) => expect(Math.abs(z - expected[i]!), `logit ${i}: torch ${z}, tfjs ${expected[i]}`).toBeLessThan(1e-4));
    tf.dispose([x]);
    model.dispose();
  });

  it('an unknown --format is an error naming the option', async () => {
    const err: string[] = [];
    expect(await main(['export', run, '--format', 'onnx'], { out: () => {}, err: (s) => err.push(s) })).toBe(2);
    expect(err.join('')).toContain('--format must be one of: safetensors');
  });
});
