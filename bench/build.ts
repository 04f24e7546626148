// Builds the Worker bundle with wrangler's dry run and measures each output file (raw and gzip).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DIST, SNAPSHOT } from './project.ts';

export interface BundleFile {
  name: string;
  bytes: number;
  gzipBytes: number;
}

/** Keeps wrangler from phoning home (update check, metrics) so the run stays on loopback. */
export const WRANGLER_ENV = {
  ...process.env,
  WRANGLER_HIDE_BANNER: 'true',
  WRANGLER_SEND_METRICS: 'false',
  WRANGLER_SEND_ERROR_REPORTS: 'false',
  NO_COLOR: '1',
};

/** Builds `snapshot` (default: the run's snapshot) into `dist` (default: bench/.work/dist). */
export function buildBundle(snapshot: string = SNAPSHOT, dist: string = DIST): BundleFile[] {
  rmSync(dist, { recursive: true, force: true });
  try {
    execFileSync('npx', ['wrangler', 'deploy', '--dry-run', '--outdir', dist], {
      cwd: snapshot,
      env: WRANGLER_ENV,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    const e = error as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`wrangler build failed:\n${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`);
  }
  return readdirSync(dist)
    .filter((name) => !name.endsWith('.map') && name !== 'README.md' && statSync(join(dist, name)).isFile())
    .sort()
    .map((name) => {
      const data = readFileSync(join(dist, name));
      return { name, bytes: data.byteLength, gzipBytes: gzipSync(data, { level: 9 }).byteLength };
    });
}
