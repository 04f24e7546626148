// Builds the web console: bundles console/main.ts (and the typed client it imports) with esbuild into
// public/app/, and copies Scalar's standalone API reference there for /docs. wrangler.toml's [build]
// runs it before `wrangler dev` and `wrangler deploy`; `npm run build:console` runs it alone.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = join(ROOT, 'public', 'app');

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });

const result = await build({
  absWorkingDir: ROOT,
  entryPoints: { main: 'console/main.ts' },
  outdir: OUT,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
  minify: true,
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
});

// Resolved as a module, so a copy of the project (the benchmarks' snapshot) finds it in the project's node_modules too.
copyFileSync(createRequire(import.meta.url).resolve('@scalar/api-reference/browser/standalone.js'), join(OUT, 'scalar.js'));

const bytes = Object.entries(result.metafile.outputs)
  .filter(([file]) => file.endsWith('.js'))
  .reduce((sum, [, output]) => sum + output.bytes, 0);
console.log(`console: public/app/main.js (${(bytes / 1024).toFixed(1)} KiB) and public/app/scalar.js`);
