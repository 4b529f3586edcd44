/** Per-channel mean and std in [0, 1] units: the input x of the network is (v/255 − mean) / std per channel. */
export interface Normalisation {
  mean: [number, number, number];
  std: [number, number, number];
}

/** CIFAR-10 training-set statistics, what `lm train` normalises CIFAR-10 with (it computes them from the archive). */
export const CIFAR10_NORMALISATION: Normalisation = { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] };

/** Parses `r,g,b` (a query parameter) into a channel triple; names the parameter when it is not three numbers. */
export function parseTriple(text: string, name: string): [number, number, number] {
  const v = text.split(',').map(Number);
  if (v.length !== 3 || v.some((x) => !Number.isFinite(x))) throw new Error(`'${name}' must be three numbers r,g,b; got '${text}'`);
  return v as [number, number, number];
}

/** RGBA pixels (as a canvas gives them) to the network's HWC float input. */
export function toNetworkInput(rgba: Uint8ClampedArray, norm: Normalisation): Float32Array {
  const n = rgba.length / 4;
  const out = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) out[i * 3 + c] = (rgba[i * 4 + c]! / 255 - norm.mean[c]!) / norm.std[c]!;
  }
  return out;
}
