// Reads the project settings the benchmark reuses: wrangler.toml [vars] and compatibility date, demo consumer keys.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { parse } from 'smol-toml';
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
export function takeSnapshot(dir: string = SNAPSHOT): void {
  rmSync(dir, { recursive: true, force: true });
  for (const entry of SNAPSHOT_ENTRIES) {
    if (existsSync(join(ROOT, entry))) cpSync(join(ROOT, entry), join(dir, entry), { recursive: true });
  }
}

export interface ProjectSettings {
  compatibilityDate: string;
  vars: Record<string, string>;
  consumerKeys: string;
}

function parseWranglerToml(text: string): { compatibilityDate: string; vars: Record<string, string> } {
  const toml = parse(text) as { compatibility_date?: string; vars?: Record<string, unknown> };
  if (!toml.compatibility_date) throw new Error('wrangler.toml has no compatibility_date');
  return { compatibilityDate: toml.compatibility_date, vars: Object.fromEntries(Object.entries(toml.vars ?? {}).map(([k, v]) => [k, String(v)])) };
}

/**
 * The demo consumers with every tier replaced by one that has no rate-limiting binding: a benchmark measures the
 * server, so the per-minute limit must not cut its load short. Written next to the snapshot; returns its path.
 */
export function benchVarsFile(): string {
  const devVars = parseEnv(readFileSync(join(ROOT, '.dev.vars.example'), 'utf8'));
  const keys = JSON.parse(devVars.CONSUMER_KEYS!) as Record<string, Record<string, unknown>>;
  for (const consumer of Object.values(keys)) consumer.tier = 'unmetered';
  const path = join(WORK, 'bench.dev.vars');
  mkdirSync(WORK, { recursive: true });
  writeFileSync(path, `CONSUMER_KEYS='${JSON.stringify(keys)}'\n`);
  return path;
}

export function readProjectSettings(snapshot: string = SNAPSHOT): ProjectSettings {
  const { compatibilityDate, vars } = parseWranglerToml(readFileSync(join(snapshot, 'wrangler.toml'), 'utf8'));
  const devVars = parseEnv(readFileSync(join(snapshot, '.dev.vars.example'), 'utf8'));
  const consumerKeys = devVars.CONSUMER_KEYS;
  if (!consumerKeys) throw new Error('.dev.vars.example has no CONSUMER_KEYS');
  return { compatibilityDate, vars, consumerKeys };
}
