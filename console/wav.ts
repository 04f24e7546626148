// Audio file → 16 kHz mono float samples in [-1, 1]. WAV (PCM 8/16/24/32, float 32/64) is read by hand;
// anything else is left to the browser's decoder.

export interface Audio {
  samples: Float32Array;
  sampleRate: number;
  /** What the file was before conversion, for display. */
  source: string;
}

function readWav(buffer: ArrayBuffer): { channels: Float32Array[]; sampleRate: number; format: string } | undefined {
  const view = new DataView(buffer);
  const tag = (at: number) => String.fromCharCode(view.getUint8(at), view.getUint8(at + 1), view.getUint8(at + 2), view.getUint8(at + 3));
  if (buffer.byteLength < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') return undefined;
  let fmt: { format: number; channels: number; rate: number; bits: number } | undefined;
  for (let at = 12; at + 8 <= buffer.byteLength; ) {
    const id = tag(at);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === 'fmt ') {
      let format = view.getUint16(body, true);
      if (format === 0xfffe && size >= 26) format = view.getUint16(body + 24, true); // WAVE_FORMAT_EXTENSIBLE: the sub-format
      fmt = { format, channels: view.getUint16(body + 2, true), rate: view.getUint32(body + 4, true), bits: view.getUint16(body + 14, true) };
    } else if (id === 'data' && fmt) {
      const bytes = fmt.bits / 8;
      const end = Math.min(buffer.byteLength, body + size);
      const frames = Math.floor((end - body) / (bytes * fmt.channels));
      const channels = Array.from({ length: fmt.channels }, () => new Float32Array(frames));
      const read = (p: number): number => {
        if (fmt!.format === 3) return fmt!.bits === 64 ? view.getFloat64(p, true) : view.getFloat32(p, true);
        switch (fmt!.bits) {
          case 8: return (view.getUint8(p) - 128) / 128;
          case 16: return view.getInt16(p, true) / 32768;
          case 24: return ((view.getUint8(p) | (view.getUint8(p + 1) << 8) | (view.getInt8(p + 2) << 16))) / 8388608;
          case 32: return view.getInt32(p, true) / 2147483648;
          default: throw new Error(`WAV with ${fmt!.bits}-bit samples is not supported`);
        }
      };
      if (fmt.format !== 1 && fmt.format !== 3) throw new Error(`WAV format ${fmt.format} is not PCM or float`);
      for (let f = 0; f < frames; f++) {
        for (let c = 0; c < fmt.channels; c++) channels[c]![f] = read(body + (f * fmt.channels + c) * bytes);
      }
      return { channels, sampleRate: fmt.rate, format: `${fmt.format === 3 ? 'float' : 'PCM'} ${fmt.bits}-bit, ${fmt.channels} channel${fmt.channels > 1 ? 's' : ''}, ${fmt.rate} Hz` };
    }
    at = body + size + (size & 1);
  }
  throw new Error('WAV without a fmt and data chunk');
}

/** Mixes to mono and resamples linearly to `rate` (simple, and enough for a voice activity detector). */
export function toMono(channels: Float32Array[], from: number, rate: number): Float32Array {
  const frames = channels[0]?.length ?? 0;
  const mono = new Float32Array(frames);
  for (const ch of channels) for (let i = 0; i < frames; i++) mono[i]! += ch[i]! / channels.length;
  if (from === rate) return mono;
  const out = new Float32Array(Math.floor((frames * rate) / from));
  for (let i = 0; i < out.length; i++) {
    const x = (i * from) / rate;
    const j = Math.floor(x);
    const t = x - j;
    out[i] = (mono[j] ?? 0) * (1 - t) + (mono[j + 1] ?? mono[j] ?? 0) * t;
  }
  return out;
}

export async function decodeAudio(file: Blob, rate: number): Promise<Audio> {
  const buffer = await file.arrayBuffer();
  const wav = readWav(buffer);
  if (wav) return { samples: toMono(wav.channels, wav.sampleRate, rate), sampleRate: rate, source: `WAV, ${wav.format}` };
  // Not a WAV: let the browser decode it (mp3, ogg, ...).
  const context = new OfflineAudioContext(1, 1, rate);
  const decoded = await context.decodeAudioData(buffer);
  const channels = Array.from({ length: decoded.numberOfChannels }, (_, c) => decoded.getChannelData(c));
  return { samples: toMono(channels, decoded.sampleRate, rate), sampleRate: rate, source: `${file.type || 'audio'}, ${decoded.sampleRate} Hz` };
}
