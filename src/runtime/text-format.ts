// Triton model configs as protobuf text format (config.pbtxt) or JSON, checked against model_config.proto.
import { concatBytes } from './bytes';
import { badRequest } from './errors';
import { ENUMS, MESSAGES, type FieldDescriptor, type FieldType, type MessageDescriptor } from './model-config-proto';

type Json = Record<string, unknown>;
/** Throws a bad request that already names the source, line and field path. */
type Fail = (message: string) => never;

const MAX_DEPTH = 64;
const INTEGER_RANGES = {
  int32: [-2147483648n, 2147483647n],
  uint32: [0n, 4294967295n],
  int64: [-9223372036854775808n, 9223372036854775807n],
  uint64: [0n, 18446744073709551615n],
} as const;
type IntegerType = keyof typeof INTEGER_RANGES;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

const quote = (text: string) => `'${text.length > 60 ? `${text.slice(0, 60)}…` : text}'`;
const join = (path: string, name: string) => (path ? `${path}.${name}` : name);
const jsonName = (name: string) => name.replace(/_(.)/g, (_, next: string) => next.toUpperCase());

function descriptorOf(typeName: string): MessageDescriptor {
  const descriptor = MESSAGES[typeName];
  if (!descriptor) throw new Error(`model_config.proto has no message ${typeName}`);
  return descriptor;
}

const fieldOf = (descriptor: MessageDescriptor, name: string) =>
  Object.hasOwn(descriptor, name) ? descriptor[name] : undefined;

/** The field already set in `out` that shares a oneof with `name`, if any. */
function oneofRival(descriptor: MessageDescriptor, out: Json, name: string): string | undefined {
  const oneof = descriptor[name]?.oneof;
  return oneof && Object.keys(out).find((other) => other !== name && descriptor[other]?.oneof === oneof);
}

function checkOneof(descriptor: MessageDescriptor, out: Json, name: string, fail: Fail) {
  const rival = oneofRival(descriptor, out, name);
  if (rival) fail(`only one of oneof ${descriptor[name]!.oneof} may be set, but ${quote(rival)} is set too`);
}

/** Map keys come from the config, so `__proto__` must land as a plain key, not a prototype. */
function setEntry(map: Json, key: string, value: unknown) {
  Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
}

function integerIn(type: IntegerType, value: bigint, fail: Fail): number {
  const [min, max] = INTEGER_RANGES[type];
  if (value < min || value > max) fail(`${value} is out of range for ${type}`);
  // Outputs are plain numbers; no Triton config needs a 64-bit value past 2^53.
  if (value > MAX_SAFE || value < -MAX_SAFE) fail(`${value} is beyond the safe integer range (±${MAX_SAFE})`);
  return Number(value);
}

/** Digits past uint64's 20 are out of range anyway; the cap keeps BigInt off huge hostile literals. */
function bigIntOf(digits: string, negative: boolean, fail: Fail): bigint {
  if (digits.length > 24) fail(`${quote(digits)} is out of range`);
  const magnitude = BigInt(digits);
  return negative ? -magnitude : magnitude;
}

function enumName(enumType: string, value: string | bigint, fail: Fail): string {
  const names = ENUMS[enumType] ?? [];
  const name = typeof value === 'string' ? names.find((n) => n === value) : names[Number(value)];
  return name ?? fail(`${typeof value === 'string' ? quote(value) : value} is not a ${enumType}`);
}

function defaultOf(type: FieldType): unknown {
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

// ---- Text format: tokens ----

interface Token {
  kind: 'identifier' | 'number' | 'string' | 'symbol' | 'end';
  text: string;
  line: number;
  /** A string literal's bytes, escapes decoded. */
  bytes?: Uint8Array;
}

const SYMBOLS = '{}<>[]:,;-';
const ESCAPES: Record<string, number> = { n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11, '\\': 92, "'": 39, '"': 34, '?': 63 };
const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v';
const isWordChar = (c: string | undefined) => c !== undefined && /[A-Za-z0-9_]/.test(c);
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
const utf8 = new TextEncoder();

function describe(token: Token): string {
  if (token.kind === 'end') return 'end of file';
  return token.kind === 'string' ? 'a string' : quote(token.text);
}

function tokenize(text: string, source: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  const fail: Fail = (message) => {
    throw badRequest(`${source} line ${line}: ${message}`);
  };
  let i = text.startsWith('\uFEFF') ? 1 : 0; // editors on Windows may save a byte-order mark
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') line++;
    if (c === '\n' || isSpace(c)) {
      i++;
    } else if (c === '#') {
      const newline = text.indexOf('\n', i);
      i = newline < 0 ? text.length : newline;
    } else if (c === '"' || c === "'") {
      const { bytes, end } = readString(text, i, fail);
      tokens.push({ kind: 'string', text: text.slice(i, end), line, bytes });
      i = end;
    } else if (isDigit(c) || (c === '.' && isDigit(text[i + 1]))) {
      const end = numberEnd(text, i);
      tokens.push({ kind: 'number', text: text.slice(i, end), line });
      i = end;
    } else if (isWordChar(c)) {
      const start = i;
      while (isWordChar(text[i])) i++;
      tokens.push({ kind: 'identifier', text: text.slice(start, i), line });
    } else if (SYMBOLS.includes(c)) {
      tokens.push({ kind: 'symbol', text: c, line });
      i++;
    } else {
      fail(`unexpected character ${quote(c)}`);
    }
  }
  tokens.push({ kind: 'end', text: '', line });
  return tokens;
}

/** Where a number starting at `start` ends: word characters and dots, plus an exponent's sign. */
function numberEnd(text: string, start: number): number {
  const hex = text[start] === '0' && (text[start + 1] === 'x' || text[start + 1] === 'X');
  let i = start;
  for (;;) {
    const c = text[i];
    const exponentSign = !hex && (c === '+' || c === '-') && (text[i - 1] === 'e' || text[i - 1] === 'E');
    if (!isWordChar(c) && c !== '.' && !exponentSign) return i;
    i++;
  }
}

function readString(text: string, start: number, fail: Fail): { bytes: Uint8Array; end: number } {
  const quoteChar = text[start];
  const bytes: number[] = [];
  const pushText = (from: number, to: number) => {
    for (const byte of utf8.encode(text.slice(from, to))) bytes.push(byte);
  };
  let plainStart = start + 1;
  let i = plainStart;
  for (;;) {
    const c = text[i];
    if (c === undefined || c === '\n') fail('unterminated string');
    if (c === quoteChar) {
      pushText(plainStart, i);
      return { bytes: Uint8Array.from(bytes), end: i + 1 };
    }
    if (c !== '\\') {
      i++;
      continue;
    }
    pushText(plainStart, i);
    i = readEscape(text, i + 1, bytes, fail);
    plainStart = i;
  }
}

/** Decodes the escape after a backslash at `i` into `bytes`; returns the index after it. */
function readEscape(text: string, i: number, bytes: number[], fail: Fail): number {
  const c = text[i] ?? '';
  const run = (from: number, max: number, digit: RegExp) => {
    let end = from;
    while (end < from + max && digit.test(text[end] ?? '')) end++;
    return text.slice(from, end);
  };
  if (Object.hasOwn(ESCAPES, c)) {
    bytes.push(ESCAPES[c]!);
    return i + 1;
  }
  if (c === 'x' || c === 'X') {
    const hex = run(i + 1, 2, /[0-9a-fA-F]/);
    if (!hex) fail('\\x needs hex digits');
    bytes.push(parseInt(hex, 16));
    return i + 1 + hex.length;
  }
  if (c >= '0' && c <= '7') {
    const octal = run(i, 3, /[0-7]/);
    const byte = parseInt(octal, 8);
    if (byte > 255) fail(`octal escape \\${octal} is beyond a byte`);
    bytes.push(byte);
    return i + octal.length;
  }
  if (c === 'u' || c === 'U') {
    const width = c === 'u' ? 4 : 8;
    const hex = run(i + 1, width, /[0-9a-fA-F]/);
    let codePoint = parseInt(hex, 16);
    if (hex.length !== width || codePoint > 0x10ffff) fail(`\\${c} needs ${width} hex digits of a code point`);
    let end = i + 1 + width;
    const low = text.startsWith('\\u', end) ? parseInt(run(end + 2, 4, /[0-9a-fA-F]/), 16) : NaN;
    if (codePoint >= 0xd800 && codePoint < 0xdc00 && low >= 0xdc00 && low < 0xe000) {
      codePoint = 0x10000 + ((codePoint - 0xd800) << 10) + (low - 0xdc00);
      end += 6;
    }
    for (const byte of utf8.encode(String.fromCodePoint(codePoint))) bytes.push(byte);
    return end;
  }
  return fail(`invalid escape ${quote(`\\${c}`)} in string`);
}

// ---- Text format: values ----

const INTEGER = /^(0[xX][0-9a-fA-F]+|0|[1-9][0-9]*)$/;
const FLOAT = /^([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?[fF]?$/;
const NON_FINITE = new Map(Object.entries({ inf: Infinity, infinity: Infinity, nan: NaN }));
const BOOLS = new Map(Object.entries({ true: true, True: true, t: true, 1: true, false: false, False: false, f: false, 0: false }));

function textInteger(token: Token, negative: boolean, fail: Fail): bigint {
  if (token.kind !== 'number') fail(`expected an integer, found ${describe(token)}`);
  if (/^0[0-7]+$/.test(token.text)) fail(`octal numbers such as ${quote(token.text)} are not supported`);
  if (!INTEGER.test(token.text)) fail(`expected an integer, found ${describe(token)}`);
  return bigIntOf(token.text, negative, fail);
}

/** A decimal or hex integer, or a float such as `1.5`, `.5`, `1e-3` or `2.5f`; undefined if neither. */
function numberLiteral(text: string, fail: Fail): number | undefined {
  if (/^0[0-7]+$/.test(text)) fail(`octal numbers such as ${quote(text)} are not supported`);
  if (INTEGER.test(text)) return Number(text);
  return FLOAT.test(text) ? Number(text.replace(/[fF]$/, '')) : undefined;
}

function textFloat(token: Token, negative: boolean, fail: Fail): number {
  const value =
    token.kind === 'identifier'
      ? NON_FINITE.get(token.text.toLowerCase())
      : token.kind === 'number'
        ? numberLiteral(token.text, fail)
        : undefined;
  if (value === undefined) fail(`expected a number, found ${describe(token)}`);
  return negative ? -value : value;
}

// ---- Text format: grammar ----

class TextFormatParser {
  private pos = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly source: string,
  ) {}

  private peek(): Token {
    return this.tokens[this.pos]!;
  }

  private next(): Token {
    const token = this.peek();
    if (token.kind !== 'end') this.pos++;
    return token;
  }

  private at(symbol: string): boolean {
    const token = this.peek();
    return token.kind === 'symbol' && token.text === symbol;
  }

  private accept(symbol: string): boolean {
    const matches = this.at(symbol);
    if (matches) this.pos++;
    return matches;
  }

  private failAt(token: Token, path: string): Fail {
    return (message) => {
      throw badRequest(`${this.source} line ${token.line}: ${path ? `${path}: ` : ''}${message}`);
    };
  }

  /** Fields until `open`'s closing bracket, or until end of file for the top level. */
  message(typeName: string, descriptor: MessageDescriptor, path: string, depth: number, open?: Token): Json {
    if (depth > MAX_DEPTH) this.failAt(open ?? this.peek(), path)(`nesting deeper than ${MAX_DEPTH} levels`);
    const close = open && (open.text === '{' ? '}' : '>');
    const out: Json = {};
    const mapEntries = new Map<string, number>();
    for (;;) {
      const token = this.next();
      const fail: Fail = this.failAt(token, path);
      if (token.kind === 'end' && !open) return out;
      if (token.kind === 'symbol' && token.text === close) return out;
      if (token.kind === 'end') fail(`unterminated block: '${open!.text}' on line ${open!.line} is never closed`);
      if (token.kind !== 'identifier') fail(`expected a field name, found ${describe(token)}`);
      const field = fieldOf(descriptor, token.text) ?? fail(`unknown field ${quote(token.text)} in ${typeName}`);
      this.field(out, descriptor, token, field, join(path, token.text), depth, mapEntries);
      if (!this.accept(',')) this.accept(';');
    }
  }

  private field(
    out: Json,
    descriptor: MessageDescriptor,
    nameToken: Token,
    field: FieldDescriptor,
    path: string,
    depth: number,
    mapEntries: Map<string, number>,
  ) {
    const name = nameToken.text;
    const fail: Fail = this.failAt(nameToken, path);
    const takesBlock = field.mapKey !== undefined || field.type.startsWith('message:');
    if (!this.accept(':') && !takesBlock) this.failAt(this.peek(), path)(`expected ':' after ${quote(name)}`);
    if (!field.repeated && !field.mapKey) {
      if (Object.hasOwn(out, name)) fail('set twice, but it is not a repeated field');
      checkOneof(descriptor, out, name, fail);
      if (this.at('[')) fail('a list is given, but it is not a repeated field');
      out[name] = this.value(field.type, path, depth);
      return;
    }
    const addOne = () => {
      if (field.mapKey) {
        const index = mapEntries.get(name) ?? 0;
        mapEntries.set(name, index + 1);
        this.mapEntry((out[name] ??= {}) as Json, field, `${path}[${index}]`, depth);
      } else {
        const list = (out[name] ??= []) as unknown[];
        list.push(this.value(field.type, `${path}[${list.length}]`, depth));
      }
    };
    const open = this.peek();
    if (!this.accept('[')) return addOne();
    out[name] ??= field.mapKey ? {} : [];
    if (this.accept(']')) return;
    do addOne();
    while (this.accept(','));
    const close = this.next();
    if (close.kind === 'end') this.failAt(close, path)(`unterminated list: '[' on line ${open.line} is never closed`);
    if (close.text !== ']' || close.kind !== 'symbol') this.failAt(close, path)(`expected ',' or ']', found ${describe(close)}`);
  }

  private mapEntry(map: Json, field: FieldDescriptor, path: string, depth: number) {
    const entry: MessageDescriptor = { key: { type: field.mapKey! }, value: { type: field.type } };
    const parsed = this.message('map entry', entry, path, depth + 1, this.openBlock(path));
    setEntry(map, String(parsed.key ?? defaultOf(field.mapKey!)), parsed.value ?? defaultOf(field.type));
  }

  private openBlock(path: string): Token {
    const token = this.next();
    if (token.kind !== 'symbol' || (token.text !== '{' && token.text !== '<')) {
      this.failAt(token, path)(`expected '{', found ${describe(token)}`);
    }
    return token;
  }

  private value(type: FieldType, path: string, depth: number): unknown {
    const first = this.peek();
    const fail: Fail = this.failAt(first, path);
    switch (type) {
      case 'string':
      case 'bytes':
        return this.stringValue(type === 'string', fail);
      case 'bool': {
        const token = this.next();
        const value = token.kind === 'string' ? undefined : BOOLS.get(token.text);
        return value ?? fail(`expected true or false, found ${describe(token)}`);
      }
      case 'float':
      case 'double': {
        const negative = this.accept('-');
        return textFloat(this.next(), negative, fail);
      }
      case 'int32':
      case 'int64':
      case 'uint32':
      case 'uint64': {
        const negative = this.accept('-');
        return integerIn(type, textInteger(this.next(), negative, fail), fail);
      }
      default: {
        if (type.startsWith('message:')) {
          const typeName = type.slice('message:'.length);
          return this.message(typeName, descriptorOf(typeName), path, depth + 1, this.openBlock(path));
        }
        const negative = this.accept('-');
        const token = this.next();
        const value = token.kind === 'identifier' && !negative ? token.text : textInteger(token, negative, fail);
        return enumName(type.slice('enum:'.length), value, fail);
      }
    }
  }

  /** Adjacent string literals join into one value, as in C. */
  private stringValue(utf8Only: boolean, fail: Fail): string {
    const parts: Uint8Array[] = [];
    while (this.peek().kind === 'string') parts.push(this.next().bytes!);
    if (parts.length === 0) fail(`expected a string, found ${describe(this.peek())}`);
    try {
      return new TextDecoder('utf-8', { fatal: utf8Only, ignoreBOM: true }).decode(concatBytes(parts));
    } catch {
      return fail('string is not valid UTF-8');
    }
  }
}

/** Parses protobuf text format into plain JSON: proto field names, enums by name, no defaults filled in. */
export function parseTextFormat(text: string, root = 'ModelConfig', source = 'config.pbtxt'): Record<string, unknown> {
  const parser = new TextFormatParser(tokenize(text, source), source);
  return parser.message(root, descriptorOf(root), '', 0);
}

// ---- JSON ----

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
