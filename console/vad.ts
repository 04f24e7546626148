// VAD: stream an audio file through silero-vad as one sequence, 512 samples (32 ms) a call, and draw the speech probability.
import { infer, takeTiming, type Context } from './api.ts';
import { lineChart } from './charts.ts';
import { errorBox, fill, fmt, h } from './dom.ts';
import { decodeAudio } from './wav.ts';

const MODEL = 'silero-vad';
const RATE = 16000;
const CHUNK = 512;
const THRESHOLD = 0.5;

/** Spans of consecutive chunks at or over the threshold, in seconds. */
function speechSpans(probabilities: number[]): [number, number][] {
  const spans: [number, number][] = [];
  let start = -1;
  probabilities.forEach((p, i) => {
    if (p >= THRESHOLD && start < 0) start = i;
    if (p < THRESHOLD && start >= 0) {
      spans.push([(start * CHUNK) / RATE, (i * CHUNK) / RATE]);
      start = -1;
    }
  });
  if (start >= 0) spans.push([(start * CHUNK) / RATE, (probabilities.length * CHUNK) / RATE]);
  return spans;
}

export function vadTab(ctx: Context): HTMLElement {
  const picker = h('input', { type: 'file', accept: 'audio/*,.wav', 'data-testid': 'vad-file' });
  const stop = h('button', { type: 'button', class: 'secondary', disabled: true }, 'Stop');
  const info = h('p', { class: 'muted small', 'data-testid': 'vad-info' }, `Pick a WAV (16 kHz mono PCM16 is sent as is; other rates and channels are mixed and resampled). Each ${CHUNK}-sample chunk (${(CHUNK / RATE) * 1000} ms) is one call of the sequence; the server carries the model's state between calls.`);
  const stats = h('div', { class: 'stats' });
  const chart = h('div', { 'data-testid': 'vad-chart' });
  const segments = h('div');
  const root = h('div', { class: 'card' }, h('h2', null, 'Voice activity detection'), h('div', { class: 'row' }, picker, stop), info, stats, chart, segments);

  let run = 0;
  stop.addEventListener('click', () => run++);
  picker.addEventListener('change', () => {
    const file = picker.files?.[0];
    if (file) void stream(file);
  });

  async function stream(file: File) {
    const mine = ++run;
    fill(chart);
    fill(segments);
    let audio;
    try {
      audio = await decodeAudio(file, RATE);
    } catch (error) {
      fill(stats, errorBox(error));
      return;
    }
    const { samples } = audio;
    const chunks = Math.max(1, Math.ceil(samples.length / CHUNK));
    const seconds = (chunks * CHUNK) / RATE;
    // The waveform behind the curve: min and max of each chunk.
    const envelope: [number, number, number][] = [];
    for (let i = 0; i < chunks; i++) {
      let lo = 0;
      let hi = 0;
      for (let j = i * CHUNK; j < Math.min(samples.length, (i + 1) * CHUNK); j++) {
        lo = Math.min(lo, samples[j]!);
        hi = Math.max(hi, samples[j]!);
      }
      envelope.push([(i * CHUNK) / RATE, lo, hi], [((i + 1) * CHUNK) / RATE, lo, hi]);
    }
    fill(info, `${file.name}: ${audio.source}, ${(samples.length / RATE).toFixed(2)} s → ${chunks} chunks of ${CHUNK} samples.`);
    const sequenceId = `console-${crypto.randomUUID()}`;
    const probabilities: number[] = [];
    const serverMs: number[] = [];
    const t0 = performance.now();
    stop.disabled = false;
    let frame = 0;
    const draw = () => {
      frame = 0;
      const points = probabilities.map((p, i): [number, number] => [((i + 0.5) * CHUNK) / RATE, p]);
      const elapsed = (performance.now() - t0) / 1000;
      const spans = speechSpans(probabilities);
      fill(stats,
        h('div', { class: 'stat' }, h('div', { class: 'v', 'data-testid': 'vad-chunks' }, `${probabilities.length} / ${chunks}`), h('div', { class: 'k' }, 'chunks')),
        h('div', { class: 'stat' }, h('div', { class: 'v' }, fmt.pct(probabilities.filter((p) => p >= THRESHOLD).length / Math.max(1, probabilities.length))), h('div', { class: 'k' }, 'speech')),
        h('div', { class: 'stat' }, h('div', { class: 'v' }, fmt.ms((elapsed * 1000) / Math.max(1, probabilities.length))), h('div', { class: 'k' }, 'per chunk, round trip')),
        h('div', { class: 'stat' }, h('div', { class: 'v' }, serverMs.length ? fmt.ms(serverMs.reduce((a, b) => a + b, 0) / serverMs.length) : '–'), h('div', { class: 'k' }, 'per chunk, server')),
        h('div', { class: 'stat' }, h('div', { class: 'v' }, `${((probabilities.length * CHUNK) / RATE / Math.max(elapsed, 0.001)).toFixed(1)}×`), h('div', { class: 'k' }, 'real time')),
      );
      const svg = lineChart(points, {
        height: 240, xMax: seconds, yMax: 1, threshold: THRESHOLD, envelope, spans,
        xLabel: (x) => `${x.toFixed(1)} s`, yLabel: (y) => String(Number(y.toFixed(2))), yTicks: [0, 0.25, 0.5, 0.75, 1], xTicks: 6,
      });
      svg.setAttribute('data-points', String(points.length));
      fill(chart, svg);
      fill(segments, spans.length
        ? h('p', { class: 'small' }, h('strong', null, 'Speech: '), spans.map(([a, b]) => `${a.toFixed(2)}–${b.toFixed(2)} s`).join(', '))
        : h('p', { class: 'muted small' }, 'No speech yet.'));
    };
    try {
      for (let i = 0; i < chunks; i++) {
        if (mine !== run) {
          // Stopped: end the sequence so it does not wait for its idle timeout.
          if (i > 0) await sendChunk(i, true).catch(() => undefined);
          break;
        }
        probabilities.push(await sendChunk(i, i === chunks - 1));
        const t = takeTiming();
        if (t?.server) serverMs.push(Object.values(t.server).reduce((a, b) => a + b, 0));
        if (!frame) frame = requestAnimationFrame(draw);
      }
    } catch (error) {
      segments.append(errorBox(error));
    } finally {
      stop.disabled = true;
      if (frame) cancelAnimationFrame(frame);
      draw();
      if (probabilities.length === chunks) chart.setAttribute('data-done', 'true');
    }

    async function sendChunk(i: number, last: boolean): Promise<number> {
      const data = new Array<number>(CHUNK).fill(0);
      for (let j = 0; j < CHUNK && i * CHUNK + j < samples.length; j++) data[j] = samples[i * CHUNK + j]!;
      const answer = await infer(ctx.client(), MODEL, {
        parameters: { sequence_id: sequenceId, sequence_start: i === 0, sequence_end: last },
        inputs: [
          { name: 'input', shape: [1, CHUNK], datatype: 'FP32', data },
          { name: 'sr', shape: [], datatype: 'INT64', data: [RATE] },
        ],
      });
      return Number((answer.outputs[0]?.data as unknown[]).flat(Infinity as 1)[0]);
    }
  }
  return root;
}
