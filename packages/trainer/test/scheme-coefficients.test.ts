import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyLayer, schemeCoefficientWeights, type SchemeCoefficient } from '@lm/core-blocks';
import { createModel } from '@lm/schemes';
import { kValuesSvg, type RunData } from '../src/report/report';
import { kValues, trainableParams } from '../src/train/model';

/** A plugin scheme's layer: u + θ·f with a trainable θ named `theta`, declaring it as its coefficient. */
class ThetaStep extends tfl.layers.Layer {
  static className = 'TestThetaStep';
  private theta!: tfl.LayerVariable;
  override build(): void {
    this.theta = this.addWeight('theta', [1], 'float32', tfl.initializers.constant({ value: 0.25 }));
    this.built = true;
  }
  override computeOutputShape(s: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return (s as tfl.Shape[])[0]!;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const [u, f] = inputs as tf.Tensor[];
    return tf.add(u!, tf.mul(this.theta.read(), f!));
  }
  schemeCoefficients(): SchemeCoefficient[] {
    return [{ name: 'theta', values: Array.from(this.theta.read().dataSync()), trainable: true }];
  }
}
tf.serialization.registerClass(ThetaStep);

/** u → dense(u) named with a `k` weight that is not a scheme coefficient, then a ThetaStep. */
function pluginModel(): tfl.LayersModel {
  const input = tfl.input({ shape: [3] });
  const f = applyLayer(tfl.layers.dense({ units: 3, name: 'k' }), input);
  const u = applyLayer(new ThetaStep({ name: 'step1_theta' }), [input, f]);
  return tfl.model({ inputs: input, outputs: u });
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('scheme coefficients, whatever the scheme', () => {
  it("kValues reports every trainable coefficient by step: LM's k, a k-step scheme's a_j, a plugin layer's own", () => {
    const lm = kValues(createModel('lm-resnet20', { inputShape: [8, 8, 3] }));
    expect(lm.map((e) => e.coefficient)).toEqual(Array(6).fill('k'));
    const lm3 = kValues(createModel('lm3-resnet20', { inputShape: [8, 8, 3] }));
    expect(lm3.map((e) => `${e.layer}/${e.coefficient}`)).toEqual(
      ['s1_b3_lm', 's2_b2_lm', 's2_b3_lm', 's3_b2_lm', 's3_b3_lm'].flatMap((l) => [`${l}/a1`, `${l}/a2`]),
    );
    expect(kValues(createModel('ab2-resnet20', { inputShape: [8, 8, 3] }))).toEqual([]);
    expect(kValues(pluginModel())).toEqual([{ layer: 'step1_theta', coefficient: 'theta', k: [0.25] }]);
  });

  it("--wd-exclude k excludes exactly the declared coefficients: a k-step scheme's a_j and a plugin's theta, not a weight named k", () => {
    const lm3 = createModel('lm3-resnet20', { inputShape: [8, 8, 3] });
    const kept = trainableParams(lm3, ['k']).filter((p) => !p.decay).map((p) => p.variable);
    expect(kept).toEqual(schemeCoefficientWeights(lm3).map((w) => w.read()));
    expect(kept.length).toBe(5);
    const plugin = trainableParams(pluginModel(), ['k']);
    expect(plugin.filter((p) => !p.decay).map((p) => p.name.replace(/^\d+:/, ''))).toEqual(['step1_theta/theta']);
    expect(plugin.filter((p) => p.decay).map((p) => p.name.replace(/^\d+:/, ''))).toEqual(['k/kernel', 'k/bias']);
  });

  it('the k figure draws one panel per coefficient name', () => {
    const run = (label: string, k: { layer: string; coefficient?: string; k: number[] }[]): RunData => ({
      dir: label, label, history: [{ epoch: 1, globalStep: 1, lr: 0.1, train: { loss: 1, top1Error: 0.5, top5Error: 0.1, images: 1 }, imagesPerSecond: 1, seconds: 1, k, time: '' } as any],
    });
    const lm = run('lm', [{ layer: 'a', k: [0.1] }, { layer: 'b', k: [0.2] }]);
    const lm3 = run('lm3', [{ layer: 'a', coefficient: 'a1', k: [0.3] }, { layer: 'a', coefficient: 'a2', k: [-0.1] }]);
    const svg = kValuesSvg([lm, lm3], 600);
    expect(svg.match(/Learned [^<(]*step/g)).toEqual(['Learned k_n per LM step', 'Learned a1 per step', 'Learned a2 per step']);
    expect(kValuesSvg([run('plain', [])], 600)).toContain('No trainable scheme coefficients');
  });
});
