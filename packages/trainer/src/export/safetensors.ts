import type * as tf from '@tensorflow/tfjs-core';

/** One tensor of a PyTorch state dict: row-major data in PyTorch's layout. */
export interface TorchTensor {
  name: string;
  dtype: 'F32' | 'I64';
  shape: number[];
  data: Float32Array | BigInt64Array;
}

export class ExportError extends Error {
  override name = 'ExportError';
}

/** TensorFlow.js weight names (`<layer>/<weight>`) to PyTorch's (`<layer>.<parameter or buffer>`). */
const TORCH_NAMES: Record<string, string> = {
  kernel: 'weight',
  bias: 'bias',
  gamma: 'weight',
  beta: 'bias',
  moving_mean: 'running_mean',
  moving_variance: 'running_var',
};

/** The generic naming: a layer's PyTorch module is named as the layer, nested names joined by '.'. */
export function layerModuleName(layer: string): string {
  return layer.replaceAll('/', '.');
}

/** Row-major transpose of `data` with `shape` by `perm` (output axis i is input axis perm[i]). */
function transpose(data: Float32Array, shape: number[], perm: number[]): Float32Array {
  const outShape = perm.map((p) => shape[p]!);
  const inStrides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const out = new Float32Array(data.length);
  const idx = new Array<number>(shape.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let i = 0; i < perm.length; i++) src += idx[i]! * inStrides[perm[i]!]!;
    out[o] = data[src]!;
    for (let i = perm.length - 1; i >= 0; i--) {
      if (++idx[i]! < outShape[i]!) break;
      idx[i] = 0;
    }
  }
  return out;
}

/**
 * A saved TensorFlow.js layers model's weights as a PyTorch state dict: `<module>.weight` etc. (the module of a
 * layer by `moduleName`: the layer's own name by default, or the paper-check reference's), convolution kernels
 * HWIO -> OIHW (grouped ones too: [k, k, C_in/G, F] -> [F, C_in/G, k, k]), dense kernels [in, out] -> [out, in],
 * batch norm gamma/beta/moving statistics -> weight/bias/running_mean/running_var (+ num_batches_tracked = 0),
 * any other weight (the LM scheme's `k`) under its own name and shape.
 */
export function torchStateDict(
  specs: readonly tf.io.WeightsManifestEntry[],
  data: ArrayBuffer,
  moduleName: (layer: string) => string = layerModuleName,
): TorchTensor[] {
  const out: TorchTensor[] = [];
  const batchNorms = new Set<string>();
  let offset = 0;
  for (const spec of specs) {
    if (spec.dtype !== 'float32' || spec.quantization) {
      throw new ExportError(`weight '${spec.name}' is ${spec.quantization ? 'quantized' : spec.dtype}; only float32 weights can be exported`);
    }
    const size = spec.shape.reduce((a, b) => a * b, 1);
    if (offset + size * 4 > data.byteLength) throw new ExportError(`the weights data ends before weight '${spec.name}' (${data.byteLength} bytes)`);
    const values = new Float32Array(data.slice(offset, offset + size * 4));
    offset += size * 4;
    const cut = spec.name.lastIndexOf('/');
    const layer = moduleName(spec.name.slice(0, cut));
    const weight = spec.name.slice(cut + 1);
    const param = TORCH_NAMES[weight] ?? weight;
    let shape = spec.shape;
    let tensor: Float32Array = values;
    if (weight === 'kernel' && shape.length === 4) {
      tensor = transpose(values, shape, [3, 2, 0, 1]);
      shape = [shape[3]!, shape[2]!, shape[0]!, shape[1]!];
    } else if (weight === 'kernel' && shape.length === 2) {
      tensor = transpose(values, shape, [1, 0]);
      shape = [shape[1]!, shape[0]!];
    }
    if (weight === 'moving_mean') batchNorms.add(layer);
    out.push({ name: `${layer}.${param}`, dtype: 'F32', shape, data: tensor });
  }
  for (const layer of batchNorms) out.push({ name: `${layer}.num_batches_tracked`, dtype: 'I64', shape: [], data: new BigInt64Array(1) });
  return out;
}

/**
 * The safetensors file of `tensors`: an 8-byte little-endian header length, a JSON header (name -> dtype, shape,
 * data_offsets; `__metadata__`), padded with spaces to 8 bytes, then the tensors' little-endian bytes.
 */
export function encodeSafetensors(tensors: TorchTensor[], metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let end = 0;
  for (const t of tensors) {
    if (t.name in header) throw new ExportError(`two weights map to the PyTorch name '${t.name}'`);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [end, end + t.data.byteLength] };
    end += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + new TextEncoder().encode(json).length) % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const bytes = new Uint8Array(8 + head.length + end);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(head.length), true);
  bytes.set(head, 8);
  let at = 8 + head.length;
  for (const t of tensors) {
    bytes.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return bytes;
}
