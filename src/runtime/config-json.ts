// Triton model configs given as JSON (protobuf's JSON mapping), checked against model_config.proto.
import { badRequest } from './errors';
import type { FieldDescriptor, FieldType, MessageDescriptor } from './model-config-proto';
import { MAX_DEPTH, quote, join, jsonName, descriptorOf, fieldOf, checkOneof, setEntry, integerIn, bigIntOf, enumName, type Json, type Fail } from './proto-fields';

type Locate = (path: string) => Fail;

const DECIMAL = /^-?(0|[1-9][0-9]*)$/;
const JSON_NON_FINITE = new Map(Object.entries({ NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity }));

function jsonKind(raw: unknown): string {
  if (raw === null) return 'null';
  if (Array.isArray(raw)) return 'an array';
  if (typeof raw === 'object') return 'an object';
  return typeof raw === 'string' ? quote(raw) : String(raw);
}

const isObject = (raw: unknown): raw is Json => typeof raw === 'object' && raw !== null && !Array.isArray(raw);

function jsonInteger(raw: unknown, fail: Fail): bigint {
  if (typeof raw === 'number' && Number.isInteger(raw)) return BigInt(raw);
  if (typeof raw === 'string' && DECIMAL.test(raw)) return bigIntOf(raw.replace('-', ''), raw.startsWith('-'), fail);
  return fail(`expected an integer, found ${jsonKind(raw)}`);
}

function jsonFloat(raw: unknown, fail: Fail): number {
  if (typeof raw === 'number') return raw;
  if (typeof raw === 'string') {
    const value = JSON_NON_FINITE.get(raw) ?? (raw.trim() === raw && raw !== '' ? Number(raw) : NaN);
    if (!Number.isNaN(value) || raw === 'NaN') return value;
  }
  return fail(`expected a number, found ${jsonKind(raw)}`);
}

function jsonValue(type: FieldType, raw: unknown, path: string, depth: number, at: Locate): unknown {
  const fail: Fail = at(path);
  switch (type) {
    case 'string':
    case 'bytes':
      return typeof raw === 'string' ? raw : fail(`expected a string, found ${jsonKind(raw)}`);
    case 'bool':
      return typeof raw === 'boolean' ? raw : fail(`expected true or false, found ${jsonKind(raw)}`);
    case 'float':
    case 'double':
      return jsonFloat(raw, fail);
    case 'int32':
    case 'int64':
    case 'uint32':
    case 'uint64':
      return integerIn(type, jsonInteger(raw, fail), fail);
    default: {
      if (type.startsWith('message:')) return jsonMessage(raw, type.slice('message:'.length), path, depth + 1, at);
      const enumType = type.slice('enum:'.length);
      if (typeof raw === 'string') return enumName(enumType, raw, fail);
      if (typeof raw === 'number' && Number.isInteger(raw)) return enumName(enumType, BigInt(raw), fail);
      return fail(`expected a ${enumType} name or number, found ${jsonKind(raw)}`);
    }
  }
}

function jsonMapKey(field: FieldDescriptor, key: string, fail: Fail): string {
  switch (field.mapKey) {
    case 'string':
      return key;
    case 'bool':
      return key === 'true' || key === 'false' ? key : fail(`map key ${quote(key)} is not true or false`);
    default:
      return String(integerIn(field.mapKey!, jsonInteger(key, fail), fail));
  }
}

function jsonField(field: FieldDescriptor, raw: unknown, path: string, depth: number, at: Locate): unknown {
  const fail: Fail = at(path);
  if (field.mapKey) {
    if (!isObject(raw)) fail(`expected an object, found ${jsonKind(raw)}`);
    const map: Json = {};
    for (const [key, value] of Object.entries(raw)) {
      const entryPath = `${path}[${JSON.stringify(key)}]`;
      setEntry(map, jsonMapKey(field, key, at(entryPath)), jsonValue(field.type, value, entryPath, depth, at));
    }
    return map;
  }
  if (!field.repeated) return jsonValue(field.type, raw, path, depth, at);
  if (!Array.isArray(raw)) fail(`expected an array, found ${jsonKind(raw)}`);
  return raw.map((item, i) => jsonValue(field.type, item, `${path}[${i}]`, depth, at));
}

/** A field's proto name, whether `key` spells it in snake_case or as its lowerCamelCase JSON name. */
function protoName(descriptor: MessageDescriptor, key: string): string | undefined {
  return fieldOf(descriptor, key) ? key : Object.keys(descriptor).find((name) => jsonName(name) === key);
}

const NO_EXTRA: ReadonlySet<string> = new Set();

function jsonMessage(
  raw: unknown,
  typeName: string,
  path: string,
  depth: number,
  at: Locate,
  extra = NO_EXTRA,
): Json {
  const fail: Fail = at(path);
  if (!isObject(raw)) fail(`expected a ${typeName} object, found ${jsonKind(raw)}`);
  if (depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH} levels`);
  const descriptor = descriptorOf(typeName);
  const out: Json = {};
  const seen = new Set<string>();
  for (const [key, value] of Object.entries(raw)) {
    if (extra.has(key)) {
      setEntry(out, key, value);
      continue;
    }
    const name = protoName(descriptor, key) ?? fail(`unknown field ${quote(key)} in ${typeName}`);
    const fieldFail: Fail = at(join(path, name));
    if (seen.has(name)) fieldFail(`given twice (once as ${quote(key)})`);
    seen.add(name);
    // In protobuf's JSON mapping, null means "not set".
    if (value === null) continue;
    checkOneof(descriptor, out, name, fieldFail);
    out[name] = jsonField(descriptor[name]!, value, join(path, name), depth, at);
  }
  return out;
}

/**
 * Checks a config given as protobuf JSON and returns it in parseTextFormat's shape: proto field names,
 * enums by name, numbers as numbers. Top-level keys in `extra` pass through unchecked.
 */
export function checkConfigJson(
  value: unknown,
  root = 'ModelConfig',
  extra: readonly string[] = [],
  source = 'config',
): Record<string, unknown> {
  const at: Locate = (path) => (message) => {
    throw badRequest(`${source}: ${path ? `${path}: ` : ''}${message}`);
  };
  return jsonMessage(value, root, '', 0, at, new Set(extra));
}
