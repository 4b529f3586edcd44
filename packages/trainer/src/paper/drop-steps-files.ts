import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '@lm/core-blocks/node';
import { dropStepsCsv, dropStepsMarkdown, dropStepsSvg, type DropStepsResult } from './drop-steps-report';

/** Writes drop-steps.{md,csv,json,svg} into `out`; returns the paths. */
export function writeDropSteps(r: DropStepsResult, out: string, what: string): string[] {
  mkdirSync(out, { recursive: true });
  const files: [string, string][] = [
    ['drop-steps.md', dropStepsMarkdown(r)],
    ['drop-steps.csv', dropStepsCsv(r)],
    ['drop-steps.json', `${JSON.stringify(r, null, 2)}\n`],
    ['drop-steps.svg', dropStepsSvg(r, `Test-time removal of single steps (${what})`)],
  ];
  return files.map(([name, text]) => {
    writeFileAtomic(join(out, name), text);
    return join(out, name);
  });
}
