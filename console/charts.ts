// Pictures: probability bars (HTML) and line charts (SVG).
import { fmt, h, s } from './dom.ts';

export interface Bar {
  label: string;
  value: number;
}

/** Horizontal bars, largest first; the top one is highlighted. */
export function probabilityBars(bars: Bar[]): HTMLElement {
  const sorted = [...bars].sort((a, b) => b.value - a.value);
  return h(
    'div',
    { class: 'bars', 'data-testid': 'bars' },
    ...sorted.map((bar, i) =>
      h(
        'div',
        { class: i === 0 ? 'bar-row top' : 'bar-row' },
        h('span', { class: 'name', title: bar.label }, bar.label),
        h('div', { class: 'track' }, h('div', { class: 'fill', style: `width:${Math.max(0, Math.min(1, bar.value)) * 100}%` })),
        h('span', { class: 'pct' }, fmt.pct(bar.value)),
      ),
    ),
  );
}

export interface LineChartOptions {
  width?: number;
  height?: number;
  xMax: number;
  yMax: number;
  xLabel: (x: number) => string;
  yLabel: (y: number) => string;
  yTicks: number[];
  xTicks: number;
  /** A dashed horizontal line (e.g. the speech threshold). */
  threshold?: number;
  /** Drawn behind the series: [x, min, max] envelope, scaled to the chart's height around its middle (a waveform). */
  envelope?: [number, number, number][];
  /** Shaded x spans (e.g. detected speech). */
  spans?: [number, number][];
  area?: boolean;
  /** Draw steps (the value holds until the next point), for counts that change in jumps. */
  step?: boolean;
}

/** A line chart of (x, y) points. Each point is also a <circle> so that tests and tooltips can find it. */
export function lineChart(points: [number, number][], o: LineChartOptions): SVGElement {
  const width = o.width ?? 760;
  const height = o.height ?? 220;
  const widest = Math.max(...o.yTicks.map((t) => o.yLabel(t).length));
  const pad = { l: 14 + widest * 7, r: 12, t: 10, b: 26 };
  const iw = width - pad.l - pad.r;
  const ih = height - pad.t - pad.b;
  const xMax = o.xMax > 0 ? o.xMax : 1;
  const yMax = o.yMax > 0 ? o.yMax : 1;
  const X = (x: number) => pad.l + (x / xMax) * iw;
  const Y = (y: number) => pad.t + ih - (Math.min(y, yMax) / yMax) * ih;
  const svg = s('svg', { class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img' });

  for (const tick of o.yTicks) {
    svg.append(s('line', { class: 'grid', x1: pad.l, x2: width - pad.r, y1: Y(tick), y2: Y(tick) }));
    svg.append(s('text', { x: pad.l - 6, y: Y(tick) + 4, 'text-anchor': 'end' }, o.yLabel(tick)));
  }
  // Round x ticks: about xTicks of them, at 1, 2 or 5 times a power of ten.
  const raw = xMax / Math.max(1, o.xTicks);
  const power = 10 ** Math.floor(Math.log10(raw));
  const stepX = [1, 2, 5, 10].map((m) => m * power).find((v) => v >= raw) ?? raw;
  for (let x = 0; x <= xMax + stepX * 1e-9; x += stepX) {
    const anchor = x === 0 ? 'start' : X(x) > width - pad.r - 20 ? 'end' : 'middle';
    svg.append(s('line', { class: 'axis', x1: X(x), x2: X(x), y1: pad.t + ih, y2: pad.t + ih + 4 }));
    svg.append(s('text', { x: X(x), y: height - 8, 'text-anchor': anchor }, o.xLabel(x)));
  }
  for (const [a, b] of o.spans ?? []) {
    svg.append(s('rect', { class: 'speech', x: X(a), y: pad.t, width: Math.max(1, X(b) - X(a)), height: ih }));
  }
  if (o.envelope?.length) {
    const mid = pad.t + ih / 2;
    const top = o.envelope.map(([x, , max]) => `${X(x).toFixed(1)},${(mid - max * (ih / 2)).toFixed(1)}`);
    const bottom = o.envelope.map(([x, min]) => `${X(x).toFixed(1)},${(mid - min * (ih / 2)).toFixed(1)}`).reverse();
    svg.append(s('polygon', { class: 'wave', points: [...top, ...bottom].join(' ') }));
  }
  if (o.threshold !== undefined) {
    svg.append(s('line', { class: 'threshold', x1: pad.l, x2: width - pad.r, y1: Y(o.threshold), y2: Y(o.threshold) }));
  }
  svg.append(s('line', { class: 'axis', x1: pad.l, x2: width - pad.r, y1: pad.t + ih, y2: pad.t + ih }));
  svg.append(s('line', { class: 'axis', x1: pad.l, x2: pad.l, y1: pad.t, y2: pad.t + ih }));

  if (points.length) {
    const drawn = o.step ? points.flatMap((p, i): [number, number][] => (i ? [[p[0], points[i - 1]![1]], p] : [p])) : points;
    const path = drawn.map(([x, y]) => `${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join(' ');
    if (o.area) {
      const first = points[0]!;
      const last = points[points.length - 1]!;
      svg.append(s('polygon', { class: 'area', points: `${X(first[0])},${Y(0)} ${path} ${X(last[0])},${Y(0)}` }));
    }
    svg.append(s('polyline', { class: 'series', points: path }));
    const dots = s('g', { class: 'points', fill: 'transparent' });
    for (const [x, y] of points) dots.append(s('circle', { cx: X(x).toFixed(1), cy: Y(y).toFixed(1), r: 2 }, s('title', null, `${o.xLabel(x)}: ${o.yLabel(y)}`)));
    svg.append(dots);
  }
  return svg;
}
