// Browser tests of the web console: a real `wrangler dev` (which builds the console through wrangler.toml's
// [build]) driven by Debian's Chromium through playwright-core. Each flow saves a screenshot to e2e/artifacts/.
// Run: node --test --test-concurrency=1 e2e/console.test.ts (Node 22; needs /usr/bin/chromium or CHROMIUM_PATH).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { crc32, deflateSync } from 'node:zlib';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startWranglerDev, type DevServer } from '../bench/dev-server.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ARTIFACTS = join(ROOT, 'e2e', 'artifacts');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const KEY = 'demo-key-alice';
const readJson = (path: string) => JSON.parse(readFileSync(join(ROOT, path), 'utf8'));

const reference = readJson('test/fixtures/reference.json');
const irisLabels: string[] = readJson('models/iris/config.json').labels;
const fashionLabels: string[] = readJson('models/fashion-mnist/config.json').labels;

let server: DevServer;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

/** A grayscale PNG, written by hand (zlib does the compression), so the test needs no image library. */
function grayPng(pixels: number[], width: number, height: number, scale = 1): Buffer {
  const w = width * scale;
  const h = height * scale;
  const raw = Buffer.alloc((w + 1) * h);
  for (let y = 0; y < h; y++) {
    raw[y * (w + 1)] = 0; // filter: none
    for (let x = 0; x < w; x++) raw[y * (w + 1) + 1 + x] = pixels[Math.floor(y / scale) * width + Math.floor(x / scale)]!;
  }
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), body.length + 4);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(w, 0);
  header.writeUInt32BE(h, 4);
  header[8] = 8; // bit depth
  header[9] = 0; // grayscale
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', header), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

async function openTab(tab: string): Promise<void> {
  await page.click(`#tabs a[data-tab="${tab}"]`);
  await page.waitForFunction((t) => document.querySelector(`#tabs a[data-tab="${t}"]`)?.getAttribute('aria-selected') === 'true', tab);
}

before(async () => {
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
  mkdirSync(ARTIFACTS, { recursive: true });
  server = await startWranglerDev(join(tmpdir(), `edge-inference-e2e-${process.pid}`), 'warn');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, acceptDownloads: true });
  page = await context.newPage();
  page.setDefaultTimeout(30_000);
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  page.on('console', (message) => {
    // Failed responses are checked below, by URL.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) pageErrors.push(message.text());
  });
  page.on('response', (response) => {
    if (response.status() >= 400) pageErrors.push(`${response.status()} ${response.request().method()} ${new URL(response.url()).pathname}`);
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('serves the console at / and leaves /v2 to the Worker', async () => {
  const index = await fetch(`${server.url}/`);
  assert.equal(index.status, 200);
  assert.match(index.headers.get('content-type') ?? '', /text\/html/);
  assert.match(await index.text(), /<script type="module" src="\/app\/main.js">/);
  const bundle = await fetch(`${server.url}/app/main.js`);
  assert.equal(bundle.status, 200, 'the [build] step wrote public/app/main.js');
  await bundle.arrayBuffer();
  const scalar = await fetch(`${server.url}/app/scalar.js`, { method: 'HEAD' });
  assert.equal(scalar.status, 200);
  // /v2 is the Worker's: JSON, health without a key, everything else behind one.
  assert.deepEqual(await (await fetch(`${server.url}/v2/health/live`)).json(), { live: true });
  const unauthorised = await fetch(`${server.url}/v2`);
  assert.equal(unauthorised.status, 401);
  assert.ok(((await unauthorised.json()) as { error?: string }).error);
});

test('a key pasted once is kept in sessionStorage, never in the URL', async () => {
  await page.goto(`${server.url}/`);
  await page.waitForSelector('text=Paste an API key above');
  await shot('0-welcome');
  await page.fill('#key-input', KEY);
  await page.click('#key-save');
  await page.waitForFunction(() => document.getElementById('server-info')?.textContent?.includes('triton'));
  assert.equal(await page.evaluate(() => sessionStorage.getItem('edge-inference-console-key')), KEY);
  assert.ok(!page.url().includes(KEY), page.url());
  assert.equal(await page.inputValue('#key-input'), '', 'the field is cleared once the key is kept');
  // A reload keeps the key (same tab), with no second paste.
  await page.reload();
  await page.waitForFunction(() => document.getElementById('server-info')?.textContent?.includes('triton'));
  await page.waitForSelector('[data-testid="model-list"] button[data-model="iris"]');
  assert.ok(!page.url().includes(KEY));
});

test('models: iris from a pasted CSV row predicts the reference label', async () => {
  await openTab('models');
  const names = await page.$$eval('[data-testid="model-list"] button[data-model]', (bs) => bs.map((b) => b.getAttribute('data-model')));
  for (const name of ['fashion-mnist', 'flights-delay', 'iris', 'movielens', 'silero-vad']) assert.ok(names.includes(name), `${name} in ${names}`);
  await page.click('button[data-model="iris"]');
  await page.waitForSelector('[data-testid="model-detail"] >> text=probabilities');
  // A virginica row of the reference set, as a CSV row with the species column at the end.
  const row = reference.iris.label.findIndex((l: number) => l === 2);
  const expected = irisLabels[reference.iris.label[row]]!;
  await page.fill('[data-testid="csv-row"]', `${reference.iris.inputs[row].join(',')},${expected}`);
  assert.equal(await page.inputValue('input[name="petal_width"]'), String(reference.iris.inputs[row][3]));
  await page.click('[data-testid="predict"]');
  await page.waitForSelector('[data-testid="predicted"]');
  assert.equal(await page.textContent('[data-testid="predicted"]'), expected);
  assert.equal(await page.locator('[data-testid="try-it"] .bar-row').count(), irisLabels.length);
  assert.match((await page.textContent('[data-testid="timing"]'))!, /infer .*ms.*round trip/);
  await shot('1-models-iris');
});

test('models: fashion-mnist from an image file draws ten probability bars', async () => {
  await page.click('button[data-model="fashion-mnist"]');
  await page.waitForSelector('[data-testid="image-file"]');
  const image = reference.fashion_mnist.inputs[0] as number[];
  const expected = fashionLabels[reference.fashion_mnist.label[0]]!;
  // 4× larger than the model's input: the console scales it back to 28×28.
  await page.setInputFiles('[data-testid="image-file"]', { name: 'sample.png', mimeType: 'image/png', buffer: grayPng(image, 28, 28, 4) });
  await page.waitForSelector('[data-testid="try-it"] [data-testid="predicted"]');
  assert.equal(await page.textContent('[data-testid="predicted"]'), expected);
  assert.equal(await page.locator('[data-testid="try-it"] .bar-row').count(), fashionLabels.length);
  const width = await page.$eval('[data-testid="try-it"] .bar-row.top .fill', (el) => (el as HTMLElement).getBoundingClientRect().width);
  assert.ok(width > 50, `the top bar is drawn (${width}px)`);
  await shot('2-models-fashion-mnist');
});

test('batch: a dropped CSV is scored, followed to done, and its results download', async () => {
  await openTab('batch');
  await page.waitForFunction(() => (document.querySelector('[data-testid="batch-model"]') as HTMLSelectElement | null)?.value === 'iris');
  const rows = readFileSync(join(ROOT, 'data/iris/iris.csv'), 'utf8').trim().split('\n');
  const header = rows.shift()!;
  const count = 300;
  const csv = [`id,${header}`, ...Array.from({ length: count }, (_, i) => `${i + 1},${rows[i % rows.length]}`)].join('\n') + '\n';
  const transfer = await page.evaluateHandle((text) => {
    const dt = new DataTransfer();
    dt.items.add(new File([text], 'iris-300.csv', { type: 'text/csv' }));
    return dt;
  }, csv);
  await page.dispatchEvent('[data-testid="drop-zone"]', 'dragover', { dataTransfer: transfer });
  await page.dispatchEvent('[data-testid="drop-zone"]', 'drop', { dataTransfer: transfer });
  await page.waitForFunction(() => document.querySelector('[data-testid="batch-state"]')?.textContent === 'succeeded', null, { timeout: 90_000 });
  assert.equal(await page.textContent('[data-testid="batch-done"]'), String(count));
  assert.match((await page.textContent('[data-testid="batch-job"]'))!, /of 300 records done/);
  assert.equal(await page.textContent('[data-testid="batch-errors"]'), '0');
  assert.ok((await page.locator('[data-testid="batch-chart"] polyline').count()) === 1, 'progress chart drawn');
  await page.waitForSelector('[data-testid="download-results"]');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="download-results"]')]);
  assert.equal(download.suggestedFilename(), 'iris-300-results.jsonl');
  const lines = readFileSync((await download.path())!, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, count);
  assert.equal(lines[0].id, '1');
  assert.ok(lines[0].outputs, JSON.stringify(lines[0]));
  await shot('3-batch');
});

test('batch: a larger file picked from disk shows progress chunk by chunk', async () => {
  // 120,000 rows (3.6 MiB) are four 1 MiB chunks: the chart climbs in steps and the job reads running on the way.
  const rows = readFileSync(join(ROOT, 'data/iris/iris.csv'), 'utf8').trim().split('\n');
  const header = rows.shift()!;
  const count = 120_000;
  const csv = [`id,${header}`, ...Array.from({ length: count }, (_, i) => `${i + 1},${rows[i % rows.length]}`)].join('\n') + '\n';
  const states = new Set<string>();
  const seen = setInterval(() => void page.textContent('[data-testid="batch-state"]').then((s) => s && states.add(s)).catch(() => undefined), 100);
  try {
    await page.setInputFiles('[data-testid="batch-file"]', { name: 'iris-120k.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.waitForFunction(() => document.querySelector('[data-testid="batch-job"] h3')?.textContent?.startsWith('iris-120k.csv') && document.querySelector('[data-testid="batch-state"]')?.textContent === 'succeeded', null, { timeout: 120_000 });
  } finally {
    clearInterval(seen);
  }
  assert.equal(await page.textContent('[data-testid="batch-done"]'), count.toLocaleString('en-US'));
  assert.equal(await page.textContent('[data-testid="batch-chunks"]'), '4 / 4');
  assert.ok(states.has('running'), `states seen: ${[...states]}`);
  const points = await page.locator('[data-testid="batch-chart"] circle').count();
  assert.ok(points >= 3, `progress sampled ${points} times`);
  await page.waitForSelector('[data-testid="batch-job"] pre');
  await shot('3-batch-chunks');
});

test('sessions: search, rate, recommend and try again grow the history', async () => {
  await openTab('sessions');
  await page.waitForSelector('[data-testid="movie-search"]:not([disabled])', { timeout: 60_000 });
  assert.match((await page.textContent('.card p.muted'))!, /9,066 movies/);
  await page.fill('[data-testid="movie-search"]', 'toy story');
  await page.waitForSelector('[data-testid="search-results"] li[data-item]');
  const first = page.locator('[data-testid="search-results"] li[data-item]').first();
  assert.match((await first.textContent())!, /Toy Story/);
  await first.locator('button[data-rating="5"]').click();
  await page.waitForSelector('[data-testid="history"] li[data-action="rate"]');
  // A second title, rated too.
  await page.fill('[data-testid="movie-search"]', 'finding nemo');
  await page.locator('[data-testid="search-results"] li[data-item]').first().locator('button[data-rating="4"]').click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="history"] li[data-action="rate"]').length === 2);
  const historyLength = () => page.locator('[data-testid="history"] li').count();

  await page.click('[data-testid="recommend"]');
  await page.waitForSelector('[data-testid="history"] li[data-action="recommend"]');
  const firstItems = await page.$$eval('[data-testid="recommendations"] li', (lis) => lis.map((li) => li.getAttribute('data-item')));
  assert.equal(firstItems.length, 8);
  const before = await historyLength();
  await shot('4-sessions-recommend');

  await page.click('[data-testid="try-again"]');
  await page.waitForSelector('[data-testid="history"] li[data-action="try_again"]');
  const again = await page.$$eval('[data-testid="recommendations"] li', (lis) => lis.map((li) => li.getAttribute('data-item')));
  assert.equal(again.length, 8);
  assert.ok(again.every((id) => !firstItems.includes(id)), 'try again never repeats an item');
  assert.ok((await historyLength()) > before, 'the history grows');
  assert.match((await page.textContent('[data-testid="session-info"]'))!, /2 rated/);
  await shot('4-sessions-try-again');
});

test('vad: a WAV streamed chunk by chunk draws one point per chunk', async () => {
  await openTab('vad');
  const wav = readFileSync(join(ROOT, 'data/speech/sample.wav'));
  const samples = (wav.length - 44) / 2; // 16-bit mono after a 44-byte header
  const chunks = Math.ceil(samples / 512);
  await page.setInputFiles('[data-testid="vad-file"]', join(ROOT, 'data/speech/sample.wav'));
  await page.waitForSelector('[data-testid="vad-chart"][data-done="true"]', { timeout: 120_000 });
  assert.equal(await page.locator('[data-testid="vad-chart"] svg circle').count(), chunks);
  assert.equal(await page.getAttribute('[data-testid="vad-chart"] svg', 'data-points'), String(chunks));
  assert.equal(await page.textContent('[data-testid="vad-chunks"]'), `${chunks} / ${chunks}`);
  assert.match((await page.textContent('[data-testid="vad-info"]'))!, /16000 Hz/);
  // Two sentences: speech is found, and the leading half second of silence is not speech.
  const speech = (await page.textContent('[data-testid="vad-chart"] + div'))!;
  assert.match(speech, /Speech: /);
  const firstStart = Number(/Speech: ([\d.]+)/.exec(speech)![1]);
  assert.ok(firstStart >= 0.3, speech);
  await shot('5-vad');
});

test('no errors in the page', () => {
  assert.deepEqual(pageErrors, []);
});
