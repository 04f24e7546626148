// Reads the project settings the benchmark reuses: wrangler.toml [vars] and compatibility date, demo consumer keys.
import { cpSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const WORK = join(ROOT, 'bench', '.work');
export const DIST = join(WORK, 'dist');
/** The sources every server in one run is built from, copied once at the start. */
export const SNAPSHOT = join(WORK, 'snapshot');

const SNAPSHOT_ENTRIES = ['wrangler.toml', 'package.json', 'tsconfig.json', '.dev.vars.example', 'src', 'models', 'public', 'console', 'client', 'scripts/build-console.ts'];

/**
 * Copies the Worker's sources so that edits made while the benchmark runs neither make wrangler dev reload
 * mid-measurement nor let the three servers run different code. node_modules still resolves from the project.
 */
export function takeSnapshot(): void {
  rmSync(SNAPSHOT, { recursive: true, force: true });
  for (const entry of SNAPSHOT_ENTRIES) {
    if (existsSync(join(ROOT, entry))) cpSync(join(ROOT, entry), join(SNAPSHOT, entry), { recursive: true });
  }
}

export interface ProjectSettings {
  compatibilityDate: string;
  vars: Record<string, string>;
  consumerKeys: string;
}

/** Only the flat top-level keys and the [vars] table are needed, so a line parser is enough (no TOML dependency). */
function parseWranglerToml(text: string): { compatibilityDate: string; vars: Record<string, string> } {
  let section = '';
  let compatibilityDate = '';
  const vars: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const header = line.match(/^\[\[?([^\]]+)\]\]?$/);
    if (header) {
      section = header[1]!.trim();
      continue;
    }
    const entry = line.match(/^([A-Za-z0-9_]+)\s*=\s*(".*?"|'.*?'|[^#]+?)\s*(#.*)?$/);
    if (!entry) continue;
    const value = entry[2]!.replace(/^["']|["']$/g, '');
    if (section === '' && entry[1] === 'compatibility_date') compatibilityDate = value;
    if (section === 'vars') vars[entry[1]!] = value;
  }
  if (!compatibilityDate) throw new Error('wrangler.toml has no compatibility_date');
  return { compatibilityDate, vars };
}

export function readProjectSettings(): ProjectSettings {
  const { compatibilityDate, vars } = parseWranglerToml(readFileSync(join(SNAPSHOT, 'wrangler.toml'), 'utf8'));
  const devVars = parseEnv(readFileSync(join(SNAPSHOT, '.dev.vars.example'), 'utf8'));
  const consumerKeys = devVars.CONSUMER_KEYS;
  if (!consumerKeys) throw new Error('.dev.vars.example has no CONSUMER_KEYS');
  return { compatibilityDate, vars, consumerKeys };
}
