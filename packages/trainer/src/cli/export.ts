import { basename, dirname, join, resolve } from 'node:path';
import { readModelArtifacts, writeFileAtomic } from '@lm/core-blocks/node';
import { oneOf, OptionError } from '../errors';
import { useCpuBackend } from '../backend/select';
import { torchNaming } from '../export/reference-names';
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

The weights of a trained model with PyTorch names and layouts (convolutions OIHW, linear [out, in], batch norm
weight/bias/running_mean/running_var/num_batches_tracked).

The paper's CIFAR networks (resnet<d>, preact-resnet<d>, lm-resnet<d> of the zoo, either conventions) get the
names of the PyTorch reference tools/paper-check/reference.py: conv1, bn1, layer1.0.conv1, layer1.0.bn1, ...,
layer2.0.shortcut.{bn,conv}, layer1.1.k (or one_minus_k: the k_n of an LM step), bn, fc; the file's metadata
says which network, padding and k parametrisation, and reference.load(file) builds it and loads the weights
with strict=True. Any other model keeps generic names, '<layer>.weight' etc. after its TensorFlow.js layers
(an LM step's '<layer>.k'), for a PyTorch model whose modules carry those names; the metadata says why.
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
  await useCpuBackend(); // recognising a reference network builds the zoo's model to compare with
  const naming = torchNaming(a.modelTopology, a.weightSpecs ?? []);
  const tensors = torchStateDict(a.weightSpecs ?? [], a.weightData as ArrayBuffer, naming.moduleName);
  const metadata: Record<string, string> = { format: 'pt', exporter: 'lm export', source: modelDir, layout: 'NCHW', ...naming.metadata };
  if (config?.model) metadata.model = config.model;
  if (epoch !== undefined) metadata.epoch = String(epoch);
  const out = resolve(str(p, 'out') ?? join(dirname(modelDir), `${basename(modelDir) === 'model' ? 'model' : basename(modelDir)}.${format}`));
  writeFileAtomic(out, encodeSafetensors(tensors, metadata));
  io.out(out);
  io.err(naming.architecture ? `names of ${naming.architecture.architecture} in tools/paper-check/reference.py` : `generic layer names: ${naming.metadata.naming_reason}`);
  return 0;
}
