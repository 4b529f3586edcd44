import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli/main';
import { InterruptedError } from '../src/errors';
import { SGD } from '../src/optim/sgd';
import { train } from '../src/train/loop';
import { KernelGuard, StepAbandoned } from '../src/supervisor/kernel-guard';
import { StopFlag } from '../src/supervisor/stop-flag';
import { SLOW_STEP_HOOK } from './fixtures/slow-step-model';
import { lm, PKG, savedWeights, tinyConfig, tinyFlags, tmp, until } from './helpers';

const SLOW_PLUGIN = join(PKG, 'test', 'fixtures', 'slow-step-model.ts');
const quiet = { progress: 'silent' as const, log: () => {} };

/** The tiny run of helpers.ts on the model whose 2nd training step can be made long, one epoch of 6 steps. */
const slowConfig = (out: string) => tinyConfig(out, { model: 'tiny-lm-sd-slow', plugins: [SLOW_PLUGIN], epochs: 1, syntheticSize: 96, valSize: 16 });
const slowFlags = (out: string) => [
  ...tinyFlags(out, 'tiny-lm-sd-slow').map((a) => (a.endsWith('tiny-model.ts') ? SLOW_PLUGIN : a)),
  '--epochs', '1', '--synthetic-size', '96', '--val-size', '16',
];

function checkpointState(run: string): { epoch: number; stepInEpoch: number; globalStep: number } {
  const name = readFileSync(join(run, 'checkpoints', 'latest'), 'utf8').trim();
  return JSON.parse(readFileSync(join(run, 'checkpoints', name, 'state.json'), 'utf8'));
}

function maxDifference(a: Float32Array[], b: Float32Array[]): number {
  expect(b.length).toBe(a.length);
  let d = 0;
  a.forEach((w, i) => w.forEach((x, j) => (d = Math.max(d, Math.abs(x - b[i]![j]!)))));
  return d;
}

/** train() on the slow config with a stop flag; `arrange` sets up what requests the stop and returns how to undo it. */
async function trainUntilStopped(out: string, arrange: (stopFlag: StopFlag) => () => void): Promise<{ thrown: unknown; warnings: string[] }> {
  const stopFlag = new StopFlag();
  const warnings: string[] = [];
  const undo = arrange(stopFlag);
  try {
    await train(slowConfig(out), { ...quiet, warn: (l) => warnings.push(l), stopFlag });
    return { thrown: undefined, warnings };
  } catch (e) {
    return { thrown: e, warnings };
  } finally {
    undo();
  }
}

describe('a stop request inside a step (kernel guard)', { timeout: 600_000 }, () => {
  const setup = () => {
    tf.setBackend('cpu');
    const w = tf.variable(tf.tensor2d([[0.5, -1], [2, 0.25]]), true, `w${Math.random()}`);
    const x = tf.tensor2d([[1, 2], [3, 4]]);
    return { w, x };
  };

  for (const where of ['forward', 'backward'] as const) {
    it(`abandons variableGrads in its ${where} pass at the next kernel, leaving no tensor and no tape behind`, () => {
      const { w, x } = setup();
      const flag = new StopFlag();
      const guard = new KernelGuard(flag).install();
      try {
        // stops the step from inside it: in the forward pass, or in a gradient (the backward pass)
        const stopHere = tf.customGrad(((a: tf.Tensor, save: tf.GradSaveFunc) => {
          save([a]);
          if (where === 'forward') flag.request('SIGINT');
          return {
            value: tf.relu(a),
            gradFunc: (dy: tf.Tensor, [s]: tf.Tensor[]) => {
              if (where === 'backward') flag.request('SIGINT');
              return tf.mul(dy, tf.step(s!));
            },
          };
        }) as unknown as Parameters<typeof tf.customGrad>[0]);
        const step = (stop: boolean) => () =>
          tf.variableGrads(() => {
            const h = tf.matMul(x, w);
            const y = stop ? (stopHere(h) as tf.Tensor) : tf.relu(h);
            return tf.sum(tf.mul(tf.tanh(y), 3)) as tf.Scalar;
          }, [w]);
        const reference = guard.abandonable(step(false));
        const expected = Array.from(reference.grads[w.name]!.dataSync());
        tf.dispose([reference.value, reference.grads[w.name]!]);
        const before = tf.memory().numTensors;

        flag.arm();
        let thrown: unknown;
        try {
          guard.abandonable(step(true));
        } catch (e) {
          thrown = e;
        }
        expect(thrown).toBeInstanceOf(StepAbandoned);
        expect((thrown as StepAbandoned).signal).toBe('SIGINT');
        expect(tf.memory().numTensors, 'tensors left by the abandoned step').toBe(before);
        expect(tf.engine().state.activeTape, 'the tape of the abandoned step').toBeNull();
        expect(tf.engine().state.gradientDepth).toBe(0);

        // a stop still requested stops the next step before its first kernel; once cleared, steps are as before
        expect(() => guard.abandonable(step(false))).toThrow(StepAbandoned);
        flag.disarm();
        const again = guard.abandonable(step(false));
        expect(Array.from(again.grads[w.name]!.dataSync())).toEqual(expected);
        tf.dispose([again.value, again.grads[w.name]!]);
        expect(tf.memory().numTensors).toBe(before);
      } finally {
        guard.uninstall();
        tf.dispose([w, x]);
      }
    });
  }

  /** The uninterrupted run both train() tests compare with (run once). */
  let uninterrupted: Promise<string> | undefined;
  const uninterruptedWeights = async () => {
    uninterrupted ??= (async () => {
      const full = tmp('stop-full');
      (await train(slowConfig(full), quiet)).model.dispose();
      return full;
    })();
    return savedWeights(join(await uninterrupted, 'model'));
  };

  it('train(): a stop in the middle of step 2 checkpoints step 1, names step 2, and resuming ends as an uninterrupted run', async () => {
    const stopped = tmp('stop-mid');

    const { thrown, warnings } = await trainUntilStopped(stopped, (stopFlag) => {
      // the model's last layer asks to stop in the forward pass of step 2, after every batch-norm update and random draw of it
      (globalThis as Record<symbol, unknown>)[SLOW_STEP_HOOK] = { at: 2, run: () => stopFlag.request('SIGTERM') };
      return () => delete (globalThis as Record<symbol, unknown>)[SLOW_STEP_HOOK];
    });
    expect(thrown).toBeInstanceOf(InterruptedError);
    expect(warnings.join('\n')).toContain('SIGTERM: abandoned step 2/6 of epoch 1 (none of it applied)');
    expect(checkpointState(stopped)).toMatchObject({ epoch: 0, stepInEpoch: 1, globalStep: 1 });
    expect((thrown as InterruptedError).checkpoint).toBe(join(stopped, 'checkpoints', 'ckpt-1'));

    const resumed = await train({}, { ...quiet, resume: stopped });
    resumed.model.dispose();
    expect(maxDifference(await uninterruptedWeights(), savedWeights(join(stopped, 'model')))).toBe(0);
  });

  it('train(): a stop that comes during the optimizer update lets the update finish: the checkpoint holds that step', async () => {
    const stopped = tmp('stop-update');
    const { thrown, warnings } = await trainUntilStopped(stopped, (stopFlag) => {
      const update = SGD.prototype.step;
      let updates = 0;
      // the stop comes as the update of step 2 begins, before its first kernel
      const spy = vi.spyOn(SGD.prototype, 'step').mockImplementation(function (this: SGD, ...args: Parameters<SGD['step']>) {
        if (++updates === 2) stopFlag.request('SIGINT');
        return update.apply(this, args);
      });
      return () => spy.mockRestore();
    });
    expect(thrown).toBeInstanceOf(InterruptedError);
    expect(warnings.join('\n')).not.toContain('abandoned');
    expect(checkpointState(stopped)).toMatchObject({ epoch: 0, stepInEpoch: 2, globalStep: 2 });
    const resumed = await train({}, { ...quiet, resume: stopped });
    resumed.model.dispose();
    expect(maxDifference(await uninterruptedWeights(), savedWeights(join(stopped, 'model')))).toBe(0);
  });
});

// each test starts `lm` processes (seconds on a quiet machine): a bound for a machine busy with other work
describe('lm train: the main thread owns the signals, the worker trains', { timeout: 600_000 }, () => {
  it('SIGTERM during a step of many kernels abandons it: exit 130, the checkpoint is the step before, resuming ends as an uninterrupted run', async () => {
    const full = tmp('sig-full');
    const run = tmp('sig-mid');
    const marker = join(run, 'in-slow-step');
    const reference = lm(slowFlags(full));
    const child = lm(slowFlags(run), { LM_TEST_SLOW_STEP: JSON.stringify({ at: 2, mode: 'kernels', marker }) });
    await until(() => existsSync(marker), 'the slow step');
    child.child.kill('SIGTERM');
    const end = await child.done;
    expect(end.code, end.stderr).toBe(130);
    expect(existsSync(`${marker}.done`), 'the slow step ran to its end').toBe(false);
    expect(end.stderr).toContain('SIGTERM: stopping: the step in progress is abandoned at its next kernel');
    expect(end.stderr).toContain('SIGTERM: abandoned step 2/6 of epoch 1 (none of it applied)');
    expect(end.stderr).toContain(`Interrupted by SIGTERM: checkpoint written to ${join(run, 'checkpoints', 'ckpt-1')}; continue with: lm train --resume ${run}`);
    expect(checkpointState(run)).toMatchObject({ epoch: 0, stepInEpoch: 1, globalStep: 1 });

    const resumed = await lm(['train', '--resume', run, '--progress', 'silent']).done;
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain(`resuming ${join(run, 'checkpoints', 'ckpt-1')}: epoch 1, step 1/6 (global step 1)`);
    const ref = await reference.done;
    expect(ref.code, ref.stderr).toBe(0);
    expect(maxDifference(savedWeights(join(full, 'model')), savedWeights(join(run, 'model')))).toBe(0);
  });

  it('a second SIGTERM while one long kernel runs exits at once with 130, saying what is kept', async () => {
    const run = tmp('sig-twice');
    const marker = join(run, 'in-slow-step');
    const child = lm(slowFlags(run), { LM_TEST_SLOW_STEP: JSON.stringify({ at: 2, mode: 'js', marker }) });
    let stderr = '';
    child.child.stderr!.on('data', (d) => (stderr += d));
    await until(() => existsSync(marker), 'the slow step');
    child.child.kill('SIGTERM');
    // the main thread answers while the worker is busy in plain JavaScript
    await until(() => stderr.includes('SIGTERM: stopping'), 'the first signal to be acknowledged');
    child.child.kill('SIGTERM');
    const end = await child.done;
    expect(end.code, end.stderr).toBe(130);
    expect(existsSync(`${marker}.done`), 'the slow step ran to its end').toBe(false);
    expect(end.stderr).toContain('SIGTERM again: quitting now. The checkpoints written so far are intact');
    expect(end.stderr).not.toContain('Interrupted by');
  });

  it.skipIf(spawnSync('script', ['--version']).status !== 0)('on a terminal the worker draws the progress bar; through a pipe it writes plain lines', async () => {
    const flags = (out: string) => [...tinyFlags(out), '--epochs', '1', '--synthetic-size', '64', '--val-size', '16'].filter((a, i, all) => a !== '--progress' && all[i - 1] !== '--progress');
    const command = [process.execPath, '--import', 'tsx', '--conditions=@lm/source', join(PKG, 'src', 'cli.ts'), ...flags(tmp('tty'))].join(' ');
    // `script` runs the command on a pseudo-terminal (util-linux)
    const pipe = lm(flags(tmp('pipe')));
    const terminal = spawn('script', ['-qec', command, '/dev/null'], { cwd: PKG, stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    terminal.stdout.on('data', (d) => (output += d));
    const status = await new Promise((res) => terminal.on('close', res));
    expect(status, output).toBe(0);
    expect(output).toMatch(/\r\x1b\[2K\[#+-*\] epoch 1\/1 step 1\/4 \|/);
    const piped = await pipe.done;
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stderr).toMatch(/^epoch 1\/1 step 1\/4 \|/m);
    expect(piped.stderr).not.toContain('\x1b');
  });

  it('errors reach the user as they do in-process: the same message and exit code', async () => {
    // a bad flag (found before training), and a bad value found after the backend and the data are up
    const cases = [() => ['train', '--lr', 'fast'], () => [...tinyFlags(tmp('bad-batch')), '--batch-size', '1000']];
    const runs = cases.map((argv) => lm(argv()).done);
    for (const [i, args] of cases.entries()) {
      const argv = args();
      const inProcess = { out: [] as string[], err: [] as string[] };
      const code = await main(argv, { out: (l) => inProcess.out.push(l), err: (l) => inProcess.err.push(l) });
      const cli = await runs[i]!;
      expect(code, inProcess.err.join('\n')).not.toBe(0);
      expect(cli.code, argv.join(' ')).toBe(code);
      expect(cli.stderr.trimEnd().split('\n').at(-1), argv.join(' ')).toBe(inProcess.err.at(-1));
      expect(cli.stdout).toBe(inProcess.out.map((l) => `${l}\n`).join(''));
    }
  });
});
