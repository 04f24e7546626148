// Streams data/speech/sample.wav through models/silero-vad chunk by chunk, as a sequence client
// would, and writes test/fixtures/vad-reference.json with the onnxruntime-node probabilities.
// Then repeats the same loop in onnxruntime-web (wasm) and prints the largest difference.
// Usage: npm exec -- node scripts/vad/make-vad-reference.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';

const root = resolve(import.meta.dirname, '../..');
const SAMPLE_RATE = 16000;
const CHUNK = 512;
const config = JSON.parse(readFileSync(resolve(root, 'models/silero-vad/config.json'), 'utf8'));
const CONTEXT: number = config.context_samples ?? 0;
const [STATE] = config.sequence_batching.state.map((s: { input_name: string; output_name: string; dims: number[] }) => ({ input: s.input_name, output: s.output_name, shape: s.dims }));

/** Mono 16-bit PCM WAV to float32 in [-1, 1). */
export function readWav(bytes: Uint8Array): { sampleRate: number; samples: Float32Array } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (at: number) => String.fromCharCode(...bytes.subarray(at, at + 4));
  if (tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw new Error('not a RIFF/WAVE file');
  let sampleRate = 0;
  for (let at = 12; at + 8 <= bytes.length; ) {
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (tag(at) === 'fmt ') {
      const [format, channels, bits] = [view.getUint16(body, true), view.getUint16(body + 2, true), view.getUint16(body + 14, true)];
      if (format !== 1 || channels !== 1 || bits !== 16) throw new Error(`want mono 16-bit PCM, got format ${format}, ${channels} ch, ${bits} bit`);
      sampleRate = view.getUint32(body + 4, true);
    } else if (tag(at) === 'data') {
      if (!sampleRate) throw new Error('data chunk before fmt chunk');
      const samples = new Float32Array(size >> 1);
      for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(body + 2 * i, true) / 32768;
      return { sampleRate, samples };
    }
    at = body + size + (size & 1); // chunks are padded to even length
  }
  throw new Error('no data chunk');
}

/** One probability per chunk, state carried from each call to the next, starting at zeros. */
async function stream(ort: typeof ortNode | typeof ortWeb, model: Uint8Array, chunks: Float32Array[]): Promise<number[]> {
  const session = await ort.InferenceSession.create(model);
  const sr = new ort.Tensor('int64', BigInt64Array.of(BigInt(SAMPLE_RATE)), []);
  let state: Float32Array = new Float32Array(STATE!.shape.reduce((a, b) => a * b, 1));
  // The graph expects the previous chunk's last CONTEXT samples in front of each chunk (zeros
  // before the first); fed bare 512-sample chunks it still runs but scores speech near zero.
  const input = new Float32Array(CONTEXT + CHUNK);
  const probabilities: number[] = [];
  for (const chunk of chunks) {
    input.copyWithin(0, CHUNK);
    input.set(chunk, CONTEXT);
    const out = await session.run({
      input: new ort.Tensor('float32', input.slice(), [1, input.length]),
      [STATE!.input]: new ort.Tensor('float32', state, STATE!.shape),
      sr,
    });
    state = out[STATE!.output]!.data as Float32Array;
    probabilities.push((out.output!.data as Float32Array)[0]!);
  }
  await session.release();
  return probabilities;
}

const { sampleRate, samples } = readWav(readFileSync(resolve(root, 'data/speech/sample.wav')));
if (sampleRate !== SAMPLE_RATE) throw new Error(`sample.wav is ${sampleRate} Hz, want ${SAMPLE_RATE}`);
const chunks: Float32Array[] = [];
for (let at = 0; at < samples.length; at += CHUNK) {
  const chunk = new Float32Array(CHUNK); // zero-padded when the audio ends mid-chunk
  chunk.set(samples.subarray(at, at + CHUNK));
  chunks.push(chunk);
}

const model = readFileSync(resolve(root, 'models/silero-vad/1/model.onnx'));
const probabilities = await stream(ortNode, model, chunks);
ortWeb.env.wasm.numThreads = 1;
const web = await stream(ortWeb, model, chunks);
const maxDiff = Math.max(...probabilities.map((p, i) => Math.abs(p - web[i]!)));

// One line per chunk keeps the file diffable; float32 values print exactly as JSON numbers.
const out = resolve(root, 'test/fixtures/vad-reference.json');
writeFileSync(
  out,
  `{\n  "sample_rate": ${SAMPLE_RATE},\n  "chunk": ${CHUNK},\n  "context_samples": ${CONTEXT},\n` +
    `  "probabilities": ${JSON.stringify(probabilities)},\n` +
    `  "chunks": [\n${chunks.map((c) => '    ' + JSON.stringify(Array.from(c))).join(',\n')}\n  ]\n}\n`,
);

// Timeline: one character per 32 ms chunk; digit = floor(10 * probability); '_' pause, ',' gap, '~' sound.
const silent = chunks.map((c) => c.every((x) => x === 0));
// Pauses: runs of at least 8 silent chunks (256 ms); shorter gaps are between words.
const pause = silent.map((_, i) => {
  let [a, b] = [i, i];
  while (a > 0 && silent[a - 1]) a--;
  while (b < silent.length && silent[b]) b++;
  return silent[i]! && b - a >= 8;
});
const stats = (keep: (i: number) => boolean) => {
  const ps = probabilities.filter((_, i) => keep(i));
  return `${ps.length} chunks, mean ${(ps.reduce((a, b) => a + b, 0) / ps.length).toFixed(3)}, ` +
    `min ${Math.min(...ps).toFixed(3)}, max ${Math.max(...ps).toFixed(3)}`;
};
console.log(`${chunks.length} chunks of ${CHUNK} samples (${(samples.length / SAMPLE_RATE).toFixed(2)} s), context ${CONTEXT}`);
console.log('audio ' + silent.map((s, i) => (pause[i] ? '_' : s ? ',' : '~')).join(''));
console.log('prob  ' + probabilities.map((p) => Math.min(9, Math.floor(p * 10))).join(''));
console.log(`pauses: ${stats((i) => pause[i]!)}`);
console.log(`speech: ${stats((i) => !pause[i])}`);
console.log(`onnxruntime-web vs onnxruntime-node: max |diff| ${maxDiff.toExponential(2)}`);
console.log(`wrote ${out} (${(readFileSync(out).length / 1024).toFixed(0)} KiB)`);
