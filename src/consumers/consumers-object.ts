// The consumer registry: one object holding every consumer an admin added at run time. Only SHA-256 hashes of keys
// are stored; a revoked consumer keeps its row (with revoked_at) so the listing shows who had access and when.
import { DurableObject } from 'cloudflare:workers';
import { z } from 'zod';
import { InferenceError } from '../runtime/errors';
import { outcome, type Outcome } from '../runtime/outcome';

/** A consumer as admins see it: never its key or hash. `registry`: added with POST /v2/consumers; `secret`: a bootstrap consumer from CONSUMER_KEYS. */
export const consumerListingSchema = z.object({
  consumer: z.string(),
  admin: z.boolean(),
  tier: z.string(),
  source: z.enum(['registry', 'secret']),
  created_at: z.iso.datetime().nullable(),
  revoked_at: z.iso.datetime().nullable(),
});
export type ConsumerListing = z.infer<typeof consumerListingSchema>;

/** What auth needs of an active consumer, keyed by the hash of its key. */
export interface ActiveConsumer {
  hash: string;
  id: string;
  admin: boolean;
  tier: string;
}

interface Row extends Record<string, SqlStorageValue> {
  id: string;
  key_hash: string;
  admin: number;
  tier: string;
  created_at: string;
  revoked_at: string | null;
}

const listing = (r: Row): ConsumerListing => ({
  consumer: r.id,
  admin: r.admin === 1,
  tier: r.tier,
  source: 'registry',
  created_at: r.created_at,
  revoked_at: r.revoked_at,
});

export class ConsumersObject extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(
      `CREATE TABLE IF NOT EXISTS consumers (
        id TEXT PRIMARY KEY, key_hash TEXT NOT NULL UNIQUE, admin INTEGER NOT NULL, tier TEXT NOT NULL,
        created_at TEXT NOT NULL, revoked_at TEXT)`,
    );
  }

  /**
   * Adds a consumer, or re-issues a revoked one (a new key for the same identity, so its sessions and jobs stay
   * its own). An active consumer with the id is a 409. The object runs one call at a time, so the check holds.
   */
  async add(consumer: { id: string; keyHash: string; admin: boolean; tier: string }): Promise<Outcome<ConsumerListing>> {
    return outcome(async () => {
      const existing = this.row(consumer.id);
      if (existing && existing.revoked_at === null) throw new InferenceError(409, `consumer '${consumer.id}' already exists`);
      const created = new Date().toISOString();
      this.ctx.storage.sql.exec(
        'INSERT OR REPLACE INTO consumers (id, key_hash, admin, tier, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, NULL)',
        consumer.id,
        consumer.keyHash,
        consumer.admin ? 1 : 0,
        consumer.tier,
        created,
      );
      return listing(this.row(consumer.id)!);
    });
  }

  /** Revokes an active consumer: its key stops working once each isolate's cache expires. */
  async revoke(id: string): Promise<Outcome<ConsumerListing>> {
    return outcome(async () => {
      const existing = this.row(id);
      if (!existing || existing.revoked_at !== null) throw new InferenceError(404, `consumer '${id}' not found (or already revoked)`);
      this.ctx.storage.sql.exec('UPDATE consumers SET revoked_at = ? WHERE id = ?', new Date().toISOString(), id);
      return listing(this.row(id)!);
    });
  }

  /** Every consumer, revoked ones included, oldest first. */
  list(): ConsumerListing[] {
    return this.ctx.storage.sql.exec<Row>('SELECT * FROM consumers ORDER BY created_at, id').toArray().map(listing);
  }

  /** The active consumers by key hash: what the Worker's per-isolate cache holds. */
  active(): ActiveConsumer[] {
    return this.ctx.storage.sql
      .exec<Row>('SELECT * FROM consumers WHERE revoked_at IS NULL')
      .toArray()
      .map((r) => ({ hash: r.key_hash, id: r.id, admin: r.admin === 1, tier: r.tier }));
  }

  private row(id: string): Row | undefined {
    return this.ctx.storage.sql.exec<Row>('SELECT * FROM consumers WHERE id = ?', id).toArray()[0];
  }
}

/** The one registry object. */
export const consumersStub = (env: Env) => env.CONSUMERS.get(env.CONSUMERS.idFromName('registry'));
