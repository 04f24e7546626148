// `npm run repo:upload -- <dir> [--url URL]`: uploads a Triton model folder, or a whole repository of them, through the load API.
// A model folder holds config.pbtxt (or config.json) and <version>/model.onnx; versions the server already has are skipped.
// The work is client/repository-upload.ts, which the CLI's `upload` command also uses.
import { parseArgs } from 'node:util';
import { ApiError, createClient } from '../client/index.ts';
import { uploadRepository } from '../client/repository-upload.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { url: { type: 'string', default: 'http://localhost:8787' }, key: { type: 'string', default: process.env.EDGE_KEY ?? 'demo-key-alice' } },
});
const [root] = positionals;
if (!root) {
  console.error('usage: npm run repo:upload -- <model folder | repository folder> [--url http://localhost:8787] [--key <admin key>]');
  process.exit(2);
}

try {
  const results = await uploadRepository(createClient({ url: values.url, key: values.key }), root, {
    onResult: (r) => (r.ok ? console.log(`${r.name}: loaded`) : console.error(`${r.name}: ${r.status} ${r.error}`)),
  });
  process.exit(results.some((r) => !r.ok) ? 1 : 0);
} catch (error) {
  console.error(error instanceof ApiError ? `${error.status} ${error.message}` : (error as Error).message);
  process.exit(1);
}
