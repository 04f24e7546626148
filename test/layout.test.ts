// Folder rules, read from the sources' own imports: the core imports no pattern, patterns import no other pattern.
/// <reference types="vite/client" />
import { describe, expect, it } from 'vitest';

const sources = import.meta.glob<string>('../src/**/*.ts', { query: '?raw', import: 'default', eager: true });
const PATTERNS = ['online', 'sessions', 'batch'];

/** Every relative import of every source file, resolved to a path under src/ (or the models bundle). */
function imports(): { from: string; to: string; typeOnly: boolean }[] {
  return Object.entries(sources).flatMap(([file, text]) => {
    const from = file.replace(/^\.\.\//, '');
    const found = [...text.matchAll(/^(import|export)( type)?\b[^'"]*?from\s+'(\.{1,2}\/[^']+)'/gm)];
    return found.map(([, , typeOnly, specifier]) => {
      const parts = from.split('/').slice(0, -1);
      for (const step of specifier!.split('/')) {
        if (step === '..') parts.pop();
        else if (step !== '.') parts.push(step);
      }
      return { from, to: parts.join('/'), typeOnly: typeOnly !== undefined };
    });
  });
}

const folderOf = (path: string) => path.split('/')[1];

describe('folder rules', () => {
  const all = imports();

  it('reads the sources', () => {
    expect(Object.keys(sources).length).toBeGreaterThan(30);
    expect(all.some((i) => i.from === 'src/app.ts' && i.to === 'src/online/model-routes')).toBe(true);
  });

  it('keeps the inference core free of patterns and of the model bundle', () => {
    const bad = all.filter((i) => folderOf(i.from) === 'runtime' && (!i.to.startsWith('src/runtime/') || i.to.startsWith('models')));
    expect(bad).toEqual([]);
  });

  it('keeps each pattern folder from importing another', () => {
    const bad = all.filter((i) => {
      const [from, to] = [folderOf(i.from), folderOf(i.to)];
      return PATTERNS.includes(from!) && PATTERNS.includes(to!) && from !== to;
    });
    expect(bad).toEqual([]);
  });

  it('lets no pattern run a model except through the data plane', () => {
    // These modules can load or run a model; outside the core only their types may be imported.
    const runners = ['ort', 'model-cache', 'inference', 'loaded-model'].map((m) => `src/runtime/${m}`);
    const bad = all.filter((i) => folderOf(i.from) !== 'runtime' && runners.includes(i.to) && !i.typeOnly);
    expect(bad).toEqual([]);
  });
});
