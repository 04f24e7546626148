// What text format and JSON configs share: the descriptors' lookups and protobuf's scalar rules.
import { ENUMS, MESSAGES, type FieldType, type MessageDescriptor } from './model-config-proto';

export type Json = Record<string, unknown>;
/** Throws a bad request that already names the source, line and field path. */
export type Fail = (message: string) => never;

export const MAX_DEPTH = 64;
const INTEGER_RANGES = {
  int32: [-2147483648n, 2147483647n],
  uint32: [0n, 4294967295n],
  int64: [-9223372036854775808n, 9223372036854775807n],
  uint64: [0n, 18446744073709551615n],
} as const;
export type IntegerType = keyof typeof INTEGER_RANGES;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export const quote = (text: string) => `'${text.length > 60 ? `${text.slice(0, 60)}…` : text}'`;
export const join = (path: string, name: string) => (path ? `${path}.${name}` : name);
export const jsonName = (name: string) => name.replace(/_(.)/g, (_, next: string) => next.toUpperCase());

export function descriptorOf(typeName: string): MessageDescriptor {
  const descriptor = MESSAGES[typeName];
  if (!descriptor) throw new Error(`model_config.proto has no message ${typeName}`);
  return descriptor;
}

export const fieldOf = (descriptor: MessageDescriptor, name: string) =>
  Object.hasOwn(descriptor, name) ? descriptor[name] : undefined;

/** The field already set in `out` that shares a oneof with `name`, if any. */
function oneofRival(descriptor: MessageDescriptor, out: Json, name: string): string | undefined {
  const oneof = descriptor[name]?.oneof;
  return oneof && Object.keys(out).find((other) => other !== name && descriptor[other]?.oneof === oneof);
}

export function checkOneof(descriptor: MessageDescriptor, out: Json, name: string, fail: Fail) {
  const rival = oneofRival(descriptor, out, name);
  if (rival) fail(`only one of oneof ${descriptor[name]!.oneof} may be set, but ${quote(rival)} is set too`);
}

/** Map keys come from the config, so `__proto__` must land as a plain key, not a prototype. */
export function setEntry(map: Json, key: string, value: unknown) {
  Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
}

export function integerIn(type: IntegerType, value: bigint, fail: Fail): number {
  const [min, max] = INTEGER_RANGES[type];
  if (value < min || value > max) fail(`${value} is out of range for ${type}`);
  // Outputs are plain numbers; no Triton config needs a 64-bit value past 2^53.
  if (value > MAX_SAFE || value < -MAX_SAFE) fail(`${value} is beyond the safe integer range (±${MAX_SAFE})`);
  return Number(value);
}

/** Digits past uint64's 20 are out of range anyway; the cap keeps BigInt off huge hostile literals. */
export function bigIntOf(digits: string, negative: boolean, fail: Fail): bigint {
  if (digits.length > 24) fail(`${quote(digits)} is out of range`);
  const magnitude = BigInt(digits);
  return negative ? -magnitude : magnitude;
}

export function enumName(enumType: string, value: string | bigint, fail: Fail): string {
  const names = ENUMS[enumType] ?? [];
  const name = typeof value === 'string' ? names.find((n) => n === value) : names[Number(value)];
  return name ?? fail(`${typeof value === 'string' ? quote(value) : value} is not a ${enumType}`);
}

export function defaultOf(type: FieldType): unknown {
  switch (type) {
    case 'string':
    case 'bytes':
      return '';
    case 'bool':
      return false;
    case 'double':
    case 'float':
    case 'int32':
    case 'int64':
    case 'uint32':
    case 'uint64':
      return 0;
    default:
      return type.startsWith('enum:') ? ENUMS[type.slice(5)]![0] : {};
  }
}
