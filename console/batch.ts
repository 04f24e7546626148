// Batch: drop a CSV or JSON Lines file, upload it to the inbox (which starts a job), follow the job, download its results.
import { listModels, type Client, type Context } from './api.ts';
import { lineChart } from './charts.ts';
import { errorBox, fill, fmt, h } from './dom.ts';

interface JobStatus {
  id: string;
  state: string;
  reason?: string;
  model: string;
  records: { ok: number; failed: number };
  chunks: { done: number; total: number };
  progress: number;
  created_at: string;
  started_at?: string;
  finished_at?: string;
}

const FINAL = new Set(['succeeded', 'failed', 'cancelled']);

/** Records in a file we hold: non-blank lines, less the CSV header. Undefined for gzip. */
async function countRecords(file: File): Promise<number | undefined> {
  if (/\.gz$/i.test(file.name)) return undefined;
  const text = await file.text();
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '').length;
  return /\.csv$/i.test(file.name) ? Math.max(0, lines - 1) : lines;
}

/** A job's results or errors as a Blob, whatever shape the client hands them in. */
async function asBlob(value: unknown): Promise<Blob> {
  if (value instanceof Blob) return value;
  if (value instanceof Response) return value.blob();
  if (typeof value === 'string') return new Blob([value], { type: 'application/x-ndjson' });
  if (value instanceof ReadableStream) return new Response(value).blob();
  if (Array.isArray(value)) return new Blob([value.map((v) => JSON.stringify(v)).join('\n') + (value.length ? '\n' : '')], { type: 'application/x-ndjson' });
  return new Blob([JSON.stringify(value)], { type: 'application/json' });
}

function stat(value: string, key: string, testid: string): HTMLElement {
  return h('div', { class: 'stat' }, h('div', { class: 'v', 'data-testid': testid }, value), h('div', { class: 'k' }, key));
}

export function batchTab(ctx: Context): HTMLElement {
  const model = h('select', { 'aria-label': 'model', 'data-testid': 'batch-model' });
  const picker = h('input', { type: 'file', accept: '.csv,.jsonl,.ndjson,.gz,text/csv', hidden: true, 'data-testid': 'batch-file' });
  const drop = h('div', { class: 'drop', 'data-testid': 'drop-zone', tabindex: '0' }, h('strong', null, 'Drop a CSV or JSON Lines file here'), h('br'), h('span', { class: 'small' }, 'or click to choose one. CSV needs a header row naming the model\'s features; an id column is carried through.'));
  const job = h('div');
  const root = h('div', null,
    h('div', { class: 'card' }, h('h2', null, 'Batch scoring'),
      h('div', { class: 'row' }, h('label', null, 'Model '), model),
      drop, picker),
    job,
  );

  void (async () => {
    try {
      const entries = await listModels(ctx.client());
      const names = [...new Set(entries.map((e) => e.name))].sort().filter((n) => n !== 'silero-vad' && n !== 'movielens');
      fill(model, ...names.map((n) => h('option', { value: n }, n)));
      if (names.includes('iris')) model.value = 'iris';
    } catch (error) {
      job.replaceChildren(errorBox(error));
    }
  })();

  drop.addEventListener('click', () => picker.click());
  drop.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') picker.click();
  });
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const file = e.dataTransfer?.files[0];
    if (file) void start(file);
  });
  picker.addEventListener('change', () => {
    const file = picker.files?.[0];
    if (file) void start(file);
    picker.value = '';
  });

  let aborter = new AbortController();
  async function start(file: File) {
    aborter.abort();
    aborter = new AbortController();
    fill(job, h('p', { class: 'notice' }, `Reading ${file.name}…`));
    const client: Client = ctx.client();
    const chosen = model.value;
    const total = await countRecords(file);
    const samples: [number, number][] = [];
    const stats = h('div', { class: 'stats' });
    const bar = h('div', { style: 'width:0%' });
    const chart = h('div', { 'data-testid': 'batch-chart' });
    const caption = h('div', { class: 'muted small' }, 'Records scored over time (they land a chunk at a time)');
    const downloads = h('div', { class: 'row' });
    const preview = h('div');
    const state = h('strong', { 'data-testid': 'batch-state' }, 'uploading');
    const cancel = h('button', { type: 'button', class: 'secondary', disabled: true }, 'Cancel');
    fill(job, h('div', { class: 'card', 'data-testid': 'batch-job' },
      h('div', { class: 'row', style: 'justify-content:space-between' },
        h('h3', { style: 'margin:0' }, `${file.name} → ${chosen}`), h('span', null, 'State: ', state, ' ', cancel)),
      h('p', { class: 'muted small' }, `${fmt.bytes(file.size)}${total !== undefined ? `, ${fmt.int(total)} records` : ''}`),
      h('div', { class: 'progress' }, bar), stats, caption, chart, downloads, preview));

    let id: string;
    const t0 = performance.now();
    try {
      const uploaded = (await client.batches.upload(chosen, file.name, file)) as { id: string };
      id = uploaded.id;
    } catch (error) {
      state.textContent = 'upload failed';
      job.firstElementChild?.append(errorBox(error));
      return;
    }
    state.textContent = 'starting';
    cancel.disabled = false;
    cancel.addEventListener('click', () => void client.batches.cancel(id).catch((error: unknown) => job.firstElementChild?.append(errorBox(error))));

    const update = (status: JobStatus) => {
      const elapsed = (performance.now() - t0) / 1000;
      const done = status.records.ok + status.records.failed;
      samples.push([elapsed, done]);
      const started = status.started_at ? Date.parse(status.started_at) : Date.parse(status.created_at);
      const finished = status.finished_at ? Date.parse(status.finished_at) : Date.now();
      const busy = Math.max(0.001, (finished - started) / 1000);
      const rate = done / busy;
      const share = total ? Math.min(1, done / total) : status.progress / 100;
      const final = FINAL.has(status.state);
      const eta = final ? 0 : rate > 0 && total ? (total - done) / rate : NaN;
      state.textContent = status.state;
      state.className = `state-${status.state}`;
      bar.style.width = `${(status.state === 'succeeded' ? 1 : share) * 100}%`;
      fill(stats,
        stat(fmt.int(done), total !== undefined ? `of ${fmt.int(total)} records done` : 'records done', 'batch-done'),
        stat(rate > 0 ? fmt.int(rate) : '–', 'rows / s', 'batch-rate'),
        stat(final ? 'done' : fmt.seconds(eta), 'ETA', 'batch-eta'),
        stat(fmt.int(status.records.failed), 'errors so far', 'batch-errors'),
        stat(`${status.chunks.done} / ${status.chunks.total || '?'}`, 'chunks', 'batch-chunks'),
        stat(fmt.seconds(elapsed), 'elapsed', 'batch-elapsed'),
      );
      const yMax = Math.max(total ?? 0, done, 1);
      fill(chart, lineChart([[0, 0], ...samples], {
        height: 180, xMax: Math.max(elapsed, 1), yMax, area: true, step: true,
        xLabel: (x) => `${x.toFixed(x < 10 ? 1 : 0)} s`, yLabel: (y) => fmt.compact(y),
        yTicks: [0, yMax / 2, yMax], xTicks: 4,
      }));
    };
    let status: JobStatus;
    try {
      status = (await client.batches.wait(id, { intervalMs: 300, onStatus: (s) => update(s as unknown as JobStatus), signal: aborter.signal })) as unknown as JobStatus;
    } catch (error) {
      if (!aborter.signal.aborted) job.firstElementChild?.append(errorBox(error));
      return;
    }
    cancel.remove();
    if (status.state !== 'succeeded') {
      job.firstElementChild?.append(errorBox(`${status.state}${status.reason ? `: ${status.reason}` : ''}`));
      return;
    }
    const base = file.name.replace(/\.(csv|jsonl|ndjson)(\.gz)?$/i, '');
    /** Fetched when clicked (results can be large), then handed to the browser as a download. */
    const download = (label: string, name: string, fetchIt: () => Promise<unknown>, testid: string, secondary = false) => {
      const button = h('button', { type: 'button', class: secondary ? 'secondary' : undefined, 'data-testid': testid }, label);
      button.addEventListener('click', async () => {
        button.disabled = true;
        try {
          const blob = await asBlob(await fetchIt());
          const a = h('a', { href: URL.createObjectURL(blob), download: name });
          document.body.append(a);
          a.click();
          a.remove();
          setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
        } catch (error) {
          downloads.append(errorBox(error));
        } finally {
          button.disabled = false;
        }
      });
      return button;
    };
    fill(downloads,
      download('Download results (.jsonl)', `${base}-results.jsonl`, () => client.batches.output(id), 'download-results'),
      download(`Download errors (${fmt.int(status.records.failed)})`, `${base}-errors.jsonl`, () => client.batches.errors(id), 'download-errors', true),
    );
    try {
      // A preview: the first few lines, without reading the whole output.
      const reader = (await client.batches.output(id)).getReader();
      const decoder = new TextDecoder();
      let text = '';
      while (text.split('\n').length <= 5 && text.length < 64 * 1024) {
        const { done, value } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
      await reader.cancel();
      fill(preview, h('h3', null, 'First results'), h('pre', null, text.split('\n').filter(Boolean).slice(0, 5).join('\n')));
    } catch (error) {
      preview.append(errorBox(error));
    }
  }
  return root;
}
