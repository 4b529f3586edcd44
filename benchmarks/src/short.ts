/** Short mode of every bench target (LM_BENCH_SHORT=1): few steps, one round, so CI checks that each still runs. */
export const SHORT = process.env.LM_BENCH_SHORT === '1';
export const shortNote = 'short mode (LM_BENCH_SHORT=1): a smoke run of few steps; the figures are not measurements';
