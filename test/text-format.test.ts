// Triton config parsing: config.pbtxt text format and JSON against model_config.proto's descriptors.
import { describe, expect, it } from 'vitest';
import { InferenceError } from '../src/runtime/errors';
import { ENUMS, MESSAGES } from '../src/runtime/model-config-proto';
import { checkConfigJson } from '../src/runtime/config-json';
import { parseTextFormat } from '../src/runtime/text-format';
import { graphOptimizationLevel, parseConfigFile } from '../src/runtime/model-config';
import simple from './fixtures/triton/simple/config.pbtxt?raw';
import simpleDynaSequence from './fixtures/triton/simple_dyna_sequence/config.pbtxt?raw';
import simpleInt8 from './fixtures/triton/simple_int8/config.pbtxt?raw';
import simpleSequence from './fixtures/triton/simple_sequence/config.pbtxt?raw';
import simpleString from './fixtures/triton/simple_string/config.pbtxt?raw';

function expectBadRequest(run: () => unknown, message: string) {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(InferenceError);
    expect((error as InferenceError).status).toBe(400);
    expect((error as InferenceError).message).toBe(message);
    return;
  }
  throw new Error(`expected a bad request: ${message}`);
}

const tensor = (name: string, data_type: string, dims: number[]) => ({ name, data_type, dims });
const twoInTwoOut = (name: string, data_type: string) => ({
  name,
  platform: 'onnxruntime_onnx',
  max_batch_size: 8,
  input: [tensor('INPUT0', data_type, [16]), tensor('INPUT1', data_type, [16])],
  output: [tensor('OUTPUT0', data_type, [16]), tensor('OUTPUT1', data_type, [16])],
});

describe("Triton's example configs", () => {
  it('parses simple', () => {
    expect(parseTextFormat(simple)).toStrictEqual({
      name: 'simple',
      platform: 'onnxruntime_onnx',
      max_batch_size: 8,
      input: [
        { name: 'INPUT0', data_type: 'TYPE_INT32', dims: [16] },
        { name: 'INPUT1', data_type: 'TYPE_INT32', dims: [16] },
      ],
      output: [
        { name: 'OUTPUT0', data_type: 'TYPE_INT32', dims: [16] },
        { name: 'OUTPUT1', data_type: 'TYPE_INT32', dims: [16] },
      ],
    });
  });

  it('parses simple_int8 and simple_string', () => {
    expect(parseTextFormat(simpleInt8)).toStrictEqual(twoInTwoOut('simple_int8', 'TYPE_INT8'));
    expect(parseTextFormat(simpleString)).toStrictEqual(twoInTwoOut('simple_string', 'TYPE_STRING'));
  });

  it('parses simple_sequence', () => {
    expect(parseTextFormat(simpleSequence)).toStrictEqual({
      name: 'simple_sequence',
      platform: 'onnxruntime_onnx',
      max_batch_size: 8,
      sequence_batching: {
        control_input: [
          { name: 'START', control: [{ kind: 'CONTROL_SEQUENCE_START', int32_false_true: [0, 1] }] },
          { name: 'READY', control: [{ kind: 'CONTROL_SEQUENCE_READY', int32_false_true: [0, 1] }] },
        ],
      },
      input: [{ name: 'INPUT', data_type: 'TYPE_INT32', dims: [1] }],
      output: [{ name: 'OUTPUT', data_type: 'TYPE_INT32', dims: [1] }],
      instance_group: [{ kind: 'KIND_CPU' }],
    });
  });

  it('parses simple_dyna_sequence', () => {
    expect(parseTextFormat(simpleDynaSequence)).toStrictEqual({
      name: 'simple_dyna_sequence',
      platform: 'onnxruntime_onnx',
      max_batch_size: 8,
      sequence_batching: {
        max_sequence_idle_microseconds: 10000000,
        oldest: { max_candidate_sequences: 1024, max_queue_delay_microseconds: 10000 },
        control_input: [
          { name: 'START', control: [{ kind: 'CONTROL_SEQUENCE_START', int32_false_true: [0, 1] }] },
          { name: 'END', control: [{ kind: 'CONTROL_SEQUENCE_END', int32_false_true: [0, 1] }] },
          { name: 'READY', control: [{ kind: 'CONTROL_SEQUENCE_READY', int32_false_true: [0, 1] }] },
          { name: 'CORRID', control: [{ kind: 'CONTROL_SEQUENCE_CORRID', data_type: 'TYPE_UINT64' }] },
        ],
      },
      input: [{ name: 'INPUT', data_type: 'TYPE_INT32', dims: [1] }],
      output: [{ name: 'OUTPUT', data_type: 'TYPE_INT32', dims: [1] }],
      parameters: { execute_delay_ms: { string_value: '3' } },
      instance_group: [{ count: 2, kind: 'KIND_CPU' }],
    });
  });

  it('gives the same objects from the JSON of each parsed config', () => {
    for (const text of [simple, simpleInt8, simpleString, simpleSequence, simpleDynaSequence]) {
      const parsed = parseTextFormat(text);
      expect(checkConfigJson(JSON.parse(JSON.stringify(parsed)))).toStrictEqual(parsed);
    }
  });
});

describe('descriptors', () => {
  it('name only messages and enums that exist', () => {
    for (const [message, fields] of Object.entries(MESSAGES)) {
      for (const [name, field] of Object.entries(fields)) {
        const [kind, target] = field.type.split(':');
        if (kind === 'message') expect(MESSAGES, `${message}.${name}`).toHaveProperty([target!]);
        if (kind === 'enum') expect(ENUMS, `${message}.${name}`).toHaveProperty([target!]);
      }
    }
  });

  it('mirror the proto', () => {
    expect(Object.keys(MESSAGES)).toHaveLength(46);
    expect(MESSAGES.ModelConfig!.parameters).toEqual({ type: 'message:ModelParameter', mapKey: 'string' });
    expect(MESSAGES.ModelDynamicBatching!.priority_queue_policy).toEqual({ type: 'message:ModelQueuePolicy', mapKey: 'uint64' });
    expect(MESSAGES.ModelInput!.dims).toEqual({ type: 'int64', repeated: true });
    expect(ENUMS['ModelSequenceBatching.Control.Kind']).toEqual([
      'CONTROL_SEQUENCE_START',
      'CONTROL_SEQUENCE_READY',
      'CONTROL_SEQUENCE_END',
      'CONTROL_SEQUENCE_CORRID',
    ]);
  });
});

describe('text format grammar', () => {
  it('skips comments and takes , or ; between fields', () => {
    const text = '# heading\nname: "m", # trailing\nplatform: "p"; max_batch_size: 2 # end';
    expect(parseTextFormat(text)).toStrictEqual({ name: 'm', platform: 'p', max_batch_size: 2 });
    expect(parseTextFormat('\uFEFFname: "bom"\r\n')).toStrictEqual({ name: 'bom' });
  });

  it('opens messages with {, : { or <', () => {
    const text = 'version_policy { latest { num_versions: 2 } } response_cache: { enable: true } model_transaction_policy < decoupled: true >';
    expect(parseTextFormat(text)).toStrictEqual({
      version_policy: { latest: { num_versions: 2 } },
      response_cache: { enable: true },
      model_transaction_policy: { decoupled: true },
    });
  });

  it('keeps an empty message', () => {
    expect(parseTextFormat('version_policy { all {} }')).toStrictEqual({ version_policy: { all: {} } });
  });

  it('collects repeated fields written one by one, as lists, or both', () => {
    const text = `
      input { name: "a" dims: 1 dims: 2 }
      input: [ { name: "b" dims: [] }, < name: "c" > ]
      input [ { dims: [3, 4] } ]
      instance_group { gpus: [0] gpus: 1 }`;
    expect(parseTextFormat(text)).toStrictEqual({
      input: [{ name: 'a', dims: [1, 2] }, { name: 'b', dims: [] }, { name: 'c' }, { dims: [3, 4] }],
      instance_group: [{ gpus: [0, 1] }],
    });
  });

  it('reads integers: decimal, hex and negative', () => {
    const text = 'max_batch_size: 0x10 input { dims: [-1, 0, 0X1f, 9007199254740991] }';
    expect(parseTextFormat(text)).toStrictEqual({ max_batch_size: 16, input: [{ dims: [-1, 0, 31, 9007199254740991] }] });
  });

  it('reads floats in every spelling', () => {
    const text = `control { fp32_false_true: [1e-3, .5, 2.5f, -3, 1., 0x10, 1.5E+2] }
      control { fp32_false_true: [inf, -inf, Infinity, nan] }`;
    const [finite, nonFinite] = parseTextFormat(text, 'ModelSequenceBatching.ControlInput').control as {
      fp32_false_true: number[];
    }[];
    expect(finite!.fp32_false_true).toStrictEqual([0.001, 0.5, 2.5, -3, 1, 16, 150]);
    expect(nonFinite!.fp32_false_true).toStrictEqual([Infinity, -Infinity, Infinity, NaN]);
  });

  it('reads every spelling of bool', () => {
    const text = 'bool_false_true: [true, false, True, False, t, f, 1, 0]';
    expect(parseTextFormat(text, 'ModelSequenceBatching.Control')).toStrictEqual({
      bool_false_true: [true, false, true, false, true, false, true, false],
    });
  });

  it('reads enums by name or number', () => {
    const text = 'input { data_type: TYPE_FP32 format: 2 } instance_group { kind: KIND_GPU }';
    expect(parseTextFormat(text)).toStrictEqual({
      input: [{ data_type: 'TYPE_FP32', format: 'FORMAT_NCHW' }],
      instance_group: [{ kind: 'KIND_GPU' }],
    });
  });

  it('reads strings in either quote with escapes, joining adjacent literals', () => {
    const cases: [string, string][] = [
      [`'single "quoted"'`, 'single "quoted"'],
      [`"a\\n\\tb\\\\c\\'d\\"e"`, 'a\n\tb\\c\'d"e'],
      [`"\\x41\\101\\u00e9\\U0001F600"`, 'AAé😀'],
      [`"\\xc3\\xa9 \\303\\251 \\ud83d\\ude00"`, 'é é 😀'],
      [`"one" 'two'\n  "three"`, 'onetwothree'],
      [`"ünïcödé # not a comment"`, 'ünïcödé # not a comment'],
    ];
    for (const [literal, value] of cases) expect(parseTextFormat(`name: ${literal}`)).toStrictEqual({ name: value });
  });

  it('reads maps as repeated key/value entries', () => {
    const text = `
      parameters { key: "a" value { string_value: "1" } }
      parameters [ { key: "b" value: { string_value: "2" } }, { value { string_value: "3" } key: "c" } ]
      metric_tags { key: "team" value: "ml" }
      cc_model_filenames: [ { key: "7.5" value: "model_t4.onnx" } ]
      dynamic_batching { priority_queue_policy { key: 2 value { timeout_action: DELAY } } }`;
    expect(parseTextFormat(text)).toStrictEqual({
      parameters: { a: { string_value: '1' }, b: { string_value: '2' }, c: { string_value: '3' } },
      metric_tags: { team: 'ml' },
      cc_model_filenames: { '7.5': 'model_t4.onnx' },
      dynamic_batching: { priority_queue_policy: { '2': { timeout_action: 'DELAY' } } },
    });
    const ensemble = 'step { model_name: "m" model_version: -1 input_map { key: "x" value: "y" } input_map { key: "x" value: "z" } }';
    expect(parseTextFormat(ensemble, 'ModelEnsembling')).toStrictEqual({
      step: [{ model_name: 'm', model_version: -1, input_map: { x: 'z' } }],
    });
  });

  it('keeps a __proto__ map key as a plain key', () => {
    const parsed = parseTextFormat('metric_tags { key: "__proto__" value: "x" }');
    expect(Object.getPrototypeOf(parsed.metric_tags)).toBe(Object.prototype);
    expect(Object.keys(parsed.metric_tags as object)).toEqual(['__proto__']);
  });

  it('reads other roots', () => {
    expect(parseTextFormat('name: "x" data_type: TYPE_BOOL', 'ModelOutput', 'output.pbtxt')).toStrictEqual({
      name: 'x',
      data_type: 'TYPE_BOOL',
    });
  });
});

describe('text format errors', () => {
  it('names an unknown field with its line', () => {
    expectBadRequest(
      () => parseTextFormat(simple.replace('max_batch_size', 'max_batch_sise')),
      "config.pbtxt line 28: unknown field 'max_batch_sise' in ModelConfig",
    );
    expectBadRequest(
      () => parseTextFormat('name: "m"\ninput {\n  name: "x"\n  dimz: [1]\n}', 'ModelConfig', 'models/m/config.pbtxt'),
      "models/m/config.pbtxt line 4: input[0]: unknown field 'dimz' in ModelInput",
    );
  });

  it('names a bad enum value with its path', () => {
    expectBadRequest(
      () => parseTextFormat('input { name: "a" }\ninput {\n  data_type: TYPE_FLOAT33\n}'),
      "config.pbtxt line 3: input[1].data_type: 'TYPE_FLOAT33' is not a DataType",
    );
    expectBadRequest(
      () => parseTextFormat('sequence_batching { control_input { control { kind: 7 } } }'),
      'config.pbtxt line 1: sequence_batching.control_input[0].control[0].kind: 7 is not a ModelSequenceBatching.Control.Kind',
    );
  });

  it('reports unterminated strings, blocks and lists', () => {
    expectBadRequest(() => parseTextFormat('name: "m\nplatform: "p"'), 'config.pbtxt line 1: unterminated string');
    expectBadRequest(() => parseTextFormat("name: 'm"), 'config.pbtxt line 1: unterminated string');
    expectBadRequest(
      () => parseTextFormat('name: "m"\ninput {\n  name: "a"\n'),
      "config.pbtxt line 4: input[0]: unterminated block: '{' on line 2 is never closed",
    );
    expectBadRequest(
      () => parseTextFormat('input { dims: [1, 2\n}'),
      "config.pbtxt line 2: input[0].dims: expected ',' or ']', found '}'",
    );
    expectBadRequest(
      () => parseTextFormat('input [ { dims: 1 }'),
      "config.pbtxt line 1: input: unterminated list: '[' on line 1 is never closed",
    );
  });

  it('refuses a non-repeated field given twice, or as a list', () => {
    expectBadRequest(
      () => parseTextFormat('name: "a"\nmax_batch_size: 1\nmax_batch_size: 2'),
      'config.pbtxt line 3: max_batch_size: set twice, but it is not a repeated field',
    );
    expectBadRequest(
      () => parseTextFormat('sequence_batching {}\nsequence_batching {}'),
      'config.pbtxt line 2: sequence_batching: set twice, but it is not a repeated field',
    );
    expectBadRequest(
      () => parseTextFormat('max_batch_size: [1]'),
      'config.pbtxt line 1: max_batch_size: a list is given, but it is not a repeated field',
    );
  });

  it('refuses two members of one oneof', () => {
    expectBadRequest(
      () => parseTextFormat('dynamic_batching {}\nsequence_batching {}'),
      "config.pbtxt line 2: sequence_batching: only one of oneof scheduling_choice may be set, but 'dynamic_batching' is set too",
    );
  });

  it('refuses values of the wrong kind', () => {
    const cases: [string, string][] = [
      ['max_batch_size: 1.5', "max_batch_size: expected an integer, found '1.5'"],
      ['max_batch_size: "8"', 'max_batch_size: expected an integer, found a string'],
      ['max_batch_size: 010', "max_batch_size: octal numbers such as '010' are not supported"],
      ['max_batch_size 8', "max_batch_size: expected ':' after 'max_batch_size'"],
      ['max_batch_size: 2147483648', 'max_batch_size: 2147483648 is out of range for int32'],
      ['version_policy { latest { num_versions: -1 } }', 'version_policy.latest.num_versions: -1 is out of range for uint32'],
      ['name: model', "name: expected a string, found 'model'"],
      ['response_cache { enable: yes }', "response_cache.enable: expected true or false, found 'yes'"],
      ['input { data_type: -TYPE_FP32 }', "input[0].data_type: expected an integer, found 'TYPE_FP32'"],
      ['input 5', "input[0]: expected '{', found '5'"],
      ['name: "\\q"', "invalid escape '\\q' in string"],
      ['name: "m" @', "unexpected character '@'"],
      ['} name: "m"', "expected a field name, found '}'"],
      ['input [ {}, ]', "input[1]: expected '{', found ']'"],
    ];
    for (const [text, message] of cases) expectBadRequest(() => parseTextFormat(text), `config.pbtxt line 1: ${message}`);
  });

  it('refuses int64 values past the safe integer range', () => {
    expectBadRequest(
      () => parseTextFormat('input {\n  dims: [ 9007199254740992 ]\n}'),
      'config.pbtxt line 2: input[0].dims[0]: 9007199254740992 is beyond the safe integer range (±9007199254740991)',
    );
    expectBadRequest(
      () => parseTextFormat('input { dims: -0x20000000000000 }'),
      'config.pbtxt line 1: input[0].dims[0]: -9007199254740992 is beyond the safe integer range (±9007199254740991)',
    );
    expectBadRequest(
      () => parseTextFormat(`input { dims: ${'9'.repeat(10_000)} }`),
      `config.pbtxt line 1: input[0].dims[0]: '${'9'.repeat(60)}…' is out of range`,
    );
  });

  it('fails fast and cleanly on hostile nesting', () => {
    expectBadRequest(
      () => parseTextFormat('input {'.repeat(100_000)),
      "config.pbtxt line 1: input[0]: unknown field 'input' in ModelInput",
    );
    expectBadRequest(
      () => parseTextFormat(`parameters ${'{ value '.repeat(100_000)}`),
      "config.pbtxt line 1: parameters[0].value: unknown field 'value' in ModelParameter",
    );
    expectBadRequest(() => parseTextFormat(`input { dims: ${'['.repeat(100_000)}`), "config.pbtxt line 1: input[0].dims[0]: expected an integer, found '['");
  });

  it('parses a large config in linear time', () => {
    const text = `input { dims: [${Array.from({ length: 100_000 }, (_, i) => i).join(', ')}] }\n`.repeat(5);
    const started = Date.now();
    const parsed = parseTextFormat(text) as { input: { dims: number[] }[] };
    expect(parsed.input).toHaveLength(5);
    expect(parsed.input[4]!.dims[99_999]).toBe(99_999);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('JSON configs', () => {
  it('normalises camelCase names, numbers as strings and enum numbers', () => {
    const json = {
      name: 'm',
      maxBatchSize: '8',
      input: [{ name: 'x', dataType: 8, dims: ['-1', 16], isShapeTensor: false }],
      sequenceBatching: {
        maxSequenceIdleMicroseconds: '10000000',
        controlInput: [{ name: 'S', control: [{ kind: 'CONTROL_SEQUENCE_START', int32FalseTrue: ['0', 1] }] }],
      },
      dynamic_batching: null,
      parameters: { delay: { stringValue: '3' } },
    };
    expect(checkConfigJson(json)).toStrictEqual({
      name: 'm',
      max_batch_size: 8,
      input: [{ name: 'x', data_type: 'TYPE_INT32', dims: [-1, 16], is_shape_tensor: false }],
      sequence_batching: {
        max_sequence_idle_microseconds: 10000000,
        control_input: [{ name: 'S', control: [{ kind: 'CONTROL_SEQUENCE_START', int32_false_true: [0, 1] }] }],
      },
      parameters: { delay: { string_value: '3' } },
    });
  });

  it('reads floats from numbers and strings', () => {
    const json = { fp32FalseTrue: [0.5, '1e-3', 'NaN', 'Infinity', '-Infinity', '-2'] };
    expect(checkConfigJson(json, 'ModelSequenceBatching.Control')).toStrictEqual({
      fp32_false_true: [0.5, 0.001, NaN, Infinity, -Infinity, -2],
    });
  });

  it('reads maps with integer keys', () => {
    const json = { priorityQueuePolicy: { '1': { timeoutAction: 'DELAY', defaultTimeoutMicroseconds: '100' } } };
    expect(checkConfigJson(json, 'ModelDynamicBatching')).toStrictEqual({
      priority_queue_policy: { '1': { timeout_action: 'DELAY', default_timeout_microseconds: 100 } },
    });
  });

  it('passes the extra top-level keys through untouched', () => {
    const json = { name: 'm', labels: ['a', 'b'], session: { kind: 'recommender' }, max_batch_size: 4 };
    expect(checkConfigJson(json, 'ModelConfig', ['labels', 'session', 'features'])).toStrictEqual(json);
  });

  it('names the field path in every error', () => {
    const cases: [unknown, string][] = [
      [{ inputs: [] }, "unknown field 'inputs' in ModelConfig"],
      [{ input: [{ dimz: [1] }] }, "input[0]: unknown field 'dimz' in ModelInput"],
      [{ input: [{ data_type: 'TYPE_FLOAT33' }] }, "input[0].data_type: 'TYPE_FLOAT33' is not a DataType"],
      [
        { sequence_batching: { control_input: [{ control: [{ kind: true }] }] } },
        'sequence_batching.control_input[0].control[0].kind: expected a ModelSequenceBatching.Control.Kind name or number, found true',
      ],
      [{ max_batch_size: 1.5 }, 'max_batch_size: expected an integer, found 1.5'],
      [{ max_batch_size: '8 ' }, "max_batch_size: expected an integer, found '8 '"],
      [{ max_batch_size: 2 ** 31 }, 'max_batch_size: 2147483648 is out of range for int32'],
      [{ input: [{ dims: ['9007199254740993'] }] }, 'input[0].dims[0]: 9007199254740993 is beyond the safe integer range (±9007199254740991)'],
      [{ input: { name: 'x' } }, 'input: expected an array, found an object'],
      [{ input: [null] }, 'input[0]: expected a ModelInput object, found null'],
      [{ parameters: { a: { string_value: 3 } } }, 'parameters["a"].string_value: expected a string, found 3'],
      [{ dynamic_batching: { priority_queue_policy: { x: {} } } }, 'dynamic_batching.priority_queue_policy["x"]: expected an integer, found \'x\''],
      [{ response_cache: { enable: 'true' } }, "response_cache.enable: expected true or false, found 'true'"],
      [{ max_batch_size: 1, maxBatchSize: 2 }, "max_batch_size: given twice (once as 'maxBatchSize')"],
      [
        { dynamic_batching: {}, sequence_batching: {} },
        "sequence_batching: only one of oneof scheduling_choice may be set, but 'dynamic_batching' is set too",
      ],
      [[], 'expected a ModelConfig object, found an array'],
    ];
    for (const [json, message] of cases) expectBadRequest(() => checkConfigJson(json), `config: ${message}`);
  });

  it('uses the given source name', () => {
    expectBadRequest(() => checkConfigJson({ nam: 'x' }, 'ModelConfig', [], 'models/m/config.json'), "models/m/config.json: unknown field 'nam' in ModelConfig");
  });
});

describe("Triton's graph optimisation level", () => {
  it('maps optimization.graph.level as the ONNX Runtime backend does: -1 basic, 1 extended, 2 none, else all', () => {
    const level = (text: string) => graphOptimizationLevel(parseConfigFile('config.pbtxt', text, 'config.pbtxt'));
    expect(level('optimization { graph { level: -1 } }')).toBe('basic');
    expect(level('optimization { graph { level: 1 } }')).toBe('extended');
    expect(level('optimization { graph { level: 2 } }')).toBe('disabled');
    expect(level('optimization { graph { level: 0 } }')).toBe('all');
    expect(level('max_batch_size: 4')).toBe('all');
  });
});
