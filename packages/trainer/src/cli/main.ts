import { analyzeCommand } from './analyze';
import { compareCommand } from './compare';
import { CheckpointError, DataError, DivergenceError, FileError, InterruptedError, OptionError } from '../errors';
import { evalCommand } from './eval';
import { exportCommand } from './export';
import { processIo, type Io } from './io';
import { modelsCommand } from './models';
import { paramsCommand } from './params';
import { reportCommand } from './report';
import { trainCommand } from './train';

const COMMANDS: Record<string, { run: (argv: string[], io: Io) => Promise<number>; summary: string }> = {
  train: { run: trainCommand, summary: 'train a model (default: LM-ResNet-20 on CIFAR-10, quick preset); --resume continues a run' },
  eval: { run: evalCommand, summary: 'top-1/top-5 error of a checkpoint on a dataset' },
  models: { run: modelsCommand, summary: 'registered model names' },
  params: { run: paramsCommand, summary: 'parameter counts against the paper' },
  report: { run: reportCommand, summary: 'HTML page and PNG figures from run folders' },
  compare: { run: compareCommand, summary: 'arms x paired seeds: final errors, paired differences with 95% intervals' },
  analyze: { run: analyzeCommand, summary: 'roots, zero-stability, order and modified equation of every learned step' },
  export: { run: exportCommand, summary: 'the weights with PyTorch names and layouts (--format safetensors)' },
};

export function mainHelp(): string {
  const rows = Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(8)}${c.summary}`);
  return `Usage: lm <command> [options]\n\nCommands:\n${rows.join('\n')}\n\nlm <command> --help shows the command's options.\n`;
}

/** Runs the `lm` command (alone: its help); returns the exit code (0 ok, 1 failure, 2 bad usage, 3 diverged, 130 stopped). */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.out(mainHelp());
    return 0;
  }
  if (command === '--version' || command === '-v') {
    const { TRAINER_VERSION } = await import('../version');
    io.out(TRAINER_VERSION);
    return 0;
  }
  if (!command || !(command in COMMANDS)) {
    io.err(`lm: unknown command '${command}'. Commands: ${Object.keys(COMMANDS).join(', ')}`);
    return 2;
  }
  return run(command, rest, io);
}

async function run(command: string, argv: string[], io: Io): Promise<number> {
  try {
    return await COMMANDS[command]!.run(argv, io);
  } catch (e) {
    if (e instanceof OptionError) {
      io.err(`lm ${command}: ${e.message.replace(new RegExp(`^lm ${command}: `), '')}`);
      return 2;
    }
    if (e instanceof InterruptedError) {
      io.err(e.message);
      return 130;
    }
    if (e instanceof DivergenceError) {
      io.err(e.message);
      return 3;
    }
    if (e instanceof DataError || e instanceof FileError || e instanceof CheckpointError) {
      io.err(`lm ${command}: ${e.message}`);
      return 1;
    }
    const err = e as Error;
    const name = err?.name && err.name !== 'Error' ? `${err.name}: ` : '';
    io.err(`lm ${command}: ${name}${err?.message ?? String(e)}`);
    if (process.env.LM_DEBUG) io.err(err?.stack ?? '');
    return 1;
  }
}
