import { lmCoefficients } from '@lm/schemes';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { inputSize, loadModel, logitsOf, selectBackend, topK, type Ranked } from './classify';
import { kChartSvg } from './k-chart';
import { CIFAR10_NORMALISATION, parseTriple, toNetworkInput, type Normalisation } from './preprocess';
import { SAMPLE_NAMES, samplePixels } from './samples';

const CIFAR10_LABELS = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

/** What the page last computed, for people in the console and for tests. */
export interface PageResult {
  backend: string;
  source: string;
  logits: number[];
  top5: Ranked[];
  k: { layer: string; k: number[] }[];
}
declare global {
  interface Window {
    lmPage?: PageResult;
  }
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
const status = (text: string) => ($('status').textContent = text);
const norm: Normalisation = {
  mean: params.has('mean') ? parseTriple(params.get('mean')!, 'mean') : CIFAR10_NORMALISATION.mean,
  std: params.has('std') ? parseTriple(params.get('std')!, 'std') : CIFAR10_NORMALISATION.std,
};

let model: LayersModel | undefined;
let backend = '';

function labelsFor(numClasses: number): string[] {
  if (params.has('labels')) return params.get('labels')!.split(',');
  return numClasses === 10 ? CIFAR10_LABELS : [];
}

function classify(rgba: Uint8ClampedArray, source: string): void {
  const [h, w] = inputSize(model!);
  const canvas = $<HTMLCanvasElement>('input');
  canvas.width = w;
  canvas.height = h;
  canvas.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(rgba), w, h), 0, 0);
  const logits = logitsOf(model!, toNetworkInput(rgba, norm));
  const top5 = topK(logits, 5, labelsFor(logits.length));
  $('top5').innerHTML = top5
    .map((r) => `<li>${r.label} ${(100 * r.probability).toFixed(1)}%<span style="width:${Math.round(200 * r.probability)}px"></span></li>`)
    .join('');
  window.lmPage = { backend, source, logits: Array.from(logits), top5, k: lmCoefficients(model!) };
  status(`${source} on the ${backend} backend`);
  document.body.dataset.state = 'classified';
}

/** Scales an image file to the model's input (centre square crop) and returns its RGBA pixels. */
async function filePixels(file: Blob): Promise<Uint8ClampedArray> {
  const [h, w] = inputSize(model!);
  const bitmap = await createImageBitmap(file);
  const side = Math.min(bitmap.width, bitmap.height);
  const canvas = new OffscreenCanvas(w, h);
  const ctx = canvas.getContext('2d')!;
  ctx.drawImage(bitmap, (bitmap.width - side) / 2, (bitmap.height - side) / 2, side, side, 0, 0, w, h);
  return ctx.getImageData(0, 0, w, h).data;
}

async function classifyFile(file: File): Promise<void> {
  try {
    classify(await filePixels(file), `file ${file.name}`);
  } catch (err) {
    fail(`cannot read '${file.name}' as an image: ${(err as Error).message}`);
  }
}

function showSamples(): void {
  const [h, w] = inputSize(model!);
  const box = $('samples');
  box.replaceChildren();
  SAMPLE_NAMES.forEach((name, i) => {
    const c = document.createElement('canvas');
    c.width = w;
    c.height = h;
    c.title = name;
    c.dataset.sample = String(i);
    c.getContext('2d')!.putImageData(new ImageData(samplePixels(i, w), w, h), 0, 0);
    c.onclick = () => classify(samplePixels(i, w), `sample ${i} (${name})`);
    box.append(c);
  });
}

function fail(message: string): void {
  status(message);
  document.body.dataset.state = 'error';
}

async function load(url: string): Promise<void> {
  status(`Loading ${url} …`);
  document.body.dataset.state = 'loading';
  model?.dispose();
  model = await loadModel(url);
  const [h, w] = inputSize(model);
  if (h !== w) throw new Error(`the model's input is ${h}x${w}; the page's samples are square`);
  $('k-chart').innerHTML = kChartSvg(lmCoefficients(model));
  showSamples();
  classify(samplePixels(Number(params.get('sample') ?? 0), w), `sample ${params.get('sample') ?? 0}`);
}

async function start(): Promise<void> {
  backend = await selectBackend(params.get('backend') ?? undefined);
  const url = params.get('model') ?? './model/model.json';
  $<HTMLInputElement>('model-url').value = url;
  $('model-form').onsubmit = (e) => {
    e.preventDefault();
    load($<HTMLInputElement>('model-url').value).catch((err) => fail(`cannot load the model: ${(err as Error).message}`));
  };
  const drop = $('drop');
  drop.ondragover = (e) => {
    e.preventDefault();
    drop.classList.add('over');
  };
  drop.ondragleave = () => drop.classList.remove('over');
  drop.ondrop = (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const file = e.dataTransfer?.files[0];
    if (file && model) void classifyFile(file);
  };
  $<HTMLInputElement>('file').onchange = (e) => {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (file && model) void classifyFile(file);
  };
  await load(url);
}

start().catch((err) => fail(`cannot load the model: ${(err as Error).message}`));
