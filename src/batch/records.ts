// Records of a chunk: CSV rows (by header name) or JSON Lines, each with its line number or its own error.
import { parse } from 'csv-parse/browser/esm/sync';
import { inferenceRequestSchema, type InferenceRequest } from '../runtime/protocol';
import type { Format } from './formats';

export interface RecordError {
  code: string;
  message: string;
}

export interface InputRecord {
  line: number;
  /** The record's id column, carried through to its result. */
  id?: string;
  /** The columns a job carries into each result. */
  carried?: Record<string, unknown>;
  /** Named feature values (CSV strings or JSON values); for a whole request, its raw object. */
  values?: Record<string, unknown>;
  /** A whole Open Inference Protocol request (JSON Lines). */
  request?: InferenceRequest;
  error?: RecordError;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * The region as text. A line that is not UTF-8 becomes that record's error and an empty line, so its
 * neighbours keep their line numbers and are scored; it is never scored with replacement characters.
 */
function decodeLines(bytes: Uint8Array, firstLine: number): { text: string; errors: InputRecord[] } {
  try {
    return { text: utf8.decode(bytes), errors: [] };
  } catch {
    const lines: string[] = [];
    const errors: InputRecord[] = [];
    for (let start = 0, i = 0; start <= bytes.length; i++) {
      const end = bytes.indexOf(10, start) < 0 ? bytes.length : bytes.indexOf(10, start);
      try {
        lines.push(utf8.decode(bytes.subarray(start, end)));
      } catch {
        lines.push('');
        errors.push({ line: firstLine + i, error: { code: 'invalid_utf8', message: 'the line is not valid UTF-8 text' } });
      }
      start = end + 1;
    }
    return { text: lines.join('\n'), errors };
  }
}

/** `firstLine` is the file line number of the region's first line; line 1 of a CSV is its header. */
export function parseRecords(format: Format, bytes: Uint8Array, firstLine: number, header: string[], idColumn: string | undefined, carry: string[] = []): InputRecord[] {
  const { text, errors } = decodeLines(bytes, firstLine);
  const records = format === 'csv' ? csvRecords(text, firstLine, header, idColumn) : jsonlRecords(text, firstLine, idColumn);
  if (carry.length) {
    for (const record of records) {
      const source = record.values;
      if (source) record.carried = Object.fromEntries(carry.map((name) => [name, source[name] ?? null]));
    }
  }
  return errors.length ? [...records, ...errors].sort((a, b) => a.line - b.line) : records;
}

function csvRecords(text: string, firstLine: number, header: string[], idColumn: string | undefined): InputRecord[] {
  const toRecord = (fields: string[], line: number): InputRecord => {
    if (fields.length !== header.length) {
      return { line, error: { code: 'column_count', message: `expected ${header.length} columns (${header.join(',')}), found ${fields.length}` } };
    }
    const values = Object.fromEntries(header.map((name, i) => [name, fields[i]]));
    return { line, values, ...(idColumn && values[idColumn] !== undefined && { id: values[idColumn] }) };
  };
  const options = { relax_column_count: true, skip_empty_lines: true, info: true, bom: firstLine === 1, record_delimiter: ['\r\n', '\n'] };
  let rows: { record: string[]; info: { lines: number } }[];
  try {
    rows = parse(text, options) as never;
  } catch {
    // One malformed row must not cost the others: parse line by line and report the bad ones.
    return text.split('\n').flatMap((raw, i): InputRecord[] => {
      const line = firstLine + i;
      if (!raw.replace(/\r$/, '').trim() || line === 1) return [];
      try {
        const [fields] = parse(raw.replace(/\r$/, ''), { relax_column_count: true }) as string[][];
        return fields ? [toRecord(fields, line)] : [];
      } catch (error) {
        return [{ line, error: { code: 'csv_syntax', message: (error as Error).message.slice(0, 300) } }];
      }
    });
  }
  return rows
    // info.lines is where a record ends; a quoted field may span lines.
    .map(({ record, info }) => ({ record, line: firstLine + info.lines - 1 - record.join('').split('\n').length + 1 }))
    .filter(({ line }) => line !== 1)
    .map(({ record, line }) => toRecord(record, line));
}

function jsonlRecords(text: string, firstLine: number, idColumn: string | undefined): InputRecord[] {
  return text.split('\n').flatMap((raw, i): InputRecord[] => {
    const line = firstLine + i;
    if (!raw.trim()) return [];
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      return [{ line, error: { code: 'json_syntax', message: (error as Error).message.slice(0, 300) } }];
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return [{ line, error: { code: 'not_an_object', message: 'each line must be a JSON object' } }];
    }
    const object = value as Record<string, unknown>;
    const id = idColumn && object[idColumn] !== undefined ? String(object[idColumn]) : undefined;
    if (Array.isArray(object.inputs)) {
      const parsed = inferenceRequestSchema.safeParse(object);
      if (!parsed.success) return [{ line, error: { code: 'invalid_request', message: parsed.error.issues[0]?.message ?? 'invalid request' } }];
      // The raw object stays as values too, for the columns a job carries into results.
      return [{ line, request: parsed.data, values: object, ...(id !== undefined && { id }) }];
    }
    return [{ line, values: object, ...(id !== undefined && { id }) }];
  });
}
