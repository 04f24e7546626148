// Models: the repository index, one model's metadata, config and versions, and a "try it" form made from them.
import { infer, listModels, modelConfig, takeTiming, type Client, type Context, type IndexEntry, type InferAnswer, type ModelConfig, type ModelMeta, type TensorMeta } from './api.ts';
import { probabilityBars, type Bar } from './charts.ts';
import { errorBox, fill, fmt, h } from './dom.ts';
import { imageToPixels } from './image.ts';

const product = (dims: number[]) => dims.reduce((n, d) => n * d, 1);

/** The per-row dims of an input: without the batch dimension when the model batches. */
function rowDims(input: TensorMeta, config: ModelConfig): number[] {
  return (config.max_batch_size ?? 0) > 0 ? input.shape.slice(1) : input.shape;
}

/** The shape of a one-row request. */
function requestShape(input: TensorMeta, config: ModelConfig): number[] {
  return (config.max_batch_size ?? 0) > 0 ? [1, ...input.shape.slice(1)] : input.shape.map((d) => (d < 0 ? 1 : d));
}

/** A square image input (e.g. 784 = 28×28), or undefined. */
function imageSide(meta: ModelMeta, config: ModelConfig): number | undefined {
  if (meta.inputs.length !== 1) return undefined;
  const input = meta.inputs[0]!;
  if (input.datatype === 'BYTES' || input.datatype === 'BOOL') return undefined;
  const dims = rowDims(input, config).filter((d) => d !== 1);
  if (dims.some((d) => d < 0)) return undefined;
  if (dims.length === 2 && dims[0] === dims[1]) return dims[0];
  const n = product(dims);
  const side = Math.round(Math.sqrt(n));
  return dims.length === 1 && n >= 64 && side * side === n ? side : undefined;
}

interface Field {
  input: TensorMeta;
  label: string;
  el: HTMLInputElement;
}

/** "score:index:label" strings of the classification extension. */
export function parseClassification(values: unknown[]): Bar[] {
  return values.map((v) => {
    const [score, index, ...label] = String(v).split(':');
    return { label: label.join(':') || `class ${index}`, value: Number(score) };
  });
}

function timingLine(elapsedMs: number): HTMLElement {
  const timing = takeTiming();
  const parts = Object.entries(timing?.server ?? {}).map(([k, v]) => `${k} ${Number(v.toFixed(2))} ms`);
  return h('div', { class: 'timing', 'data-testid': 'timing' }, `Server-Timing: ${parts.join(' · ') || '–'}  ·  round trip ${fmt.ms(elapsedMs)}`);
}

function renderAnswer(answer: InferAnswer, config: ModelConfig, elapsedMs: number): HTMLElement {
  const box = h('div', { class: 'answer', 'data-testid': 'answer' });
  const classified = answer.outputs.find((o) => o.name === config.classification_output && o.datatype === 'BYTES');
  if (classified) {
    const bars = parseClassification((classified.data as unknown[]).flat(Infinity as 1));
    const top = [...bars].sort((a, b) => b.value - a.value)[0];
    if (top) box.append(h('div', { class: 'prediction' }, 'Predicted: ', h('strong', { 'data-testid': 'predicted' }, top.label), ` (${fmt.pct(top.value)})`));
    box.append(probabilityBars(bars));
  }
  const others = answer.outputs.filter((o) => o !== classified);
  if (others.length) {
    box.append(
      h('table', { class: 'kv' }, ...others.map((o) => {
        const data = (o.data as unknown[]).flat(Infinity as 1);
        const named = o.name === 'label' && config.labels && data.length === 1 ? ` (${config.labels[Number(data[0])] ?? '?'})` : '';
        const shown = data.slice(0, 12).map((v) => (typeof v === 'number' && !Number.isInteger(v) ? v.toPrecision(4) : String(v))).join(', ') + named;
        return h('tr', null, h('th', null, `${o.name} `, h('span', { class: 'muted small' }, o.datatype)), h('td', { class: 'mono' }, data.length > 12 ? `${shown}, … (${data.length})` : shown));
      })),
    );
    // A lone probability (binary classifier) is a bar too.
    for (const o of others) {
      const data = (o.data as unknown[]).flat(Infinity as 1);
      if (o.datatype.startsWith('FP') && data.length === 1 && /prob/i.test(o.name)) box.append(probabilityBars([{ label: o.name, value: Number(data[0]) }]));
    }
  }
  box.append(timingLine(elapsedMs));
  return box;
}

/** The outputs to ask for: all of them, the classification output with every label. */
function outputsRequest(meta: ModelMeta, config: ModelConfig) {
  return meta.outputs.map((o) =>
    o.name === config.classification_output && config.labels?.length ? { name: o.name, parameters: { classification: config.labels.length } } : { name: o.name },
  );
}

function tryItForm(client: Client, name: string, version: string | undefined, meta: ModelMeta, config: ModelConfig, ctx: Context): HTMLElement {
  const card = h('div', { class: 'card', 'data-testid': 'try-it' }, h('h3', null, 'Try it'));
  const result = h('div');

  if (config.sequence_batching) {
    card.append(h('p', null, 'A sequence model: its state carries across calls. Stream audio through it in the ', h('a', { href: '#vad', onClick: () => ctx.go('vad') }, 'VAD tab'), '.'));
    return card;
  }
  if (config.session?.kind === 'recommender') {
    card.append(h('p', null, 'A recommender: rate movies and get recommendations in the ', h('a', { href: '#sessions', onClick: () => ctx.go('sessions') }, 'Sessions tab'), '.'));
    return card;
  }

  const run = async (inputs: unknown[]) => {
    fill(result, h('p', { class: 'muted' }, 'Running…'));
    const start = performance.now();
    try {
      const answer = await infer(client, name, { inputs, outputs: outputsRequest(meta, config) }, version);
      fill(result, renderAnswer(answer, config, performance.now() - start));
    } catch (error) {
      fill(result, errorBox(error));
    }
  };

  const side = imageSide(meta, config);
  if (side) {
    const input = meta.inputs[0]!;
    const raw = /0\s*\.\.\s*255|raw/i.test(config.description ?? '');
    const scale = h('select', { 'aria-label': 'pixel scale' }, h('option', { value: '255' }, 'pixels 0..255'), h('option', { value: '1' }, 'pixels 0..1'));
    scale.value = raw ? '255' : '1';
    const invert = h('input', { type: 'checkbox', id: 'invert' });
    const preview = h('canvas', { class: 'pixels', width: side, height: side, 'data-testid': 'pixels' });
    let image: Blob | undefined;
    const go = async () => {
      if (!image) return;
      try {
        const { pixels, lightBackground } = await imageToPixels(image, side, preview, invert.checked ? true : invert.indeterminate ? undefined : false);
        if (invert.indeterminate) invert.checked = lightBackground;
        invert.indeterminate = false;
        const factor = Number(scale.value) / 255;
        await run([{ name: input.name, shape: requestShape(input, config), datatype: input.datatype, data: Array.from(pixels, (p) => p * factor) }]);
      } catch (error) {
        fill(result, errorBox(error));
      }
    };
    const file = h('input', {
      type: 'file', accept: 'image/*', 'data-testid': 'image-file',
      onChange: () => {
        image = file.files?.[0];
        invert.indeterminate = true; // decided from the picture's border, until the user chooses
        void go();
      },
    });
    invert.addEventListener('change', () => void go());
    scale.addEventListener('change', () => void go());
    card.append(
      h('p', { class: 'muted small' }, `Pick an image: it is drawn into a ${side}×${side} canvas, turned to grayscale and sent as ${input.datatype} ${JSON.stringify(requestShape(input, config))}. ${config.description ?? ''}`),
      h('div', { class: 'row' }, file, h('label', { class: 'small' }, invert, ' invert (dark object on light background)'), scale),
      h('div', { class: 'image-result' }, h('figure', null, preview, h('figcaption', null, `what is sent (${side}×${side})`)), result),
    );
    return card;
  }

  // A form: one field per element of each small input, named by the config's features when they fit.
  const fields: Field[] = [];
  const tooBig = meta.inputs.find((i) => rowDims(i, config).some((d) => d < 0) || product(rowDims(i, config)) > 64);
  if (tooBig) {
    card.append(h('p', { class: 'muted' }, `Input '${tooBig.name}' (${JSON.stringify(tooBig.shape)}) is too large for a form; use the API.`));
    return card;
  }
  const total = meta.inputs.reduce((n, i) => n + product(rowDims(i, config)), 0);
  const features = config.features?.length === total ? config.features : undefined;
  for (const input of meta.inputs) {
    const n = product(rowDims(input, config));
    for (let i = 0; i < n; i++) {
      const label = features?.[fields.length] ?? (n === 1 ? input.name : `${input.name}[${i}]`);
      const numeric = input.datatype !== 'BYTES';
      const el = h('input', { type: numeric ? 'number' : 'text', step: 'any', name: label, placeholder: numeric ? '0' : 'text' });
      fields.push({ input, label, el });
    }
  }
  const csv = h('input', { type: 'text', placeholder: `a CSV row: ${fields.map((f) => f.label).join(',')}`, 'data-testid': 'csv-row', style: 'flex:1;min-width:260px' });
  const fillFromCsv = () => {
    const values = csv.value.split(/[,;\t]/).map((v) => v.trim().replace(/^"(.*)"$/, '$1'));
    fields.forEach((f, i) => {
      if (values[i] !== undefined && values[i] !== '') f.el.value = values[i]!;
    });
  };
  csv.addEventListener('input', fillFromCsv);
  const form = h('form', {
    onSubmit: (event: Event) => {
      event.preventDefault();
      let inputs;
      try {
        inputs = meta.inputs.map((input) => {
          const data = fields.filter((f) => f.input === input).map((f) => {
            if (input.datatype === 'BYTES') return f.el.value;
            if (input.datatype === 'BOOL') return f.el.value === 'true' || f.el.value === '1';
            if (f.el.value.trim() === '' || !Number.isFinite(Number(f.el.value))) throw new Error(`${f.label}: enter a number`);
            return Number(f.el.value);
          });
          return { name: input.name, shape: requestShape(input, config), datatype: input.datatype, data };
        });
      } catch (error) {
        fill(result, errorBox(error));
        return;
      }
      void run(inputs);
    },
  });
  form.append(
    h('div', { class: 'row' }, csv),
    h('div', { class: 'fields' }, ...fields.map((f) => h('label', null, f.label, f.el))),
    h('div', { class: 'row' }, h('button', { type: 'submit', 'data-testid': 'predict' }, 'Predict')),
  );
  card.append(form, result);
  return card;
}

async function showModel(client: Client, ctx: Context, pane: HTMLElement, name: string, entries: IndexEntry[], version?: string): Promise<void> {
  fill(pane, h('p', { class: 'muted' }, `Loading ${name}…`));
  try {
    const [meta, config] = await Promise.all([client.models.metadata(name, version) as Promise<unknown> as Promise<ModelMeta>, modelConfig(client, name, version)]);
    const versions = entries.filter((e) => e.name === name);
    const versionPicker = h('select', { 'aria-label': 'version' }, h('option', { value: '' }, 'latest'), ...versions.map((v) => h('option', { value: v.version ?? '' }, `version ${v.version}`)));
    versionPicker.value = version ?? '';
    versionPicker.addEventListener('change', () => void showModel(client, ctx, pane, name, entries, versionPicker.value || undefined));
    const tensorRows = (list: TensorMeta[], kind: string) =>
      list.map((t) => h('tr', null, h('td', null, kind), h('td', { class: 'mono' }, t.name), h('td', null, t.datatype), h('td', { class: 'mono' }, JSON.stringify(t.shape))));
    const accuracy = config.training?.accuracy;
    fill(
      pane,
      h('div', { class: 'card', 'data-testid': 'model-detail' },
        h('div', { class: 'row', style: 'justify-content:space-between' }, h('h2', { style: 'margin:0' }, name), versionPicker),
        config.description ? h('p', null, config.description) : null,
        h('table', { class: 'kv' },
          h('tr', null, h('th', null, 'versions'), h('td', null, ...versions.map((v) => h('span', { class: `badge ${v.state === 'READY' ? 'ready' : 'bad'}`, title: v.reason ?? '', style: 'margin-right:4px' }, `${v.version} ${(v.state ?? '').toLowerCase()}`)))),
          h('tr', null, h('th', null, 'platform'), h('td', null, meta.platform ?? '–')),
          h('tr', null, h('th', null, 'max batch size'), h('td', null, String(config.max_batch_size ?? 0))),
          config.labels ? h('tr', null, h('th', null, 'labels'), h('td', null, config.labels.join(', '))) : null,
          config.features ? h('tr', null, h('th', null, 'features'), h('td', null, config.features.join(', '))) : null,
          accuracy !== undefined ? h('tr', null, h('th', null, 'accuracy'), h('td', null, fmt.pct(accuracy))) : null,
        ),
        h('h3', null, 'Tensors'),
        h('table', { class: 'data' }, h('tr', null, h('th', null, ''), h('th', null, 'name'), h('th', null, 'datatype'), h('th', null, 'shape')), ...tensorRows(meta.inputs, 'input'), ...tensorRows(meta.outputs, 'output')),
        h('details', null, h('summary', null, 'Full configuration (Triton ModelConfig)'), h('pre', null, JSON.stringify(config, null, 2))),
      ),
      tryItForm(client, name, version, meta, config, ctx),
    );
  } catch (error) {
    fill(pane, errorBox(error));
  }
}

export function modelsTab(ctx: Context): HTMLElement {
  const list = h('ul', { class: 'model-list', 'data-testid': 'model-list' });
  const pane = h('div', null, h('p', { class: 'notice' }, 'Pick a model.'));
  const root = h('div', { class: 'grid' }, h('div', { class: 'card' }, h('h2', null, 'Models'), list), pane);
  const load = async () => {
    fill(list, h('li', { class: 'muted' }, 'Loading…'));
    try {
      const client = ctx.client();
      const entries = await listModels(client);
      const names = [...new Set(entries.map((e) => e.name))].sort();
      const buttons = names.map((name) => {
        const mine = entries.filter((e) => e.name === name);
        const ready = mine.filter((e) => e.state === 'READY').length;
        const button = h('button', { type: 'button', 'data-model': name },
          h('span', null, name),
          h('span', { class: `badge ${ready ? 'ready' : 'bad'}` }, `${mine.length} version${mine.length === 1 ? '' : 's'}`));
        button.addEventListener('click', () => {
          for (const b of list.querySelectorAll('button')) b.classList.toggle('selected', b === button);
          void showModel(client, ctx, pane, name, entries);
        });
        return h('li', null, button);
      });
      fill(list, ...buttons);
      if (!names.length) fill(list, h('li', { class: 'muted' }, 'No models.'));
    } catch (error) {
      fill(list, h('li', null, errorBox(error)));
    }
  };
  void load();
  return root;
}
