// Offline graph optimisation for uploads (`upload --optimize`): onnxruntime-node applies ONNX Runtime's basic and
// extended rewrites (constant folding, fusions) once, here, so that the Worker's wasm build does not redo them in
// every isolate that loads the model. Not 'all': that level adds layouts for this machine's CPU, which wasm lacks.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function optimizeModel(model: Uint8Array): Promise<Uint8Array> {
  const ort = await import('onnxruntime-node').catch(() => {
    throw new Error('--optimize needs onnxruntime-node (npm install onnxruntime-node)');
  });
  const dir = mkdtempSync(join(tmpdir(), 'edge-optimize-'));
  try {
    const input = join(dir, 'model.onnx');
    const output = join(dir, 'optimized.onnx');
    writeFileSync(input, model);
    const session = await ort.InferenceSession.create(input, { graphOptimizationLevel: 'extended', optimizedModelFilePath: output, intraOpNumThreads: 1 });
    await session.release();
    return readFileSync(output);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
