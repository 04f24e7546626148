// A tiny protocol client over the Worker under test, keyed as one of the demo consumers.
import { SELF } from 'cloudflare:test';

export const KEYS = { alice: 'demo-key-alice', bob: 'demo-key-bob', carol: 'demo-key-carol' } as const;

export function call(path: string, init: RequestInit & { as?: keyof typeof KEYS | null } = {}): Promise<Response> {
  const { as = 'alice', ...rest } = init;
  const headers = new Headers(rest.headers);
  if (as) headers.set('Authorization', `Bearer ${KEYS[as]}`);
  return SELF.fetch(`http://edge.test${path}`, { ...rest, headers });
}

export function postJson(path: string, body: unknown, as: keyof typeof KEYS = 'alice'): Promise<Response> {
  return call(path, { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' }, as });
}

export async function expectError(response: Response, status: number, pattern: RegExp): Promise<void> {
  const body = (await response.json()) as { error?: unknown };
  if (response.status !== status || typeof body.error !== 'string' || !pattern.test(body.error)) {
    throw new Error(`expected ${status} /${pattern.source}/, got ${response.status} ${JSON.stringify(body)}`);
  }
}

/** Splits a binary-extension response into its JSON header and the raw bytes after it. */
export async function readBinary(response: Response): Promise<{ header: any; rest: Uint8Array }> {
  const length = Number(response.headers.get('Inference-Header-Content-Length'));
  const bytes = new Uint8Array(await response.arrayBuffer());
  return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(0, length))), rest: bytes.subarray(length) };
}

/** Builds a binary-extension request body: JSON header, then the tensors' bytes in order. */
export function binaryBody(header: unknown, parts: Uint8Array[]): { body: Uint8Array; headerLength: number } {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const body = new Uint8Array(json.byteLength + parts.reduce((n, p) => n + p.byteLength, 0));
  body.set(json);
  let offset = json.byteLength;
  for (const p of parts) {
    body.set(p, offset);
    offset += p.byteLength;
  }
  return { body, headerLength: json.byteLength };
}

export const bytesOf = (view: ArrayBufferView) => new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
