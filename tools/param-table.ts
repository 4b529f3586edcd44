/**
 * Prints every model's trainable parameters next to the paper's Table 2.
 *   node --import tsx --conditions=@lm/source tools/param-table.ts [filter...]
 */
import '@tensorflow/tfjs-backend-cpu';
import { formatParamTable, listModels, parameterTable } from '@lm/schemes';

const filters = process.argv.slice(2);
const rows = parameterTable(listModels(filters.length ? filters : undefined));
console.log(formatParamTable(rows));
