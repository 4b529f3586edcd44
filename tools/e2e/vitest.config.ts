import { packageTests } from '../vitest.preset';

export default packageTests('@lm/e2e', { testTimeout: 900_000, hookTimeout: 900_000 });
