/**
 * One image from encoded bytes to a normalised float32 HWC tile, with sharp.
 *
 * The geometry plans of geometry.ts run as a single sharp pipeline: `resize -> extract` (which
 * lets libvips decode a JPEG at 1/2, 1/4 or 1/8 scale when the target is at most half the size:
 * shrink-on-load) or `extract -> resize` (which never touches pixels outside the box). Colour is
 * forced to 8-bit sRGB with three channels (grayscale, CMYK, alpha), and the horizontal flip is
 * sharp's `flop`. The per-channel normalisation is one pass over the raw bytes in JavaScript,
 * writing straight into the batch buffer.
 */
import sharp from 'sharp';
import { readHeader } from './header.js';
import { planOutput, type Plan, type ResizeCropPlan } from './geometry.js';

export type FailOn = 'none' | 'truncated' | 'error' | 'warning';
export type Kernel = 'nearest' | 'linear' | 'cubic' | 'mitchell' | 'lanczos2' | 'lanczos3';

export interface DecodeSettings {
  /** sharp's `failOn`: the decode problems that make an image unreadable. Default 'truncated'. */
  failOn: FailOn;
  /** Resampling kernel. Default 'linear' (bilinear, antialiased when shrinking, like torchvision's default). */
  kernel: Kernel;
  /**
   * 'ignore' (default) decodes the pixel values as stored, as PIL and torchvision do; 'apply'
   * converts images with an embedded ICC profile to sRGB (slower: an lcms transform per image).
   * CMYK images are converted to sRGB either way.
   */
  colourManagement: 'ignore' | 'apply';
  /**
   * Run crop-then-resize plans as resize-then-crop when the box shrinks by 2x or more, so JPEG
   * shrink-on-load applies. The box then moves by at most half an output pixel. Default true.
   */
  shrinkOnLoad: boolean;
  /** sharp's fastShrinkOnLoad (largest power-of-two shrink on load). Default true. */
  fastShrinkOnLoad: boolean;
}

export const DEFAULT_DECODE: DecodeSettings = {
  failOn: 'truncated',
  kernel: 'linear',
  colourManagement: 'ignore',
  shrinkOnLoad: true,
  fastShrinkOnLoad: true,
};

/** Width and height of an encoded image: parsed from a JPEG/PNG header, else asked of sharp. */
export async function imageSize(buf: Buffer, settings: Pick<DecodeSettings, 'failOn'> = DEFAULT_DECODE): Promise<{ width: number; height: number }> {
  const h = readHeader(buf);
  if (h) return h;
  const m = await sharp(buf, { failOn: settings.failOn }).metadata();
  if (!m.width || !m.height) throw new Error('image has no dimensions');
  return { width: m.width, height: m.height };
}

/** The plan sharp will actually run (shrink-on-load rewrite of crop-resize plans). */
export function executionPlan(plan: Plan, settings: Pick<DecodeSettings, 'shrinkOnLoad'>): Plan {
  if (plan.kind !== 'crop-resize' || !settings.shrinkOnLoad) return plan;
  const sx = plan.outWidth / plan.width;
  const sy = plan.outHeight / plan.height;
  if (sx > 0.5 || sy > 0.5) return plan;
  const resizeWidth = Math.max(plan.outWidth, Math.round(plan.srcWidth * sx));
  const resizeHeight = Math.max(plan.outHeight, Math.round(plan.srcHeight * sy));
  const r: ResizeCropPlan = {
    kind: 'resize-crop',
    srcWidth: plan.srcWidth,
    srcHeight: plan.srcHeight,
    resizeWidth,
    resizeHeight,
    left: Math.min(Math.round(plan.left * sx), resizeWidth - plan.outWidth),
    top: Math.min(Math.round(plan.top * sy), resizeHeight - plan.outHeight),
    width: plan.outWidth,
    height: plan.outHeight,
    flip: plan.flip,
  };
  return r;
}

export interface RawTile {
  data: Buffer;
  width: number;
  height: number;
}

/**
 * Decodes and transforms one image (encoded bytes, or a file path that sharp reads itself) to raw
 * 8-bit RGB (HWC) of the plan's output size, mirrored with sharp's `flop` when the plan says so.
 */
export async function decodeRaw(buf: Buffer | string, plan: Plan, settings: DecodeSettings = DEFAULT_DECODE): Promise<RawTile> {
  const p = executionPlan(plan, settings);
  let s = sharp(buf, { failOn: settings.failOn, ignoreIcc: settings.colourManagement === 'ignore', sequentialRead: true });
  if (p.kind === 'resize-crop') {
    const resized = p.resizeWidth !== p.srcWidth || p.resizeHeight !== p.srcHeight;
    if (resized) {
      s = s.resize(p.resizeWidth, p.resizeHeight, { fit: 'fill', kernel: settings.kernel, fastShrinkOnLoad: settings.fastShrinkOnLoad });
    }
    if (p.left !== 0 || p.top !== 0 || p.width !== p.resizeWidth || p.height !== p.resizeHeight) {
      // sharp mirrors before an extract that follows a resize, so mirror the window's position too
      const left = resized && p.flip ? p.resizeWidth - p.left - p.width : p.left;
      s = s.extract({ left, top: p.top, width: p.width, height: p.height });
    }
  } else {
    if (p.left !== 0 || p.top !== 0 || p.width !== p.srcWidth || p.height !== p.srcHeight) {
      s = s.extract({ left: p.left, top: p.top, width: p.width, height: p.height });
    }
    if (p.outWidth !== p.width || p.outHeight !== p.height) {
      s = s.resize(p.outWidth, p.outHeight, { fit: 'fill', kernel: settings.kernel });
    }
  }
  if (p.flip) s = s.flop();
  const { data, info } = await s.removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  const out = planOutput(plan);
  if (info.width !== out.width || info.height !== out.height || info.channels !== 3) {
    throw new Error(`decoded to ${info.width}x${info.height}x${info.channels}, expected ${out.width}x${out.height}x3`);
  }
  return { data, width: info.width, height: info.height };
}

/** 3 x 256 lookup table: lut[c * 256 + v] = (v / 255 - mean[c]) / std[c]. */
export function normalisationLut(mean: readonly [number, number, number], std: readonly [number, number, number]): Float32Array {
  const lut = new Float32Array(768);
  for (let c = 0; c < 3; c++) for (let v = 0; v < 256; v++) lut[c * 256 + v] = (v / 255 - mean[c]) / std[c];
  return lut;
}

/**
 * Writes a raw RGB tile into `dst` at `offset` (HWC float32), normalised through `lut`, mirrored
 * when `flip` (for custom decoders that leave the flip to this pass; sharp tiles arrive mirrored).
 */
export function normaliseInto(src: Uint8Array, width: number, height: number, flip: boolean, lut: Float32Array, dst: Float32Array, offset: number): void {
  // a plain Uint8Array view keeps the loop monomorphic whether sharp handed us a Buffer or not
  const u8 = src.constructor === Uint8Array ? src : new Uint8Array(src.buffer, src.byteOffset, src.byteLength);
  const lr = lut.subarray(0, 256);
  const lg = lut.subarray(256, 512);
  const lb = lut.subarray(512, 768);
  if (!flip) {
    const n = width * height * 3;
    for (let s = 0; s < n; s += 3) {
      const d = offset + s;
      dst[d] = lr[u8[s]];
      dst[d + 1] = lg[u8[s + 1]];
      dst[d + 2] = lb[u8[s + 2]];
    }
    return;
  }
  const row = width * 3;
  for (let y = 0; y < height; y++) {
    const base = y * row;
    for (let s = base, d = offset + base + row - 3, end = base + row; s < end; s += 3, d -= 3) {
      dst[d] = lr[u8[s]];
      dst[d + 1] = lg[u8[s + 1]];
      dst[d + 2] = lb[u8[s + 2]];
    }
  }
}
