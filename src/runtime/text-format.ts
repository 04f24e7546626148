// Triton model configs as protobuf text format (config.pbtxt): a tokenizer and a recursive-descent parser over model_config.proto.
import { concatBytes } from './bytes';
import { badRequest } from './errors';
import type { FieldDescriptor, FieldType, MessageDescriptor } from './model-config-proto';
import { MAX_DEPTH, quote, join, descriptorOf, fieldOf, checkOneof, setEntry, integerIn, bigIntOf, enumName, defaultOf, type Json, type Fail } from './proto-fields';

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
