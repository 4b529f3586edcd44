import { basename, dirname, join, resolve } from 'node:path';
import { readModelArtifacts, writeFileAtomic } from '@lm/core-blocks/node';
import { oneOf, OptionError } from '../errors';
import { encodeSafetensors, torchStateDict } from '../export/safetensors';
import { locateModel } from '../train/evaluate-checkpoint';
import { bool, optionHelp, parse, str, type OptionSpecs } from './args';
import type { Io } from './io';

export const EXPORT_FORMATS = ['safetensors'] as const;

export const EXPORT_OPTIONS: OptionSpecs = {
  format: { type: 'string', value: '<format>', description: `${EXPORT_FORMATS.join(' | ')} (default safetensors)` },
  out: { type: 'string', value: '<file>', description: 'output file (default: model.safetensors beside the model folder)' },
};

const HELP = `Usage: lm export <run folder | checkpoint | model folder> [--format safetensors] [--out <file>]

The weights of a trained model with PyTorch names and layouts, for a PyTorch model of the same architecture
whose modules are named as the TensorFlow.js layers: '<layer>.weight' (convolutions OIHW, linear [out, in]),
'<layer>.bias', batch norm weight/bias/running_mean/running_var/num_batches_tracked, the LM steps' '<layer>.k'.
Load with safetensors.torch.load_file(file) and model.load_state_dict(..., strict=True).

Options:
`;

export async function exportCommand(argv: string[], io: Io): Promise<number> {
  const p = parse('export', argv, EXPORT_OPTIONS, true);
  if (bool(p, 'help')) {
    io.out(`${HELP}${optionHelp(EXPORT_OPTIONS)}\n`);
    return 0;
  }
  const format = oneOf('--format', str(p, 'format') ?? 'safetensors', EXPORT_FORMATS);
  const source = p.positionals[0];
  if (!source || p.positionals.length > 1) throw new OptionError('source', 'lm export: give one run folder, checkpoint or model folder');
  const { modelDir, config, epoch } = locateModel(source);
  const a = readModelArtifacts(modelDir);
  const tensors = torchStateDict(a.weightSpecs ?? [], a.weightData as ArrayBuffer);
  const metadata: Record<string, string> = { format: 'pt', exporter: 'lm export', source: modelDir, layout: 'NCHW' };
  if (config?.model) metadata.model = config.model;
  if (epoch !== undefined) metadata.epoch = String(epoch);
  const out = resolve(str(p, 'out') ?? join(dirname(modelDir), `${basename(modelDir) === 'model' ? 'model' : basename(modelDir)}.${format}`));
  writeFileAtomic(out, encodeSafetensors(tensors, metadata));
  io.out(out);
  return 0;
}
