/**
 * A run folder's protection: created without `mkdir -p` loops, refused when it already holds a run (unless
 * resumed), locked by the training process (`run.lock` with its pid), and cleaned of failed writes on start.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { FileError, OptionError, asFileError } from '../errors';
import { checkpointsDir, isCheckpointFolder, listCheckpoints } from './checkpoint';

export const LOCK_FILE = 'run.lock';
/** Files whose presence makes a folder a run folder. */
export const RUN_FILES = ['config.json', 'metrics.jsonl', 'summary.json', 'model', 'checkpoints'] as const;

/** Creates `dir` and its missing parents one by one, reporting the real reason (no endless retry on /proc). */
export function makeFolder(dir: string): void {
  const target = resolve(dir);
  const missing: string[] = [];
  let p = target;
  for (;;) {
    let st;
    try {
      st = statSync(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw asFileError(e, p, 'create the run folder');
      missing.push(p);
      const parent = dirname(p);
      if (parent === p) break;
      p = parent;
      continue;
    }
    if (!st.isDirectory()) throw new FileError(p, 'create the run folder', 'ENOTDIR');
    break;
  }
  for (const m of missing.reverse()) {
    try {
      mkdirSync(m);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && statSync(m).isDirectory()) continue;
      if (code === 'ENOENT') {
        // the parent exists (we just checked or made it), so this file system refuses new folders (/proc, /sys)
        throw new FileError(m, 'create the run folder', undefined, `the file system of '${dirname(m)}' does not allow creating folders there; choose another --out`);
      }
      throw asFileError(e, m, 'create the run folder');
    }
  }
}

/** Which run files a folder already holds (empty: a new or empty folder, fine for a new run). */
export function existingRunFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return RUN_FILES.filter((f) => existsSync(join(dir, f)));
}

/** A new run must not write into an existing run. */
export function refuseExistingRun(dir: string): void {
  const found = existingRunFiles(dir);
  if (found.length) {
    throw new OptionError(
      '--out',
      `--out '${dir}' already holds a run (${found.join(', ')}); continue it with: lm train --resume ${dir}, or choose a new --out folder`,
    );
  }
}

/**
 * `--resume` takes a run folder. A checkpoint folder or the `checkpoints` folder is an error that names the run
 * folder to give instead; a folder without checkpoints is an error too.
 */
export function checkResumeFolder(given: string): string {
  const p = resolve(given);
  if (!existsSync(p)) throw new OptionError('--resume', `--resume '${given}': no such folder`);
  if (isCheckpointFolder(p) || (basename(dirname(p)) === 'checkpoints' && /^ckpt-/.test(basename(p)))) {
    const run = dirname(dirname(p));
    throw new OptionError('--resume', `--resume takes a run folder, not a checkpoint: '${given}' is a checkpoint of the run '${run}'; give: lm train --resume ${run}`);
  }
  if (basename(p) === 'checkpoints' && (existsSync(join(p, 'latest')) || listCheckpoints(p).length)) {
    const run = dirname(p);
    throw new OptionError('--resume', `--resume takes a run folder, not its checkpoints folder; give: lm train --resume ${run}`);
  }
  if (!existsSync(checkpointsDir(p))) {
    throw new OptionError('--resume', `--resume '${given}' is not a run folder: it has no checkpoints/ folder (a run folder holds config.json, metrics.jsonl and checkpoints/)`);
  }
  return p;
}

interface LockInfo {
  pid: number;
  host: string;
  /** Start time of the process (Linux /proc/<pid>/stat field 22), so a reused pid is not taken for the holder. */
  processStart?: string;
  startedAt: string;
}

function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function alive(info: LockInfo): boolean {
  if (info.host !== hostname()) return true; // cannot check another machine: assume it holds the lock
  try {
    process.kill(info.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const now = processStart(info.pid);
  return !(info.processStart && now && now !== info.processStart);
}

export interface RunLock {
  release(): void;
  /** Set when a stale lock of a dead process was replaced. */
  replacedStale?: LockInfo;
}

/** Takes the run folder's lock or throws an error naming the process that holds it; a dead holder's lock is replaced. */
export function lockRunFolder(dir: string): RunLock {
  const file = join(dir, LOCK_FILE);
  const mine: LockInfo = { pid: process.pid, host: hostname(), processStart: processStart(process.pid), startedAt: new Date().toISOString() };
  let replacedStale: LockInfo | undefined;
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw asFileError(e, file, 'lock the run folder');
      let info: LockInfo | undefined;
      try {
        info = JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
      } catch {
        info = undefined; // a half-written lock: its writer died between open and write
      }
      if (info && typeof info.pid === 'number' && alive(info)) {
        throw new Error(
          `run folder '${dir}' is in use by process ${info.pid}${info.host !== mine.host ? ` on ${info.host}` : ''} (training since ${info.startedAt}); ` +
            `wait for it to finish or stop it (kill ${info.pid}), then resume with: lm train --resume ${dir}`,
        );
      }
      replacedStale = info;
      rmSync(file, { force: true });
      continue;
    }
    try {
      const bytes = Buffer.from(JSON.stringify(mine));
      writeSync(fd, bytes);
    } finally {
      closeSync(fd);
    }
    return {
      replacedStale,
      release() {
        try {
          const now = JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
          if (now.pid === process.pid) rmSync(file, { force: true });
        } catch {
          /* already gone */
        }
      },
    };
  }
  throw new Error(`run folder '${dir}': could not take ${file} (another process keeps replacing it)`);
}
