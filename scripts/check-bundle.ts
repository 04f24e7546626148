// The bundle budget: the gzipped Worker from `npm run build` (dist/) must stay under 9 MiB (Workers' paid limit is 10 MB).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const BUDGET = 9 * 1024 * 1024;
const dir = process.argv[2] ?? 'dist';
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MiB`;

// Source maps and wrangler's README are not uploaded as modules.
const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => statSync(join(dir, f)).isFile() && !/\.(map|md)$/.test(f));
let raw = 0;
let gzipped = 0;
for (const file of files) {
  const bytes = readFileSync(join(dir, file));
  raw += bytes.byteLength;
  gzipped += gzipSync(bytes, { level: 9 }).byteLength;
}
console.log(`bundle: ${files.length} modules, ${mib(raw)}, ${mib(gzipped)} gzipped (budget ${mib(BUDGET)})`);
if (gzipped > BUDGET) {
  console.error(`bundle over budget by ${mib(gzipped - BUDGET)}`);
  process.exit(1);
}
