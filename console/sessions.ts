// Sessions: a movielens recommendation session. Search the catalogue, rate movies, recommend, try again, see the history.
import { infer, output, type Client, type Context } from './api.ts';
import { errorBox, fill, fmt, h } from './dom.ts';

const MODEL = 'movielens';
const CATALOGUE_SIZE = 9066;
const K = 8;

interface Item {
  item_id: number;
  title: string;
  score?: number;
}
interface Step {
  step: number;
  at: string;
  action: string;
  items?: Item[];
  item_id?: number;
  rating?: number;
}
interface Summary {
  id: string;
  model_version: string;
  ratings: number;
  shown: number;
  expires_at: string;
  history: Step[];
}

/** Every movie, most popular first: the model with no ratings and k = the catalogue's size. */
async function loadCatalogue(client: Client): Promise<Item[]> {
  const empty = (name: string, datatype: string) => ({ name, shape: [0], datatype, data: [] });
  const answer = await infer(client, MODEL, {
    inputs: [empty('rated_ids', 'INT64'), empty('ratings', 'FP32'), empty('rejected_ids', 'INT64'), empty('excluded_ids', 'INT64'),
      { name: 'k', shape: [1], datatype: 'INT64', data: [CATALOGUE_SIZE] }],
    outputs: [{ name: 'item_ids' }, { name: 'titles' }],
  });
  const ids = output(answer, 'item_ids');
  const titles = output(answer, 'titles');
  return ids.map((id, i) => ({ item_id: Number(id), title: String(titles[i]) }));
}

export function sessionsTab(ctx: Context): HTMLElement {
  let catalogue: Item[] = [];
  const titles = new Map<number, string>();
  const ratings = new Map<number, number>();
  let sessionId: string | undefined;

  const search = h('input', { type: 'search', placeholder: 'Search a title, e.g. toy story', 'data-testid': 'movie-search', style: 'width:100%', disabled: true });
  const found = h('ul', { class: 'movies', 'data-testid': 'search-results' });
  const foundTitle = h('h3', null);
  const catalogueInfo = h('p', { class: 'muted small' }, 'Loading the catalogue…');
  const sessionInfo = h('p', { class: 'muted small', 'data-testid': 'session-info' }, 'No session yet: rate a movie or ask for recommendations to start one.');
  const recs = h('ul', { class: 'rec', 'data-testid': 'recommendations' });
  const history = h('ol', { class: 'history', 'data-testid': 'history' });
  const message = h('div');
  const recommend = h('button', { type: 'button', 'data-testid': 'recommend' }, 'Recommend');
  const tryAgain = h('button', { type: 'button', class: 'secondary', 'data-testid': 'try-again', disabled: true }, 'Try again');
  const restart = h('button', { type: 'button', class: 'secondary', 'data-testid': 'new-session' }, 'New session');

  const root = h('div', { class: 'two' },
    h('div', { class: 'card' }, h('h2', null, 'Movies'), catalogueInfo, search, foundTitle, found),
    h('div', null,
      h('div', { class: 'card' }, h('h2', null, 'Session'), sessionInfo, h('div', { class: 'row' }, recommend, tryAgain, restart), message, recs),
      h('div', { class: 'card' }, h('h3', { style: 'margin-top:0' }, 'History'), history)),
  );

  const client = () => ctx.client();
  const guard = async (work: () => Promise<void>) => {
    fill(message);
    for (const b of [recommend, tryAgain]) b.disabled = true;
    try {
      await work();
    } catch (error) {
      fill(message, errorBox(error));
    } finally {
      recommend.disabled = false;
      tryAgain.disabled = !recs.childElementCount;
    }
  };

  async function ensureSession(): Promise<string> {
    if (sessionId) return sessionId;
    const created = (await client().sessions.create({ model: MODEL })) as unknown as { id: string };
    sessionId = created.id;
    return sessionId;
  }

  async function refresh(): Promise<void> {
    if (!sessionId) return;
    const summary = (await client().sessions.get(sessionId)) as unknown as Summary;
    fill(sessionInfo, `Session ${summary.id.slice(0, 8)}… · model version ${summary.model_version} · ${summary.ratings} rated · ${summary.shown} shown · expires ${new Date(summary.expires_at).toLocaleTimeString()}`);
    fill(history, ...[...summary.history].reverse().map((step) => {
      const what = step.items?.length
        ? `${step.items.length} movies: ${step.items.slice(0, 4).map((i) => i.title).join(' · ')}${step.items.length > 4 ? ' …' : ''}`
        : step.item_id !== undefined
          ? `${titles.get(step.item_id) ?? `movie ${step.item_id}`}${step.rating !== undefined ? ` ${'★'.repeat(Math.round(step.rating))} (${step.rating})` : ''}`
          : '';
      return h('li', { 'data-action': step.action }, h('span', { class: 'action' }, step.action.replace('_', ' ')), h('span', null, what), h('span', { class: 'muted small' }, new Date(step.at).toLocaleTimeString()));
    }));
  }

  function showItems(items: Item[]) {
    fill(recs, ...items.map((item) => {
      const li = h('li', { 'data-item': item.item_id },
        h('div', null, item.title),
        h('div', { class: 'row', style: 'justify-content:space-between;margin:4px 0 0' },
          h('span', { class: 'score' }, `score ${item.score?.toFixed(3) ?? '–'}`),
          stars(item)));
      return li;
    }));
  }

  function stars(item: Item): HTMLElement {
    const box = h('span', { class: 'stars', 'data-testid': `stars-${item.item_id}` });
    const paint = () => box.querySelectorAll('button').forEach((b, i) => b.classList.toggle('on', i < (ratings.get(item.item_id) ?? 0)));
    for (let r = 1; r <= 5; r++) {
      box.append(h('button', {
        type: 'button', title: `rate ${r}★`, 'aria-label': `rate ${item.title} ${r} stars`, 'data-rating': r,
        onClick: () => guard(async () => {
          const id = await ensureSession();
          await client().sessions.feedback(id, { action: 'rate', item_id: item.item_id, rating: r });
          ratings.set(item.item_id, r);
          document.querySelectorAll(`[data-testid="stars-${item.item_id}"]`).forEach((el) => el.dispatchEvent(new Event('repaint')));
          await refresh();
        }),
      }, '★'));
    }
    box.addEventListener('repaint', paint);
    paint();
    return box;
  }

  const runSearch = () => {
    const q = search.value.trim().toLowerCase();
    // Nothing typed: the most watched, as a place to start.
    const hits = q ? catalogue.filter((m) => m.title.toLowerCase().includes(q)).slice(0, 12) : catalogue.slice(0, 10);
    fill(foundTitle, q ? `Titles with “${search.value.trim()}”` : 'Most watched');
    fill(found, ...(hits.length ? hits.map((m) => h('li', { 'data-item': m.item_id }, h('span', { class: 'title' }, m.title), stars(m))) : [h('li', { class: 'muted' }, 'No match.')]));
  };
  search.addEventListener('input', runSearch);

  recommend.addEventListener('click', () => guard(async () => {
    const id = await ensureSession();
    const answer = (await client().sessions.recommend(id, K)) as unknown as { items: Item[] };
    showItems(answer.items);
    await refresh();
  }));
  tryAgain.addEventListener('click', () => guard(async () => {
    if (!sessionId) return;
    const answer = (await client().sessions.tryAgain(sessionId, K)) as unknown as { items: Item[] };
    showItems(answer.items);
    await refresh();
  }));
  restart.addEventListener('click', () => guard(async () => {
    if (sessionId) await client().sessions.end(sessionId).catch(() => undefined);
    sessionId = undefined;
    ratings.clear();
    fill(recs);
    fill(history);
    fill(sessionInfo, 'No session yet: rate a movie or ask for recommendations to start one.');
    runSearch();
  }));

  void (async () => {
    try {
      const start = performance.now();
      catalogue = await loadCatalogue(client());
      for (const m of catalogue) titles.set(m.item_id, m.title);
      fill(catalogueInfo, `${fmt.int(catalogue.length)} movies, most watched first (loaded in ${fmt.ms(performance.now() - start)}). Rate a few, then ask for recommendations.`);
      search.disabled = false;
      runSearch();
    } catch (error) {
      fill(catalogueInfo, errorBox(error));
    }
  })();
  return root;
}
