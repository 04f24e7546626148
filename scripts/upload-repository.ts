// `npm run repo:upload -- <dir> [--url URL]`: uploads a Triton model folder, or a whole repository of them, through the load API.
// A model folder holds config.pbtxt (or config.json) and <version>/model.onnx; versions the server already has are skipped.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { url: { type: 'string', default: 'http://localhost:8787' }, key: { type: 'string', default: process.env.EDGE_KEY ?? 'demo-key-alice' } },
});
const [root] = positionals;
if (!root) {
  console.error('usage: npm run repo:upload -- <model folder | repository folder> [--url http://localhost:8787] [--key <admin key>]');
  process.exit(2);
}

const CONFIGS = ['config.pbtxt', 'config.json'];
const isDir = (path: string) => statSync(path).isDirectory();
const isModelFolder = (dir: string) =>
  CONFIGS.some((f) => existsSync(join(dir, f))) || readdirSync(dir).some((v) => /^\d+$/.test(v) && existsSync(join(dir, v, 'model.onnx')));

async function api(path: string, body: unknown): Promise<Response> {
  return fetch(`${values.url}${path}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${values.key}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** The files of one model folder, as the load API's `file:<path>` parameters; versions already served are left out. */
function parametersOf(dir: string, existing: Set<string>): Record<string, string> {
  const parameters: Record<string, string> = {};
  const add = (path: string) => (parameters[`file:${path}`] = readFileSync(join(dir, path)).toString('base64'));
  for (const file of CONFIGS) if (existsSync(join(dir, file))) add(file);
  for (const version of readdirSync(dir).filter((v) => /^\d+$/.test(v) && isDir(join(dir, v)))) {
    if (existing.has(version)) continue;
    if (!existsSync(join(dir, version, 'model.onnx'))) {
      console.warn(`  skipping ${version}/: no model.onnx (only ONNX models are served)`);
      continue;
    }
    add(`${version}/model.onnx`);
    for (const file of CONFIGS) if (existsSync(join(dir, version, file))) add(`${version}/${file}`);
  }
  return parameters;
}

const folders = isModelFolder(root) ? [root] : readdirSync(root).map((d) => join(root, d)).filter((d) => isDir(d) && isModelFolder(d));
if (!folders.length) {
  console.error(`${root} holds no model folder (config.pbtxt or <version>/model.onnx)`);
  process.exit(1);
}
const index = (await (await api('/v2/repository/index', {})).json()) as { name: string; version: string }[];
let failed = 0;
for (const dir of folders) {
  const name = basename(dir);
  const existing = new Set(index.filter((m) => m.name === name).map((m) => m.version));
  const response = await api(`/v2/repository/models/${encodeURIComponent(name)}/load`, { parameters: parametersOf(dir, existing) });
  const body = (await response.json()) as { error?: string };
  if (response.ok) console.log(`${name}: loaded`);
  else {
    failed++;
    console.error(`${name}: ${response.status} ${body.error}`);
  }
}
process.exit(failed ? 1 : 0);
