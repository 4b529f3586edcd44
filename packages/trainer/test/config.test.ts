import { describe, expect, expectTypeOf, it } from 'vitest';
import { resolveConfig } from '../src/config';
import { TRAIN_OPTION_TABLE, type TrainConfig } from '../src/options/train-options';
import { OptionError } from '../src/errors';
import { getPreset, PRESETS, PRESET_NAMES } from '../src/presets';
import { trainOverrides } from '../src/cli/train';

describe('presets', () => {
  it('hold the paper\'s recipes', () => {
    expect(PRESETS['cifar10-lm-resnet']).toMatchObject({ lr: 0.1, epochs: 160, weightDecay: 1e-4, momentum: 0.9, batchSize: 128, schedule: { type: 'step', milestones: [80, 120] } });
    expect(PRESETS['cifar100-lm-resnet']).toMatchObject({ epochs: 300, schedule: { milestones: [150, 225] } });
    expect(PRESETS['cifar-lm-resnext']).toMatchObject({ epochs: 300, weightDecay: 5e-4, schedule: { milestones: [150, 225] } });
    expect(PRESETS['cifar-stochastic-depth']).toMatchObject({ epochs: 500, schedule: { milestones: [250, 375] } });
    expect(PRESETS.imagenet).toMatchObject({ batchSize: 256, weightDecay: 1e-4, lr: 0.1, epochs: 90, dataset: 'imagenet' });
    expect(PRESETS.quick).toMatchObject({ model: 'lm-resnet20', dataset: 'cifar10' });
  });

  it('an unknown preset names the option and the allowed values', () => {
    expect(() => getPreset('fast')).toThrow(`--preset must be one of: ${PRESET_NAMES.join(', ')} (got 'fast')`);
  });

  it('explicit options override the preset', () => {
    const c = resolveConfig({ preset: 'cifar10-lm-resnet', epochs: 3, lr: 0.05 });
    expect(c).toMatchObject({ epochs: 3, lr: 0.05, weightDecay: 1e-4, batchSize: 128, schedule: { milestones: [80, 120] } });
    const d = resolveConfig();
    expect(d).toMatchObject({ preset: 'quick', model: 'lm-resnet20', dataset: 'cifar10' });
    expect(d.out).toMatch(/^runs\/lm-resnet20-\d{8}-\d{6}Z$/);
  });
});

describe('option errors name the option and the allowed values', () => {
  const cases: [string[], RegExp][] = [
    [['--preset', 'nope'], /--preset must be one of: quick, /],
    [['--dataset', 'mnist'], /--dataset must be one of: cifar10, cifar100, imagenet, synthetic \(got 'mnist'\)/],
    [['--backend', 'gpu'], /--backend must be one of: auto, tensorflow, onednn, cpu \(got 'gpu'\)/],
    [['--wd-exclude', 'norm,weights'], /--wd-exclude must be one of: norm, bias, k \(got 'weights'\)/],
    [['--lr', 'fast'], /--lr must be a number \(got 'fast'\)/],
    [['--epochs', '2.5'], /--epochs must be an integer \(got '2.5'\)/],
    [['--epochs', '0'], /--epochs must be an integer ≥ 1 \(got '0'\)/],
    [['--momentum', '1.5'], /--momentum must be a number in \[0, 1\)/],
    [['--schedule', 'exp'], /--schedule must be one of: constant, step, cosine/],
    [['--eval-split', 'dev'], /--eval-split must be one of: validation, test/],
    [['--model-options', '[1]'], /--model-options must be a JSON object/],
    [['--frobnicate'], /unknown option '--frobnicate'. Options: --model, /],
    [['--resume'], /--resume needs a run folder/],
  ];
  for (const [argv, re] of cases) {
    it(argv.join(' '), () => {
      let err: unknown;
      try {
        const { overrides } = trainOverrides(argv);
        resolveConfig(overrides);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(OptionError);
      expect((err as Error).message).toMatch(re);
    });
  }
});

describe('the config type follows the option table', () => {
  it('options without a default are optional in TrainConfig, the others required (checked by tsc)', () => {
    expectTypeOf<TrainConfig['data']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<TrainConfig['imageSize']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<TrainConfig['coefficientWeightDecay']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<TrainConfig['model']>().toEqualTypeOf<string>();
    expectTypeOf<TrainConfig['epochs']>().toEqualTypeOf<number>();
    const optional = Object.entries(TRAIN_OPTION_TABLE).filter(([, d]) => (d as { optional?: true }).optional).map(([k]) => k);
    expect(optional).toEqual(expect.arrayContaining(['data', 'imageSize', 'coefficientWeightDecay']));
    expect(resolveConfig({}).data).toBeUndefined();
  });
});
