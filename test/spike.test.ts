import { SELF } from 'cloudflare:test';
import { expect, it } from 'vitest';
it('runs', async () => {
  const r = await SELF.fetch('http://x/');
  const t = await r.text();
  console.log(t);
  expect(r.status).toBe(200);
});
