import { readFileSync } from 'node:fs';
import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

// Tests use the same demo consumers as `npm run dev`.
process.env.CONSUMER_KEYS = /^CONSUMER_KEYS='(.*)'$/m.exec(readFileSync('.dev.vars.example', 'utf8'))![1]!;

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: './wrangler.toml' },
      // Failing chunks retry at once in tests, so the dead-letter path runs in seconds; files written
      // straight into R2 are seen at once; the chaos test may inject chunk failures; a revoked consumer's key
      // stops working after 1 s, not 30.
      miniflare: { bindings: { BATCH_RETRY_SECONDS: '0', REPOSITORY_TTL_SECONDS: '0', ALLOW_FAULT_INJECTION: 'true', CONSUMER_CACHE_SECONDS: '1' } },
    }),
  ],
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // The Worker's structured request and chunk logs are asserted where they matter, not printed for every test.
    onConsoleLog: (log) => !log.startsWith('{"at":'),
  },
});
