// The peer: a plain node:http + onnxruntime-node server for the same v2 infer route and the same model files.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';

const MODELS_DIR = process.env.MODELS_DIR ?? fileURLToPath(new URL('../models', import.meta.url));
const MAX_BODY = 8 * 1024 * 1024;
const port = Number(process.env.PORT ?? 8788);
// Loads every model directory unless told which ones, like a server started for a known set of models.
const only = process.env.PEER_MODELS?.split(',');
// The Worker runs ORT single-threaded; matching it keeps the comparison about the runtimes, not thread counts.
const threads = Number(process.env.PEER_ORT_THREADS ?? 1);

const DATATYPES: Record<string, string> = {
  float32: 'FP32', float64: 'FP64', int64: 'INT64', int32: 'INT32', int8: 'INT8', uint8: 'UINT8', bool: 'BOOL',
};

interface Model {
  name: string;
  version: string;
  session: ort.InferenceSession;
}

class HttpError extends Error {
  status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

async function loadModels(): Promise<Map<string, Model>> {
  const models = new Map<string, Model>();
  for (const name of readdirSync(MODELS_DIR)) {
    if (!statSync(join(MODELS_DIR, name)).isDirectory() || (only && !only.includes(name))) continue;
    const versions = readdirSync(join(MODELS_DIR, name)).filter((v) => /^\d+$/.test(v) && existsSync(join(MODELS_DIR, name, v, 'model.onnx')));
    if (!versions.length) continue;
    const version = versions.sort((a, b) => Number(b) - Number(a))[0]!;
    const session = await ort.InferenceSession.create(join(MODELS_DIR, name, version, 'model.onnx'), {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
    models.set(name, { name, version, session });
  }
  return models;
}

function consumerHashes(): Set<string> {
  return new Set(Object.keys(JSON.parse(process.env.CONSUMER_KEYS ?? '{}') as Record<string, unknown>));
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > MAX_BODY) reject(new HttpError(413, 'request body too large'));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

interface RequestInput {
  name: string;
  datatype: string;
  shape: number[];
  data: unknown[];
}

function feedsFor(model: Model, body: Buffer): Record<string, ort.Tensor> {
  let request: { inputs?: RequestInput[] };
  try {
    request = JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 'request body is not JSON');
  }
  if (!Array.isArray(request.inputs)) throw new HttpError(400, 'inputs must be an array');
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of request.inputs) {
    const meta = model.session.inputMetadata.find((m) => m.name === input.name);
    if (!meta || !meta.isTensor) throw new HttpError(400, `unknown input '${input.name}'`);
    if (DATATYPES[meta.type] !== input.datatype || meta.type !== 'float32') {
      throw new HttpError(400, `input '${input.name}': datatype ${input.datatype} does not match the model's ${DATATYPES[meta.type] ?? meta.type}`);
    }
    const shape = input.shape;
    if (!Array.isArray(shape) || shape.length !== meta.shape.length || meta.shape.some((d, i) => typeof d === 'number' && d !== shape[i])) {
      throw new HttpError(400, `input '${input.name}': shape [${shape}] does not match the model's [${meta.shape}]`);
    }
    const data = input.data.some(Array.isArray) ? input.data.flat(Infinity) : input.data;
    const count = shape.reduce((a, b) => a * b, 1);
    if (data.length !== count) throw new HttpError(400, `input '${input.name}': ${data.length} elements given, shape needs ${count}`);
    feeds[input.name] = new ort.Tensor('float32', Float32Array.from(data as number[]), shape);
  }
  for (const name of model.session.inputNames) if (!feeds[name]) throw new HttpError(400, `missing input '${name}'`);
  return feeds;
}

function toJson(name: string, tensor: ort.Tensor) {
  const data = tensor.data as ArrayLike<number | bigint>;
  return {
    name,
    datatype: DATATYPES[tensor.type] ?? tensor.type,
    shape: tensor.dims,
    data: Array.from(data, (v) => (typeof v === 'bigint' ? Number(v) : v)),
  };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json), ...headers });
  res.end(json);
}

async function handle(models: Map<string, Model>, keys: Set<string>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = performance.now();
  const path = (req.url ?? '/').split('?')[0]!;
  if (req.method === 'GET' && (path === '/v2/health/live' || path === '/v2/health/ready')) {
    return send(res, 200, path.endsWith('live') ? { live: true } : { ready: true });
  }
  const key = req.headers.authorization?.match(/^Bearer\s+(\S+)$/i)?.[1];
  if (!key || !keys.has(createHash('sha256').update(key).digest('hex'))) throw new HttpError(401, 'invalid API key');
  const route = path.match(/^\/v2\/models\/([^/]+)(?:\/versions\/(\d+))?\/infer$/);
  if (req.method !== 'POST' || !route) throw new HttpError(404, `no route for ${req.method} ${path}`);
  const model = models.get(decodeURIComponent(route[1]!));
  if (!model || (route[2] !== undefined && route[2] !== model.version)) throw new HttpError(404, `unknown model '${route[1]}'`);
  const feeds = feedsFor(model, await readBody(req));
  const inferStart = performance.now();
  const results = await model.session.run(feeds);
  const inferMs = performance.now() - inferStart;
  const outputs = model.session.outputNames.map((name) => toJson(name, results[name]!));
  const response = { model_name: model.name, model_version: model.version, outputs };
  const rest = performance.now() - started - inferMs;
  send(res, 200, response, {
    'model-version': model.version,
    'server-timing': `infer;dur=${inferMs.toFixed(3)}, rest;dur=${rest.toFixed(3)}`,
  });
}

const models = await loadModels();
const keys = consumerHashes();
createServer((req, res) => {
  handle(models, keys, req, res).catch((error: unknown) => {
    const status = error instanceof HttpError ? error.status : 500;
    if (status === 500) console.error(error);
    send(res, status, { error: error instanceof Error ? error.message : String(error) });
  });
}).listen(port, '127.0.0.1', () => console.log(`node peer on http://127.0.0.1:${port} serving ${[...models.keys()].join(', ')}`));
