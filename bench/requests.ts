// The requests the benchmark sends: one realistic row per model, as Open Inference Protocol v2 JSON.
import { existsSync, readFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { ROOT } from './project.ts';

export const API_KEY = 'demo-key-alice';
export const MODELS = ['iris', 'fashion-mnist'] as const;
export type ModelName = (typeof MODELS)[number];

export interface BenchRequest {
  model: ModelName;
  path: string;
  body: string;
}

function fashionImage(): number[] {
  const fixture = join(ROOT, 'test', 'fixtures', 'fashion-mnist-sample.json');
  if (existsSync(fixture)) {
    const images = (JSON.parse(readFileSync(fixture, 'utf8')) as { images?: number[][] }).images;
    if (images?.[0]?.length === 784) return images[0];
  }
  // Deterministic stand-in: a smooth 0..255 pattern, so the body size matches a real image.
  return Array.from({ length: 784 }, (_, i) => Math.round(127.5 + 127.5 * Math.sin(i / 13)));
}

function body(data: number[], width: number): string {
  return JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, width], data }] });
}

export function benchRequests(): BenchRequest[] {
  return [
    { model: 'iris', path: '/v2/models/iris/infer', body: body([5.9, 3.0, 5.1, 1.8], 4) },
    { model: 'fashion-mnist', path: '/v2/models/fashion-mnist/infer', body: body(fashionImage(), 784) },
  ];
}

export const requestHeaders = {
  'content-type': 'application/json',
  authorization: `Bearer ${API_KEY}`,
};

export interface Reply {
  status: number;
  ms: number;
  serverTiming: string | undefined;
  json: unknown;
}

// One keep-alive connection, like a client that reuses its socket; node:http adds far less overhead than fetch.
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

/** One timed request from this process, response body fully read. */
export function timedRequest(baseUrl: string, method: 'GET' | 'POST', path: string, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = httpRequest(baseUrl + path, { method, agent, headers: requestHeaders, timeout: 60_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const ms = performance.now() - started;
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = text;
        }
        const timing = res.headers['server-timing'];
        resolve({ status: res.statusCode ?? 0, ms, serverTiming: Array.isArray(timing) ? timing.join(', ') : timing, json });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

export const postInfer = (baseUrl: string, request: BenchRequest) => timedRequest(baseUrl, 'POST', request.path, request.body);

/** The predicted label from a v2 response, or a description of what came back instead. */
export function labelOf(reply: Reply): string {
  const outputs = (reply.json as { outputs?: { name: string; data: unknown[] }[] })?.outputs;
  const label = outputs?.find((o) => o.name === 'label')?.data?.[0];
  const probabilities = outputs?.find((o) => o.name === 'probabilities');
  if (reply.status !== 200 || label === undefined || !probabilities) {
    return `HTTP ${reply.status}: ${JSON.stringify(reply.json).slice(0, 200)}`;
  }
  return String(label);
}
