/**
 * The optional libjpeg-turbo addon (build/Release/lmjpeg.node): decodes only the rows and
 * columns a crop needs, straight to its output size (see native/jpeg_region.cc). It handles
 * baseline and progressive JPEGs in YCbCr, RGB or grey; anything else it hands back to sharp.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sourceBox, planOutput, type Plan } from './geometry.js';
import type { DecodeSettings } from './decode.js';

/** Which decoder runs the plans of JPEG files. */
export type JpegDecoder = 'auto' | 'libjpeg-turbo' | 'sharp';

export interface NativeJpegAddon {
  /**
   * Decodes the source box [x, y, width, height] (full-size pixels) resized to outWidth x outHeight
   * (antialiased bilinear, as PIL) to RGB bytes; or resolves to the reason the image is left to sharp.
   */
  decodeRegion(source: string | Uint8Array, box: [number, number, number, number], outWidth: number, outHeight: number, shrinkOnLoad: boolean): Promise<Buffer | string>;
  /**
   * The same, normalised through `lut` (see normalisationLut) and written as float32 HWC into
   * `data` at `offset` (mirrored when `flip`) on the decoding thread; resolves to true once written.
   */
  decodeRegion(source: string | Uint8Array, box: [number, number, number, number], outWidth: number, outHeight: number, shrinkOnLoad: boolean, target: NativeTarget): Promise<true | string>;
  /** Version of libjpeg-turbo the addon was built against. */
  libjpegTurbo: string;
}

export interface NativeTarget {
  data: Float32Array;
  offset: number;
  lut: Float32Array;
  flip: boolean;
}

function packageRoot(): string {
  const here = typeof __dirname === 'string' ? __dirname : dirname(fileURLToPath(import.meta.url));
  return resolve(here, '..');
}

export const NATIVE_JPEG_FIX =
  'Fix: install libjpeg-turbo headers and build the addon:\n' +
  '  sudo apt-get install -y libjpeg62-turbo-dev   (Debian; libjpeg-turbo8-dev on Ubuntu)\n' +
  '  npm run build:native -w @lm/data-imagenet   (inside the monorepo; or `npx node-gyp rebuild` in the package directory)';

let cached: { addon?: NativeJpegAddon; error?: Error } | undefined;
let warnedMissing = false;

/** Loads the addon once (LM_IMAGENET_JPEG_ADDON overrides its path); never throws. */
export function nativeJpeg(): { addon?: NativeJpegAddon; error?: Error } {
  if (cached) return cached;
  const path = process.env.LM_IMAGENET_JPEG_ADDON ?? join(packageRoot(), 'build', 'Release', 'lmjpeg.node');
  try {
    const req = createRequire(typeof __filename === 'string' ? __filename : import.meta.url);
    cached = { addon: req(path) as NativeJpegAddon };
  } catch (e) {
    const why = existsSync(path) ? `it failed to load (${e instanceof Error ? e.message : String(e)})` : `${path} is missing`;
    cached = { error: new Error(`@lm/data-imagenet: the libjpeg-turbo addon is not available: ${why}.\n${NATIVE_JPEG_FIX}`) };
  }
  return cached;
}

/** Why the libjpeg-turbo path cannot run these decode settings, or undefined when it can. */
export function nativeUnsupported(settings: Pick<DecodeSettings, 'kernel' | 'colourManagement'>): string | undefined {
  if (settings.kernel !== 'linear') return `it implements kernel 'linear' only (got '${settings.kernel}')`;
  if (settings.colourManagement !== 'ignore') return "it ignores ICC profiles (colourManagement 'ignore'), like PIL";
  return undefined;
}

/**
 * Resolves the `jpegDecoder` option to the addon to use (undefined: sharp decodes everything).
 * 'libjpeg-turbo' insists and explains what is missing; 'auto' falls back to sharp, with one
 * warning when the addon is not built.
 */
export function resolveJpegDecoder(choice: JpegDecoder, settings: DecodeSettings, warn: (m: string) => void): NativeJpegAddon | undefined {
  if (choice === 'sharp') return undefined;
  if (choice !== 'auto' && choice !== 'libjpeg-turbo') throw new Error(`jpegDecoder must be 'auto', 'libjpeg-turbo' or 'sharp', got '${String(choice)}'`);
  const unsupported = nativeUnsupported(settings);
  if (unsupported) {
    if (choice === 'libjpeg-turbo') throw new Error(`jpegDecoder 'libjpeg-turbo' cannot run these settings: ${unsupported}`);
    return undefined;
  }
  const { addon, error } = nativeJpeg();
  if (addon) return addon;
  if (choice === 'libjpeg-turbo') throw error!;
  if (!warnedMissing) {
    warnedMissing = true;
    warn(`${error!.message}\nDecoding every image with sharp instead (about 2x slower on JPEGs).`);
  }
  return undefined;
}

/**
 * Runs a plan on the addon: the plan's source box (fractional for resize-then-crop plans) resized
 * to the plan's output in one step. Resolves to raw RGB (not mirrored), or with a `target` to true
 * once the normalised (and, per the plan, mirrored) tile is written there; or to the reason the
 * image is left to sharp.
 */
export async function decodeRegionNative(addon: NativeJpegAddon, source: string | Uint8Array, plan: Plan, settings: Pick<DecodeSettings, 'shrinkOnLoad'>): Promise<{ data: Buffer; width: number; height: number } | string>;
export async function decodeRegionNative(addon: NativeJpegAddon, source: string | Uint8Array, plan: Plan, settings: Pick<DecodeSettings, 'shrinkOnLoad'>, target: Omit<NativeTarget, 'flip'>): Promise<true | string>;
export async function decodeRegionNative(
  addon: NativeJpegAddon,
  source: string | Uint8Array,
  plan: Plan,
  settings: Pick<DecodeSettings, 'shrinkOnLoad'>,
  target?: Omit<NativeTarget, 'flip'>,
): Promise<{ data: Buffer; width: number; height: number } | true | string> {
  const b = sourceBox(plan);
  const out = planOutput(plan);
  const box: [number, number, number, number] = [b.x, b.y, b.width, b.height];
  if (target) return addon.decodeRegion(source, box, out.width, out.height, settings.shrinkOnLoad, { ...target, flip: plan.flip });
  const r = await addon.decodeRegion(source, box, out.width, out.height, settings.shrinkOnLoad);
  if (typeof r === 'string') return r;
  return { data: r, width: out.width, height: out.height };
}
