// Streaming context for sequence models: the tail of one call's input is prepended to the next call's.
import type { DecodedBody } from '../runtime/binary-body';
import { concatBytes } from '../runtime/bytes';
import { DATATYPES, isDatatype } from '../runtime/datatypes';
import { badRequest } from '../runtime/errors';
import { flattenData, tensorFromJson, tensorToBinary } from '../runtime/tensor-codec';

/**
 * Returns the request with `input` extended by `previous` (zeros on the first call) along its last
 * dimension, and the bytes to keep for the next call. Only batch-1 inputs can be streamed.
 */
export function withContext(decoded: DecodedBody, input: string, length: number, previous: Uint8Array | undefined) {
  const index = decoded.request.inputs.findIndex((i) => i.name === input);
  const given = decoded.request.inputs[index];
  if (!given) throw badRequest(`input '${input}' is missing`);
  const { datatype, shape } = given;
  if (!isDatatype(datatype) || datatype === 'BYTES') throw badRequest(`input '${input}': datatype '${datatype}' cannot be streamed`);
  if (shape.length === 0 || shape.slice(0, -1).some((d) => d !== 1)) {
    throw badRequest(`input '${input}': a streamed input must have shape [1, ..., n], got [${shape.join(', ')}]`);
  }
  const bytes =
    decoded.binary[index] ??
    tensorToBinary(datatype, tensorFromJson(input, datatype, shape, flattenData(input, given.data ?? [], shape)));
  const size = DATATYPES[datatype].size;
  const head = previous ?? new Uint8Array(length * size);
  const joined = concatBytes([head, bytes]);
  const inputs = decoded.request.inputs.slice();
  inputs[index] = { name: input, datatype, shape: [...shape.slice(0, -1), shape.at(-1)! + length], parameters: { binary_data_size: joined.byteLength } };
  const binary = decoded.binary.slice();
  binary[index] = joined;
  return { decoded: { request: { ...decoded.request, inputs }, binary }, context: joined.slice(joined.byteLength - length * size) };
}
