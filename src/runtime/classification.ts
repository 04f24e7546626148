// Triton's classification extension: the top-k classes of an output as "value:index[:label]" strings.
import type { DatatypeName } from './datatypes';
import { badRequest } from './errors';
import type { ort } from './ort';
import { tensorToJson } from './tensor-codec';

export function classify(tensor: ort.Tensor, datatype: DatatypeName, count: number, labels: string[] | undefined) {
  if (datatype === 'BYTES' || datatype === 'BOOL') throw badRequest(`classification needs a numeric output, '${datatype}' is not`);
  const dims = tensor.dims;
  // A 1-D output of a batched model is one value per row, not classes: there is nothing to rank.
  if (dims.length < 2) throw badRequest(`classification needs an output with a class dimension; this one has shape [${dims.join(', ')}]`);
  const classes = dims.at(-1) ?? 1;
  const rows = dims.length > 1 ? tensor.size / classes : 1;
  const values = tensorToJson(datatype, tensor) as number[];
  const k = Math.min(count, classes);
  const data: string[] = [];
  for (let row = 0; row < rows; row++) {
    const offset = row * classes;
    const order = Array.from({ length: classes }, (_, i) => i).sort((a, b) => values[offset + b]! - values[offset + a]!);
    for (const index of order.slice(0, k)) {
      const label = labels?.[index];
      data.push(`${shortest(values[offset + index]!, datatype)}:${index}${label === undefined ? '' : `:${label}`}`);
    }
  }
  const shape = dims.length > 1 ? [...dims.slice(0, -1), k] : [k];
  return { datatype: 'BYTES' as const, shape, data };
}

/** The shortest decimal that reads back as the same FP32/FP16 value, as Triton prints them. */
function shortest(value: number, datatype: DatatypeName): string {
  if (datatype !== 'FP32' && datatype !== 'FP16') return String(value);
  for (let digits = 1; digits < 17; digits++) {
    const text = value.toPrecision(digits);
    if (Math.fround(Number(text)) === Math.fround(value)) return String(Number(text));
  }
  return String(value);
}
