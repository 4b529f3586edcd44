/**
 * Errors inside the addon (its argument checks, oneDNN's own) reach JavaScript as exceptions with their message,
 * instead of ending the process (node-addon-api converts only its own Napi::Error).
 */
import './helpers';
import { describe, expect, it } from 'vitest';

import { tryLoadAddon } from '../src/index';
import { requireOnednn } from './helpers';

describe('native errors', () => {
  it('a bad call throws a JavaScript Error naming the check, and the addon keeps working', () => {
    requireOnednn();
    const addon = tryLoadAddon().addon!;
    const f = (n: number) => new Float32Array(n);
    expect(() => addon.conv2dForward(f(4), f(4), null, f(4), [1, 2, 3], 0, 0)).toThrow(/@lm\/backend-onednn: conv: expected 18 shape parameters/);
    expect(() => addon.lmStepGrad(f(8), f(8), f(6), f(1), null, f(8), f(8), f(1), 2, 1, null, null)).toThrow(/lmStepGrad: f \(or dy\), u and u_prev must have one size/);
    expect(() => addon.lmStepGrad(f(8), f(8), f(8), f(1), null, f(8), f(8), f(1), 3, 1, null, null)).toThrow(/lmStepGrad: the channel count must divide the size/);
    expect(() => addon.lmStepGrad(f(8), f(8), f(8), f(1), null, f(8), f(8), f(1), 2, 1, f(6), null)).toThrow(/lmStepGrad: a gradient to add in has the wrong size/);
    // still alive and computing
    const db = f(8), dO = f(8), dk = f(1);
    addon.lmStepGrad(Float32Array.from({ length: 8 }, () => 1), f(8), Float32Array.from({ length: 8 }, () => 2), Float32Array.of(0.25), null, db, dO, dk, 2, 1, null, null);
    expect(Array.from(db)).toEqual(Array(8).fill(0.75));
    expect(Array.from(dO)).toEqual(Array(8).fill(0.25));
    expect(dk[0]).toBe(16);
  });
});
