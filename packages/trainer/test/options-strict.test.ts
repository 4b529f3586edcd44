import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config';
import { OptionError } from '../src/errors';
import { main } from '../src/cli/main';
import { TRAIN_OPTIONS, trainHelp, trainOverrides } from '../src/cli/train';
import { TRAIN_OPTION_TABLE } from '../src/options/train-options';

function optionError(fn: () => unknown): OptionError {
  try {
    fn();
  } catch (e) {
    if (e instanceof OptionError) return e;
    throw e;
  }
  throw new Error('no error');
}

const fromFlags = (argv: string[]) => resolveConfig(trainOverrides(argv).overrides);

describe('numeric flags are parsed strictly (issue 17, options)', () => {
  const cases: [string[], string][] = [
    [['--seed', '1e300'], "--seed must be an integer (got '1e300')"],
    [['--seed', '4294967296'], "--seed must be an integer in [0, 4294967295] (got '4294967296')"],
    [['--seed=-1'], "--seed must be an integer in [0, 4294967295] (got '-1')"],
    [['--seed', '0x2'], "--seed must be an integer (got '0x2')"],
    [['--epochs', '0x2'], "--epochs must be an integer (got '0x2')"],
    [['--epochs', '2e0'], "--epochs must be an integer (got '2e0')"],
    [['--batch-size', ' 16'], "--batch-size must be an integer (got ' 16')"],
    [['--lr', '0x10'], "--lr must be a number (got '0x10')"],
    [['--lr', 'Infinity'], "--lr must be a number (got 'Infinity')"],
    [['--lr', '1_000'], "--lr must be a number (got '1_000')"],
    [['--momentum', '0b1'], "--momentum must be a number (got '0b1')"],
    [['--train-images', '0'], "--train-images must be 'all' or an integer ≥ 1 (got '0')"],
    [['--eval-images=-1'], "--eval-images must be 'all' or an integer ≥ 1 (got '-1')"],
    [['--warmup-epochs', '1e9'], "--warmup-epochs must be a number of epochs in [0, 10000] (got '1000000000')"],
    [['--warmup-epochs', '3', '--epochs', '2'], '--warmup-epochs 3 is longer than the run (--epochs 2)'],
    [['--out', ''], "--out must be a non-empty string (got '')"],
    [['--model', ''], "--model must be a non-empty string (got '')"],
    [['--image-size', '4'], "--image-size must be an integer in [8, 1024] (got '4')"],
    [['--checkpoint-minutes', '0'], "--checkpoint-minutes must be a positive number of minutes (got '0')"],
  ];
  for (const [argv, message] of cases) {
    it(argv.join(' '), () => {
      const e = optionError(() => fromFlags(argv));
      expect(e.message).toBe(message);
      expect(e.option).toBe(argv[0]!.split('=')[0]);
    });
  }

  it("'all' is the explicit word for every image; integers in range pass unchanged", () => {
    const c = fromFlags(['--train-images', 'all', '--eval-images', '300', '--seed', '4294967295', '--lr', '1e-3', '--warmup-epochs', '0.5']);
    expect(c).toMatchObject({ trainImages: 'all', evalImages: 300, seed: 4294967295, lr: 0.001, warmupEpochs: 0.5 });
    expect(resolveConfig({ preset: 'quick' }).trainImages).toBe(20000);
    expect(resolveConfig({ preset: 'cifar10-lm-resnet' }).trainImages).toBe('all');
  });

  it('the API is checked by the same kinds: no folding of huge seeds, no 0 for all, no unknown keys', () => {
    expect(optionError(() => resolveConfig({ seed: 1e300 })).message).toBe("--seed must be an integer in [0, 4294967295] (got '1e+300')");
    expect(optionError(() => resolveConfig({ trainImages: 0 })).message).toBe("--train-images must be 'all' or an integer ≥ 1 (got '0')");
    expect(optionError(() => resolveConfig({ lr: '0.1' as unknown as number })).message).toBe("--lr must be a positive number (got '0.1')");
    expect(optionError(() => resolveConfig({ learningRate: 0.1 } as never)).message).toMatch(/^train: unknown option 'learningRate'\. Options: model, modelOptions, dataset, /);
  });
});

describe('--model-options types are checked, naming the key and the expected type', () => {
  const cases: [string, string][] = [
    ['{"stochasticDepth":"yes"}', `--model-options: 'stochasticDepth' must be an object of that strategy's options, e.g. {"pL": 0.8} (got "yes")`],
    ['{"seed":"abc"}', `--model-options: 'seed' must be an integer in [0, 4294967295] (got "abc")`],
    ['{"seed":1e300}', `--model-options: 'seed' must be an integer in [0, 4294967295] (got 1e+300)`],
    ['{"numClasses":-5}', `--model-options: 'numClasses' must be an integer ≥ 2 (got -5)`],
    ['{"inputShape":[32,32]}', `--model-options: 'inputShape' must be an array of three positive integers [height, width, channels] (got [32,32])`],
    ['{"preActivation":"true"}', `--model-options: 'preActivation' must be true or false (got "true")`],
    ['{"stochasticDepth":{"pL":"0.5"}}', `--model-options: 'stochasticDepth.pL' is the string "0.5"; write it without quotes (0.5) if a number is meant`],
    ['[1]', `--model-options must be a JSON object, e.g. '{"stochasticDepth":{"pL":0.8}}' (got [1])`],
  ];
  for (const [json, message] of cases) {
    it(json, () => expect(optionError(() => fromFlags(['--model-options', json])).message).toBe(message));
  }

  it('valid options pass and merge over the preset', () => {
    const c = fromFlags(['--preset', 'cifar-stochastic-depth', '--model-options', '{"seed":7,"perChannelK":true}']);
    expect(c.modelOptions).toEqual({ stochasticDepth: { pL: 0.5 }, conventions: 'authors', seed: 7, perChannelK: true });
  });
});

describe('one option table', () => {
  it('every table entry with a flag is in the CLI table and the help, every flag maps back to its config key', () => {
    const help = trainHelp();
    for (const [key, d] of Object.entries(TRAIN_OPTION_TABLE) as [string, { flag?: string; hidden?: boolean }][]) {
      if (!d.flag) continue;
      expect(TRAIN_OPTIONS[d.flag], key).toBeDefined();
      if (!d.hidden) expect(help, key).toContain(`--${d.flag}`);
    }
    const o = trainOverrides(['--no-download', '--no-augment', '--nesterov', '--plugin', 'a', '--plugin', 'b', '--wd-exclude', 'norm,k', '--schedule', 'step:3,6:0.5']).overrides;
    expect(o).toEqual({ download: false, augment: false, nesterov: true, plugins: ['a', 'b'], wdExclude: ['norm', 'k'], schedule: { type: 'step', milestones: [3, 6], gamma: 0.5 } });
  });
});

describe('lm eval parses its numbers strictly', () => {
  const io = () => {
    const lines: string[] = [];
    return { lines, io: { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l) } };
  };
  for (const [argv, message] of [
    [['--images=-1'], "lm eval: --images must be 'all' or an integer ≥ 1 (got '-1')"],
    [['--images', '0'], "lm eval: --images must be 'all' or an integer ≥ 1 (got '0')"],
    [['--batch-size', '0x10'], "lm eval: --batch-size must be an integer (got '0x10')"],
  ] as [string[], string][]) {
    it(argv.join(' '), async () => {
      const { lines, io: sink } = io();
      const code = await main(['eval', '--checkpoint', '/nonexistent-run', ...argv], sink);
      expect(code).toBe(2);
      expect(lines).toEqual([message]);
    });
  }
});
