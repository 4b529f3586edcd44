import { OptionError } from '../errors';

/** Learning-rate schedules as data, so they serialise into configs and checkpoints. */
export type Schedule =
  | { type: 'constant' }
  /** lr · gamma^(number of milestones ≤ epoch): the paper's "divide by 10 at epochs 80 and 120". */
  | { type: 'step'; milestones: number[]; gamma?: number }
  /** Half-cosine from lr at progress 0 to minLr at the last epoch, evaluated per step. */
  | { type: 'cosine'; minLr?: number };

export const SCHEDULE_TYPES = ['constant', 'step', 'cosine'] as const;

export interface SchedulePosition {
  /** Zero-based epoch. */
  epoch: number;
  /** Zero-based step inside the epoch (default 0). */
  step?: number;
  /** Steps per epoch (default 1). */
  stepsPerEpoch?: number;
}

export interface LrOptions {
  lr: number;
  schedule: Schedule;
  /** Total epochs (cosine needs it). */
  epochs: number;
  /** Linear warm-up length in epochs (0 = none). */
  warmupEpochs?: number;
}

/**
 * The learning rate of one step. Step decay changes at epoch boundaries; cosine and warm-up change every
 * step. Warm-up multiplies the schedule by (steps done + 1) / (warm-up steps), reaching 1 after `warmupEpochs`.
 */
export function learningRate(o: LrOptions, pos: SchedulePosition): number {
  const spe = pos.stepsPerEpoch ?? 1;
  const step = pos.step ?? 0;
  const progress = pos.epoch + step / spe;
  let lr: number;
  const s = o.schedule;
  switch (s.type) {
    case 'constant':
      lr = o.lr;
      break;
    case 'step': {
      const passed = s.milestones.filter((m) => pos.epoch >= m).length;
      lr = o.lr * Math.pow(s.gamma ?? 0.1, passed);
      break;
    }
    case 'cosine': {
      const min = s.minLr ?? 0;
      lr = min + (o.lr - min) * 0.5 * (1 + Math.cos((Math.PI * Math.min(progress, o.epochs)) / o.epochs));
      break;
    }
    default:
      throw new OptionError('schedule', `schedule must be one of: ${SCHEDULE_TYPES.join(', ')} (got '${(s as { type: string }).type}')`);
  }
  const w = o.warmupEpochs ?? 0;
  if (w > 0) {
    const done = pos.epoch * spe + step + 1;
    const total = w * spe;
    if (done < total) lr *= done / total;
  }
  return lr;
}

/** Parses `step:80,120`, `step:80,120:0.2`, `cosine`, `cosine:0.001`, `constant`. */
export function parseSchedule(text: string, option = '--schedule'): Schedule {
  const [type, a, b] = text.split(':');
  const bad = (why: string) =>
    new OptionError(option, `${option} ${why}; use one of: constant, step:<epoch>,<epoch>[:<gamma>], cosine[:<min lr>] (got '${text}')`);
  if (type === 'constant') return { type: 'constant' };
  if (type === 'cosine') {
    if (a === undefined || a === '') return { type: 'cosine' };
    const minLr = Number(a);
    if (!Number.isFinite(minLr) || minLr < 0) throw bad('has a bad minimum learning rate');
    return { type: 'cosine', minLr };
  }
  if (type === 'step') {
    const milestones = (a ?? '').split(',').filter((x) => x !== '').map(Number);
    if (!milestones.length || milestones.some((m) => !Number.isInteger(m) || m < 0)) throw bad('needs non-negative integer epochs');
    const gamma = b === undefined ? 0.1 : Number(b);
    if (!Number.isFinite(gamma) || gamma <= 0) throw bad('has a bad gamma');
    return { type: 'step', milestones, gamma };
  }
  throw bad('must be one of: constant, step, cosine');
}

export function formatSchedule(s: Schedule): string {
  if (s.type === 'step') return `step:${s.milestones.join(',')}${s.gamma !== undefined && s.gamma !== 0.1 ? `:${s.gamma}` : ''}`;
  if (s.type === 'cosine') return s.minLr ? `cosine:${s.minLr}` : 'cosine';
  return 'constant';
}
