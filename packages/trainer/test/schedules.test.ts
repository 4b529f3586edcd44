import { describe, expect, it } from 'vitest';
import { formatSchedule, learningRate, parseSchedule } from '../src/optim/schedules';
import { OptionError } from '../src/errors';

describe('learning-rate schedules', () => {
  it('step decay divides by 10 at the paper\'s epochs 80 and 120', () => {
    const o = { lr: 0.1, schedule: parseSchedule('step:80,120'), epochs: 160 };
    expect(learningRate(o, { epoch: 0 })).toBeCloseTo(0.1, 12);
    expect(learningRate(o, { epoch: 79, step: 390, stepsPerEpoch: 391 })).toBeCloseTo(0.1, 12);
    expect(learningRate(o, { epoch: 80 })).toBeCloseTo(0.01, 12);
    expect(learningRate(o, { epoch: 119 })).toBeCloseTo(0.01, 12);
    expect(learningRate(o, { epoch: 120 })).toBeCloseTo(0.001, 12);
    expect(learningRate(o, { epoch: 159 })).toBeCloseTo(0.001, 12);
  });

  it('cosine goes from lr to minLr along a half cosine, per step', () => {
    const o = { lr: 0.1, schedule: { type: 'cosine' as const }, epochs: 10 };
    expect(learningRate(o, { epoch: 0 })).toBeCloseTo(0.1, 12);
    expect(learningRate(o, { epoch: 5 })).toBeCloseTo(0.05, 12);
    expect(learningRate(o, { epoch: 2, step: 5, stepsPerEpoch: 10 })).toBeCloseTo(0.05 * (1 + Math.cos(Math.PI * 0.25)), 12);
    expect(learningRate({ ...o, schedule: { type: 'cosine', minLr: 0.01 } }, { epoch: 10 })).toBeCloseTo(0.01, 12);
  });

  it('linear warm-up grows per step and reaches the base rate after the warm-up epochs', () => {
    const o = { lr: 0.1, schedule: { type: 'constant' as const }, epochs: 10, warmupEpochs: 2 };
    expect(learningRate(o, { epoch: 0, step: 0, stepsPerEpoch: 10 })).toBeCloseTo(0.1 / 20, 12);
    expect(learningRate(o, { epoch: 0, step: 9, stepsPerEpoch: 10 })).toBeCloseTo(0.05, 12);
    expect(learningRate(o, { epoch: 1, step: 4, stepsPerEpoch: 10 })).toBeCloseTo(0.075, 12);
    expect(learningRate(o, { epoch: 2, step: 0, stepsPerEpoch: 10 })).toBeCloseTo(0.1, 12);
    // warm-up multiplies the underlying schedule
    const c = { ...o, schedule: { type: 'cosine' as const } };
    expect(learningRate(c, { epoch: 0, step: 9, stepsPerEpoch: 10 })).toBeCloseTo(0.5 * 0.05 * (1 + Math.cos(Math.PI * 0.09)), 12);
  });

  it('parses and formats schedule specs; bad specs name the option', () => {
    expect(parseSchedule('step:150,225')).toEqual({ type: 'step', milestones: [150, 225], gamma: 0.1 });
    expect(parseSchedule('step:30,60:0.2')).toEqual({ type: 'step', milestones: [30, 60], gamma: 0.2 });
    expect(parseSchedule('cosine:0.001')).toEqual({ type: 'cosine', minLr: 0.001 });
    expect(formatSchedule(parseSchedule('step:80,120'))).toBe('step:80,120');
    expect(() => parseSchedule('linear')).toThrow(OptionError);
    expect(() => parseSchedule('linear')).toThrow(/--schedule .*constant, step:<epoch>,<epoch>\[:<gamma>\], cosine/);
    expect(() => parseSchedule('step:abc')).toThrow(/--schedule needs non-negative integer epochs/);
  });
});
