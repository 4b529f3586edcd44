/**
 * distributed-scaling: data-parallel training of LM-ResNet-20 (CIFAR shapes, random data, onednn backend,
 * 1 thread per rank) on 1 and 2 MPI ranks of this machine, global batch 128 split over the ranks, gradients
 * averaged by @lm/trainer's step allreduce (one call per step). Reports training images/s, the allreduce time
 * per step, the scaling efficiency, and an estimate for 16 ranks on a 10 Gb/s network from the measured
 * allreduce cost per parameter. Writes results/distributed-scaling.{json,md}.
 *
 * Run it under `flock /tmp/lm-bench.lock npm run distributed-scaling -w @lm/benchmarks`.
 * Env: LM_BENCH_SHORT=1 (3 measured steps), BENCH_STEPS (10), BENCH_WARMUP (2), BENCH_BATCH (128),
 * BENCH_MODEL (lm-resnet20). Started by mpirun itself (OMPI_COMM_WORLD_SIZE set) it is one rank of a measurement.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type Cell, median, writeBenchResult } from './report';

const short = process.env.LM_BENCH_SHORT === '1';
const steps = Number(process.env.BENCH_STEPS ?? (short ? 3 : 10));
const warmup = Number(process.env.BENCH_WARMUP ?? (short ? 1 : 2));
const batch = Number(process.env.BENCH_BATCH ?? 128);
const modelName = process.env.BENCH_MODEL ?? 'lm-resnet20';
const NETWORK_BYTES_PER_S = 10e9 / 8;

interface RankResult {
  ranks: number;
  parameters: number;
  values: number;
  step_ms: number;
  /** In the step: includes waiting for the slowest rank. */
  allreduce_ms: number;
  /** Alone after a barrier: the transfer and reduction. */
  allreduce_alone_ms: number;
  images_per_s: number;
  backend: string;
}

/** One rank: `steps` timed training steps on batch/size images each, the step allreduce included. */
async function worker(): Promise<void> {
  process.env.OMP_NUM_THREADS = '1';
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-layers');
  await import('@tensorflow/tfjs-backend-cpu');
  const onednn = await import('@lm/backend-onednn');
  const backend = onednn.isOnednnAvailable() ? 'onednn' : 'cpu';
  await tf.setBackend(backend);
  const { initMpi } = await import('@lm/mpi');
  const { createModel } = await import('@lm/schemes');
  const { SGD, StepReducer, MetricAccumulator, movingStatistics, trainableParams, softmaxCrossEntropy } = await import('@lm/trainer');
  const comm = initMpi();
  const local = batch / comm.size;
  const model = createModel(modelName, { numClasses: 10, inputShape: [32, 32, 3], seed: 1 });
  const params = trainableParams(model);
  const vars = params.map((p) => p.variable);
  const sgd = new SGD(params, { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 });
  const reducer = new StepReducer(comm, movingStatistics(model));
  const xs = tf.randomNormal([local, 32, 32, 3], 0, 1, 'float32', comm.rank + 1);
  const labels = Int32Array.from({ length: local }, (_, i) => (i * 7 + comm.rank) % 10);
  const ys = tf.oneHot(tf.tensor1d(labels, 'int32'), 10);
  const stepMs: number[] = [];
  const allreduceMs: number[] = [];
  for (let i = 0; i < warmup + steps; i++) {
    comm.barrier();
    const t0 = performance.now();
    let logits: import('@tensorflow/tfjs-core').Tensor2D | undefined;
    const { value, grads } = tf.variableGrads(() => {
      const l = model.apply(xs, { training: true }) as import('@tensorflow/tfjs-core').Tensor2D;
      logits = tf.keep(l);
      return softmaxCrossEntropy(l, ys);
    }, vars);
    reducer.reduce(grads, vars, value, logits!, labels, new MetricAccumulator(10), false);
    sgd.step(vars.map((v) => grads[v.name]!), 0.01);
    tf.dispose([value, logits!, ...Object.values(grads)]);
    // The slowest rank sets the pace: the step ends for everyone when the last one finishes.
    const t = new Float64Array([performance.now() - t0]);
    comm.allreduce(t, 'max');
    if (i >= warmup) {
      stepMs.push(t[0]!);
      allreduceMs.push(reducer.last.seconds * 1000);
    }
  }
  // The allreduce inside a step also waits for the slowest rank; alone, after a barrier, it is the transfer cost.
  const alone: number[] = [];
  const buf = new Float32Array(reducer.last.values);
  for (let i = 0; i < Math.max(3, steps); i++) {
    comm.barrier();
    const t0 = performance.now();
    comm.allreduce(buf);
    alone.push(performance.now() - t0);
  }
  const ar = new Float64Array([median(allreduceMs), median(alone)]);
  comm.allreduce(ar, 'max');
  if (comm.rank === 0) {
    const step = median(stepMs);
    const r: RankResult = {
      ranks: comm.size,
      parameters: vars.reduce((n, v) => n + v.size, 0),
      values: reducer.last.values,
      step_ms: step,
      allreduce_ms: ar[0]!,
      allreduce_alone_ms: ar[1]!,
      images_per_s: (batch * 1000) / step,
      backend,
    };
    console.log(`RESULT ${JSON.stringify(r)}`);
  }
  comm.finalize();
}

/** Runs `np` ranks of this file under mpirun (loopback only) and returns rank 0's result. */
async function measure(np: number): Promise<RankResult | string> {
  const { findMpirun, localMpirunArgs } = await import('@lm/mpi');
  const mpirun = findMpirun();
  if (!mpirun) return 'mpirun not found (apt-get install openmpi-bin libopenmpi-dev)';
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(mpirun, localMpirunArgs(np, [process.execPath, '--import', 'tsx', '--conditions=@lm/source', self], { OMP_NUM_THREADS: '1' }), {
    encoding: 'utf8',
    env: { ...process.env, OMP_NUM_THREADS: '1', LM_ONEDNN_QUIET: '1' },
  });
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (r.status !== 0 || !line) return `mpirun -np ${np} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' ')}`;
  return JSON.parse(line.slice('RESULT '.length)) as RankResult;
}

async function driver(): Promise<void> {
  const { isMpiAvailable, mpiLoadError } = await import('@lm/mpi');
  const notes: string[] = [`${modelName}, global batch ${batch}, ${steps} measured steps after ${warmup} warm-up (median), 1 thread per rank, random CIFAR-shaped data`];
  if (!isMpiAvailable()) {
    writeBenchResult({ name: 'distributed-scaling', title: 'Data-parallel training on MPI', columns: ['ranks'], rows: [], notes: [...notes, `skipped: ${mpiLoadError()!.message.split('\n')[0]}`] });
    return;
  }
  const one = await measure(1);
  const two = await measure(2);
  const rows: Cell[][] = [];
  for (const r of [one, two]) {
    if (typeof r === 'string') notes.push(r);
    else rows.push([r.ranks, r.images_per_s, r.step_ms, r.allreduce_ms, r.allreduce_alone_ms, (100 * r.allreduce_alone_ms) / r.step_ms]);
  }
  const extra: Record<string, unknown> = { one, two };
  if (typeof one !== 'string' && typeof two !== 'string') {
    const efficiency = two.images_per_s / (2 * one.images_per_s);
    // Measured cost of the step allreduce per value on 2 ranks (shared memory, this machine).
    const perValueNs = (two.allreduce_alone_ms * 1e6) / two.values;
    // 16 ranks at 10 Gb/s: a ring allreduce moves 2 (N-1)/N of the buffer through each rank's link (4 bytes a
    // value), on top of the measured per-value cost of reducing and copying on this machine; latency ignored.
    const n = 16;
    const linkNsPerValue = ((2 * (n - 1)) / n) * 4 * (1e9 / NETWORK_BYTES_PER_S);
    const ring16Ms = (two.values * (linkNsPerValue + perValueNs)) / 1e6;
    // Strong scaling, global batch fixed: each of 16 ranks computes batch/16 images (compute time scales down).
    const compute16Ms = one.step_ms / n;
    const eff16 = compute16Ms / (compute16Ms + ring16Ms);
    // Weak scaling: each rank keeps `batch` images (the paper's per-GPU batch): compute time of 1 rank.
    const weak16 = one.step_ms / (one.step_ms + ring16Ms);
    extra.efficiency_2 = efficiency;
    extra.allreduce_ns_per_value_2_ranks = perValueNs;
    extra.estimate_16_ranks_10gbps = { allreduce_ms: ring16Ms, strong_scaling_efficiency: eff16, weak_scaling_efficiency: weak16 };
    notes.push(
      `scaling efficiency, 2 ranks: ${(100 * efficiency).toFixed(0)}% (images/s of 2 ranks / twice those of 1 rank; both ranks share this 2-core machine with anything else running)`,
      `allreduce of the step buffer (${two.values} float32: ${two.parameters} gradients + moving statistics + 5 sums), alone: ${two.allreduce_alone_ms.toFixed(2)} ms on 2 ranks = ${perValueNs.toFixed(2)} ns per value (shared memory); in the step it also waits for the slower rank (${two.allreduce_ms.toFixed(1)} ms)`,
      `estimate, 16 ranks on 10 Gb/s: ${ring16Ms.toFixed(2)} ms per step = ${two.values} values x (${linkNsPerValue.toFixed(2)} ns on the link for a ring allreduce, 2·15/16·4 bytes, + ${perValueNs.toFixed(2)} ns measured here); ` +
        `efficiency ${(100 * weak16).toFixed(1)}% with ${batch} images per rank, ${(100 * eff16).toFixed(1)}% with the global batch ${batch} split 16 ways (compute from the 1-rank step, allreduce bandwidth only)`,
    );
  }
  writeBenchResult({
    name: 'distributed-scaling',
    title: `Data-parallel ${modelName} training on MPI ranks of this machine`,
    columns: ['ranks', 'images/s', 'step ms', 'allreduce in step ms (incl. waiting)', 'allreduce alone ms', 'allreduce % of step'],
    rows,
    notes,
    extra,
  });
}

if (process.env.OMPI_COMM_WORLD_SIZE || process.env.PMI_SIZE) await worker();
else await driver();
