import { createSession, ort } from './runtime/ort';
import add from '../test/spike-add.onnx';

export default {
  async fetch(): Promise<Response> {
    const s = await createSession(new Uint8Array(add));
    const out = await s.run({ x: new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4]), [2, 2]) });
    return Response.json({ meta: s.inputMetadata, y: Array.from(out.y!.data as Float32Array) });
  },
} satisfies ExportedHandler<Env>;
