import { packageTests } from '../tools/vitest.preset';

export default packageTests('@lm/benchmarks');
