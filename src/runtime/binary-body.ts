// Triton's binary tensor extension: a JSON header followed by raw tensor bytes, for requests and responses.
import { concatBytes } from './bytes';
import { DATATYPES } from './datatypes';
import { badRequest } from './errors';
import type { InferenceResult } from './inference';
import type { TensorSpec } from './loaded-model';
import { inferenceRequestSchema, parseJson, validate, type InferenceRequest } from './protocol';

export const HEADER_LENGTH = 'Inference-Header-Content-Length';

export interface DecodedBody {
  request: InferenceRequest;
  /** Binary payload per input index, for inputs that declared `binary_data_size`. */
  binary: (Uint8Array | undefined)[];
}

const decoder = new TextDecoder();

/** Decodes a request body: plain JSON, JSON header + binary tensors, or (header length 0) one raw tensor. */
export async function decodeRequestBody(body: ArrayBuffer, headerLength: string | undefined, inputs: () => Promise<TensorSpec[]>): Promise<DecodedBody> {
  const bytes = new Uint8Array(body);
  if (headerLength === undefined) {
    return { request: validate(inferenceRequestSchema, parseJson(decoder.decode(bytes))), binary: [] };
  }
  if (!/^\d{1,10}$/.test(headerLength) || Number(headerLength) > bytes.byteLength) {
    throw badRequest(`${HEADER_LENGTH} must be a byte count within the body (${bytes.byteLength} bytes), got '${headerLength.slice(0, 20)}'`);
  }
  const jsonLength = Number(headerLength);
  if (jsonLength === 0) return rawRequest(bytes, await inputs());

  const request = validate(inferenceRequestSchema, parseJson(decoder.decode(bytes.subarray(0, jsonLength)), 'inference header'));
  const binary: (Uint8Array | undefined)[] = [];
  let offset = jsonLength;
  request.inputs.forEach((input, i) => {
    const size = input.parameters?.binary_data_size;
    if (size === undefined) return;
    if (!Number.isSafeInteger(size) || (size as number) < 0) {
      throw badRequest(`inputs[${i}].parameters.binary_data_size must be a non-negative integer`);
    }
    const end = offset + (size as number);
    if (end > bytes.byteLength) throw badRequest(`input '${input.name}': binary_data_size ${size} runs past the end of the body`);
    binary[i] = bytes.subarray(offset, end);
    offset = end;
  });
  if (offset !== bytes.byteLength) {
    throw badRequest(`body has ${bytes.byteLength - offset} bytes after the declared binary tensors`);
  }
  return { request, binary };
}

/** The shape of one sample of an input: with more than one free dimension, a leading one is the batch (1). */
export function sampleShape(shape: readonly number[]): number[] {
  const out = [...shape];
  if (out[0] === -1 && out.lastIndexOf(-1) > 0) out[0] = 1;
  return out;
}

/** A body that is only the bytes of the model's single input; its one free dimension comes from the size. */
function rawRequest(bytes: Uint8Array, inputs: TensorSpec[]): DecodedBody {
  const [spec, ...others] = inputs;
  if (!spec || others.length) throw badRequest(`a raw binary request (${HEADER_LENGTH}: 0) needs a model with exactly one input`);
  const shape = sampleShape(spec.shape);
  const free = shape.indexOf(-1);
  if (free !== shape.lastIndexOf(-1)) {
    throw badRequest(`a raw binary request needs at most one variable dimension; input '${spec.name}' has shape [${spec.shape.join(', ')}]`);
  }
  if (free >= 0) {
    const known = shape.reduce((n, d) => (d === -1 ? n : n * d), 1);
    const size = DATATYPES[spec.datatype].size;
    const rows = spec.datatype === 'BYTES' ? 1 : bytes.byteLength / size / known;
    if (!Number.isInteger(rows)) {
      throw badRequest(`raw binary body of ${bytes.byteLength} bytes is not a whole number of ${spec.datatype} rows of ${known} elements`);
    }
    shape[free] = rows;
  }
  return {
    request: {
      inputs: [{ name: spec.name, datatype: spec.datatype, shape, parameters: { binary_data_size: bytes.byteLength } }],
      parameters: { binary_data_output: true },
    },
    binary: [bytes],
  };
}

/** The response: JSON alone, or JSON header + binary outputs with the header length announced. */
export function encodeResponseBody(result: InferenceResult): { body: string | Uint8Array<ArrayBuffer>; headers: Record<string, string> } {
  const json = JSON.stringify(result.response);
  if (!result.binary.length) return { body: json, headers: { 'Content-Type': 'application/json' } };
  const header = new TextEncoder().encode(json);
  return { body: concatBytes([header, ...result.binary]), headers: { 'Content-Type': 'application/octet-stream', [HEADER_LENGTH]: String(header.byteLength) } };
}
