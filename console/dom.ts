// A few DOM helpers: enough to build the console without a framework.
export type Child = Node | string | number | null | undefined | false;
type Props = Record<string, unknown> | null | undefined;

function apply(el: Element, props: Props): void {
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2).toLowerCase(), value as EventListener);
    else if (key === 'text') el.textContent = String(value);
    else if (key === 'value' && 'value' in el) (el as HTMLInputElement).value = String(value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
}

function append(el: Element, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

/** An HTML element: h('button', { class: 'x', onClick: fn }, 'Label'). */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props?: Props, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  apply(el, props);
  append(el, children);
  return el;
}

/** An SVG element. */
export function s(tag: string, props?: Props, ...children: Child[]): SVGElement {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  apply(el, props);
  append(el, children);
  return el;
}

/** Replaces an element's children. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

export function errorBox(error: unknown): HTMLElement {
  const message = error instanceof Error ? error.message : String(error);
  return h('div', { class: 'error', role: 'alert' }, message);
}

export const fmt = {
  pct: (p: number) => (p >= 0.9995 ? '100%' : p < 0.0005 ? '<0.1%' : `${(p * 100).toFixed(p >= 0.1 ? 1 : 2)}%`),
  ms: (ms: number) => (ms < 10 ? `${ms.toFixed(2)} ms` : ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(2)} s`),
  int: (n: number) => Math.round(n).toLocaleString('en-US'),
  compact: (n: number) => (Math.abs(n) >= 1e6 ? `${Number((n / 1e6).toFixed(1))}M` : Math.abs(n) >= 1e4 ? `${Number((n / 1e3).toFixed(1))}k` : Math.round(n).toLocaleString('en-US')),
  bytes: (n: number) => (n < 1024 ? `${n} B` : n < 1 << 20 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / (1 << 20)).toFixed(1)} MiB`),
  seconds: (s: number) => (!Number.isFinite(s) ? '–' : s < 60 ? `${s.toFixed(s < 10 ? 1 : 0)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`),
};
