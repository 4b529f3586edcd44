import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ArraySplit, CifarFormatError, OFFICIAL, parseBatch, readTarFile, type RGB } from '@lm/data-cifar';
import type { Split } from '../data/datasets';

const TEST_FILE = { cifar10: 'test_batch.bin', cifar100: 'test.bin' } as const;

/**
 * The official test split of a CIFAR archive or folder that may hold nothing else (e.g. only `test_batch.bin`),
 * normalised with the channel statistics the model was trained with (those of its training split).
 * Returns undefined when the source has no test batch.
 */
export async function readTestSplit(
  path: string,
  variant: 'cifar10' | 'cifar100',
  norm: { mean: RGB; std: RGB },
  numClasses: number,
): Promise<Split | undefined> {
  const file = TEST_FILE[variant];
  let data: Uint8Array | undefined;
  let label = `${path}:${file}`;
  if (!existsSync(path)) throw new CifarFormatError(path, 'does not exist');
  if (statSync(path).isFile()) {
    for await (const m of readTarFile(path, (n) => basename(n) === file)) {
      if (m.type === 'file' && m.data) {
        data = m.data;
        label = `${path}:${m.name}`;
      }
    }
  } else {
    const dir = [join(path, OFFICIAL[variant].folder), path].find((d) => existsSync(join(d, file)));
    if (dir) {
      label = join(dir, file);
      data = readFileSync(label);
    } else if (readdirSync(path).length === 0) throw new CifarFormatError(path, 'empty folder');
  }
  if (!data) return undefined;
  const batch = parseBatch(data, label, variant);
  return new ArraySplit(batch.images, batch.labels, numClasses, norm);
}
