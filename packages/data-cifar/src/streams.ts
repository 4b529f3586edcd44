/** Purposes of the seeded streams of one (seed, epoch): they keep shuffle, augmentation, split and synthesis independent. */
export const STREAM_SHUFFLE = 1;
export const STREAM_AUGMENT = 2;
export const STREAM_SPLIT = 3;
export const STREAM_SYNTH = 4;
