/**
 * Lockstep paired measurement of the onednn side (train-step-worker.ts --serve) against the PyTorch side
 * (torch_models.py --serve) of one model: both servers are alive at once, each set up and warmed up, and the driver
 * asks them in turn for one training step (then one evaluation batch) at a time, A B, B A, A B, ... Only one process
 * computes at a time, the other waits on its stdin, so they do not share the cores, and the machine's drift (minutes)
 * hits both sides of a pair (a second) alike. The result is the median of the per-pair ratios torch_ms / onednn_ms
 * (> 1: onednn is faster), with their range.
 * After each reply the driver waits until the side that answered is quiet (its CPU time stops advancing), so
 * that work a side leaves behind (garbage collection, OpenMP workers spinning) does not run inside the other
 * side's timed command; that leftover CPU is reported per side, since in a real run it overlaps the next step.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

import { firstOfPair, median, pairedRatios, type PairedRatios, type PairPlan, wantsAnotherPair } from './stats';

export type LockstepSideName = 'onednn' | 'pytorch';

/** How to start one side's server. */
export interface ServerCommand {
  cmd: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

/**
 * The ratios of one command kind, the median milliseconds of each side, and each side's median CPU share (CPU ms of
 * all its threads / wall ms): about the thread count when it had the cores, less when other jobs took them.
 */
export interface LockstepKind extends PairedRatios {
  onednn_ms: number[];
  pytorch_ms: number[];
  /** CPU ms of each command, in pair order like the wall times. */
  onednn_cpu_ms: number[];
  pytorch_cpu_ms: number[];
  onednn_median_ms: number;
  pytorch_median_ms: number;
  onednn_cpu_share: number;
  pytorch_cpu_share: number;
  /** Median CPU ms a side burnt after its reply, until it was quiet (null where /proc cannot tell). */
  onednn_after_cpu_ms: number | null;
  pytorch_after_cpu_ms: number | null;
}

/** One reply: wall and CPU milliseconds. */
interface Timed {
  ms: number;
  cpuMs: number;
}

export interface LockstepResult {
  model: string;
  train: LockstepKind;
  eval: LockstepKind;
}

/** A reply of a server to a command (or its ready line) must come within this many seconds. */
const replyTimeoutS = Number(process.env.BENCH_LOCKSTEP_TIMEOUT_S ?? 1800);

/** One running server: send a command line, await its one-line JSON reply. */
class Server {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: string[] = [];
  private waiting: ((line: string | null) => void) | undefined;
  private stderrTail: string[] = [];
  private exited: string | undefined;

  constructor(readonly model: string, readonly side: LockstepSideName, command: ServerCommand) {
    this.child = spawn(command.cmd, command.args, { env: command.env, stdio: ['pipe', 'pipe', 'pipe'] });
    createInterface({ input: this.child.stdout, crlfDelay: Infinity }).on('line', (line) => {
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = undefined;
        w(line);
      } else this.lines.push(line);
    });
    createInterface({ input: this.child.stderr, crlfDelay: Infinity }).on('line', (line) => {
      this.stderrTail.push(line);
      if (this.stderrTail.length > 8) this.stderrTail.shift();
    });
    this.child.stdin.on('error', () => {}); // a dead child: reported by the exit handler below
    this.child.on('error', (e) => this.finish(`could not start ${command.cmd}: ${e.message}`));
    // 'close': the process has exited and its stdout has been read to the end.
    this.child.on('close', (code, signal) => this.finish(signal ? `killed by ${signal}` : `exited with code ${code}`));
  }

  private finish(why: string): void {
    this.exited ??= why;
    // Let stdout's last lines arrive before telling a waiting caller that no reply will come.
    setImmediate(() => {
      if (this.waiting && !this.lines.length) {
        const w = this.waiting;
        this.waiting = undefined;
        w(null);
      }
    });
  }

  private fail(what: string): Error {
    const tail = this.stderrTail.length ? `; stderr: ${this.stderrTail.join(' | ')}` : '';
    return new Error(`lockstep ${this.model} [${this.side}]: ${what}${tail}`);
  }

  private nextLine(what: string): Promise<string> {
    const queued = this.lines.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.exited) return Promise.reject(this.fail(`server ${this.exited} before ${what}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        reject(this.fail(`no ${what} within ${replyTimeoutS} s (BENCH_LOCKSTEP_TIMEOUT_S)`));
      }, replyTimeoutS * 1000);
      this.waiting = (line) => {
        clearTimeout(timer);
        if (line === null) reject(this.fail(`server ${this.exited} before ${what}`));
        else resolve(line);
      };
    });
  }

  private async reply(what: string): Promise<Record<string, unknown>> {
    const line = await this.nextLine(what);
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      throw this.fail(`expected one JSON line as ${what}, got ${JSON.stringify(line.slice(0, 200))}`);
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw this.fail(`expected a JSON object as ${what}, got ${JSON.stringify(line.slice(0, 200))}`);
    const o = obj as Record<string, unknown>;
    if (typeof o.error === 'string') throw this.fail(`the server answered ${what} with an error: ${o.error}`);
    return o;
  }

  async ready(): Promise<void> {
    const o = await this.reply('the ready line (after setup and warm-up)');
    if (o.ready !== true) throw this.fail(`expected {"ready":true,...} after setup, got ${JSON.stringify(o)}`);
  }

  /** Runs one command; its wall and CPU milliseconds as the server measured them. */
  async run(cmd: 'train' | 'eval'): Promise<Timed> {
    if (this.exited) throw this.fail(`server ${this.exited} before the reply to ${cmd}`);
    this.child.stdin.write(cmd + '\n');
    const o = await this.reply(`the reply to ${cmd}`);
    if (o.cmd !== cmd || typeof o.ms !== 'number' || !(o.ms > 0) || typeof o.cpu_ms !== 'number' || !(o.cpu_ms >= 0)) {
      throw this.fail(`expected {"cmd":"${cmd}","ms":<positive number>,"cpu_ms":<number >= 0>}, got ${JSON.stringify(o)}`);
    }
    return { ms: o.ms, cpuMs: o.cpu_ms };
  }

  /** Asks the server to quit, and kills it if it has not gone after a few seconds. */
  async close(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('close', () => resolve()));
    this.child.stdin.end('quit\n');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  }

  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }

  /** CPU ms of all the server's threads so far (/proc/<pid>/stat, 10 ms ticks), or undefined off Linux. */
  private cpuMs(): number | undefined {
    try {
      const fields = readFileSync(`/proc/${this.child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return (Number(fields[11]) + Number(fields[12])) * 10;
    } catch {
      return undefined;
    }
  }

  /**
   * Waits until this server is quiet after a reply: no CPU tick over 30 ms (at most 3 s); returns the CPU ms it burnt
   * meanwhile. Without /proc it waits a fixed 100 ms and returns undefined.
   */
  async settle(): Promise<number | undefined> {
    const start = this.cpuMs();
    if (start === undefined) {
      await sleep(100);
      return undefined;
    }
    let last = start, quiet = 0;
    for (let waited = 0; quiet < 3 && waited < 3000; waited += 10) {
      await sleep(10);
      const now = this.cpuMs() ?? last;
      quiet = now === last ? quiet + 1 : 0;
      last = now;
    }
    return last - start;
  }
}

/**
 * Times pairs of training steps and then pairs of evaluation batches of both sides alternately (see the module doc),
 * as many of each kind as `plan` allows (stats.ts wantsAnotherPair): cheap models get more pairs, hence a tighter
 * interval, for the time one pair of a large model takes.
 */
export async function runLockstep(model: string, commands: Record<LockstepSideName, ServerCommand>, plan: PairPlan): Promise<LockstepResult> {
  const count = (n: number, what: string) => {
    if (!(Number.isInteger(n) && n > 0)) throw new Error(`lockstep: ${what} must be a positive integer, got ${n}`);
  };
  count(plan.max, 'the number of pairs (BENCH_LOCKSTEP_PAIRS)');
  count(plan.min, 'the least number of pairs (BENCH_LOCKSTEP_MIN_PAIRS)');
  if (!(plan.budgetS >= 0)) throw new Error(`lockstep: the time budget must be a number of seconds >= 0, got ${plan.budgetS} (BENCH_LOCKSTEP_BUDGET_S)`);
  const onednn = new Server(model, 'onednn', commands.onednn), pytorch = new Server(model, 'pytorch', commands.pytorch);
  try {
    // Set up and warm up concurrently; the timing starts once both are ready.
    await Promise.all([onednn.ready(), pytorch.ready()]);
    await Promise.all([onednn.settle(), pytorch.settle()]);
    const measure = async (cmd: 'train' | 'eval'): Promise<LockstepKind> => {
      const t: Record<LockstepSideName, Timed[]> = { onednn: [], pytorch: [] };
      const after: Record<LockstepSideName, number[]> = { onednn: [], pytorch: [] };
      const start = performance.now();
      for (let i = 0; wantsAnotherPair(i, (performance.now() - start) / 1000, plan); i++) {
        for (const s of firstOfPair(i, onednn, pytorch)) {
          t[s.side].push(await s.run(cmd));
          const leftover = await s.settle();
          if (leftover !== undefined) after[s.side].push(leftover);
        }
      }
      const afterMedian = (side: LockstepSideName) => (after[side].length ? median(after[side]) : null);
      const ms = (side: LockstepSideName) => t[side].map((x) => x.ms);
      const share = (side: LockstepSideName) => median(t[side].map((x) => x.cpuMs / x.ms));
      return {
        ...pairedRatios(ms('pytorch'), ms('onednn')),
        onednn_ms: ms('onednn'), pytorch_ms: ms('pytorch'),
        onednn_cpu_ms: t.onednn.map((x) => x.cpuMs), pytorch_cpu_ms: t.pytorch.map((x) => x.cpuMs),
        onednn_median_ms: median(ms('onednn')), pytorch_median_ms: median(ms('pytorch')),
        onednn_cpu_share: share('onednn'), pytorch_cpu_share: share('pytorch'),
        onednn_after_cpu_ms: afterMedian('onednn'), pytorch_after_cpu_ms: afterMedian('pytorch'),
      };
    };
    const train = await measure('train');
    const evaluation = await measure('eval');
    await Promise.all([onednn.close(), pytorch.close()]);
    return { model, train, eval: evaluation };
  } finally {
    onednn.kill();
    pytorch.kill();
  }
}
