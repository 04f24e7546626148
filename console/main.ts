// The console's entry: the API key (kept in sessionStorage, never in the URL), the server's name, and the tabs.
import { makeClient, type Client, type Context } from './api.ts';
import { batchTab } from './batch.ts';
import { errorBox, fill, h } from './dom.ts';
import { modelsTab } from './models.ts';
import { sessionsTab } from './sessions.ts';
import { vadTab } from './vad.ts';

const STORAGE_KEY = 'edge-inference-console-key';
const TABS: Record<string, (ctx: Context) => HTMLElement> = { models: modelsTab, batch: batchTab, sessions: sessionsTab, vad: vadTab };

const app = document.getElementById('app')!;
const form = document.getElementById('key-form') as HTMLFormElement;
const input = document.getElementById('key-input') as HTMLInputElement;
const forget = document.getElementById('key-forget') as HTMLButtonElement;
const serverInfo = document.getElementById('server-info')!;

let client: Client | undefined;
let mounted: Record<string, HTMLElement> = {};

const ctx: Context = {
  client() {
    if (!client) throw new Error('Paste an API key first.');
    return client;
  },
  go: (tab) => {
    location.hash = tab;
  },
};

function currentTab(): string {
  const tab = location.hash.slice(1);
  return tab in TABS ? tab : 'models';
}

function render(): void {
  const tab = currentTab();
  for (const a of document.querySelectorAll<HTMLAnchorElement>('#tabs a[data-tab]')) a.setAttribute('aria-selected', String(a.dataset.tab === tab));
  if (!client) {
    fill(app, h('div', { class: 'notice' }, h('h2', null, 'Welcome'),
      h('p', null, 'Paste an API key above to use the console. It is kept in this tab\'s session storage only, and sent as ', h('code', null, 'Authorization: Bearer …'), '.'),
      h('p', { class: 'muted small' }, 'Running locally with npm run dev? The demo keys are demo-key-alice (admin) and demo-key-bob.')));
    return;
  }
  // Each tab is built once per key, so switching tabs keeps its state (a running job, a session).
  mounted[tab] ??= TABS[tab]!(ctx);
  fill(app, mounted[tab]);
}

async function useKey(key: string): Promise<void> {
  const candidate = makeClient(key);
  fill(serverInfo, 'checking key…');
  try {
    const server = (await candidate.server()) as { name?: string; version?: string };
    client = candidate;
    mounted = {};
    sessionStorage.setItem(STORAGE_KEY, key);
    input.value = '';
    input.placeholder = `key …${key.slice(-4)}`;
    form.classList.add('has-key');
    forget.hidden = false;
    fill(serverInfo, `${server.name ?? 'server'} ${server.version ?? ''}`);
    render();
  } catch (error) {
    fill(serverInfo);
    fill(app, errorBox(error));
  }
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const key = input.value.trim();
  if (key) void useKey(key);
});
forget.addEventListener('click', () => {
  sessionStorage.removeItem(STORAGE_KEY);
  client = undefined;
  mounted = {};
  form.classList.remove('has-key');
  forget.hidden = true;
  input.placeholder = 'paste your key';
  fill(serverInfo);
  render();
});
window.addEventListener('hashchange', render);

const saved = sessionStorage.getItem(STORAGE_KEY);
if (saved) void useKey(saved);
else render();
