// Stream tickets: what a browser presents instead of its key to open a sequence's WebSocket (browsers cannot set
// Authorization on one). An authenticated POST asks the sequence's object to issue one; the object keeps only the
// SHA-256 of its secret, and taking it out again is one synchronous SELECT + DELETE in that object: single use, race-free.
import { randomSecret } from '../consumers/keys';
import { InferenceError } from '../runtime/errors';
import { sha256Hex } from '../runtime/ids';

/** A ticket opens a stream within this many seconds of its issue, or never. */
export const TICKET_SECONDS = 60;
/** Unused, unexpired tickets one sequence may hold: a client cannot grow an object's storage by asking for more. */
const MAX_OPEN_TICKETS = 8;

/** What a ticket was issued for: the stream it opens may drive only this. */
export interface TicketGrant {
  consumer: string;
  model: string;
  /** The version in the ticket request's URL, if any (as for /infer, without one the latest at the first chunk serves). */
  version?: string;
  sequenceId: string;
}

interface TicketRow extends Record<string, SqlStorageValue> {
  hash: string;
  consumer: string;
  model: string;
  version: string | null;
  sequence_id: string;
  expires_at: number;
}

/**
 * A ticket is `<object id>.<secret>`: the object id (64 hex) names the Durable Object that holds it, since the stream
 * request carries no key to derive the consumer from; the secret is 256 random bits (43 base64url characters).
 */
const TICKET = /^([0-9a-f]{64})\.([A-Za-z0-9_-]{43})$/;

export function parseTicket(ticket: string): { objectId: string; secret: string } | undefined {
  const match = TICKET.exec(ticket);
  return match ? { objectId: match[1]!, secret: match[2]! } : undefined;
}

/** The tickets of one sequence object, in its SQLite storage (a table that exists only while it holds any). */
export class TicketStore {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  #exists(): boolean {
    return this.#sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ticket'").toArray().length > 0;
  }

  async issue(grant: TicketGrant, now = Date.now()): Promise<{ secret: string; expiresAt: number }> {
    const secret = randomSecret();
    const hash = await sha256Hex(secret);
    // From here on synchronous: the count and the insert cannot interleave with another call.
    this.nextExpiry(now);
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS ticket (hash TEXT PRIMARY KEY, consumer TEXT NOT NULL, model TEXT NOT NULL,
      version TEXT, sequence_id TEXT NOT NULL, expires_at INTEGER NOT NULL)`);
    const open = this.#sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM ticket').one().n;
    if (open >= MAX_OPEN_TICKETS) {
      throw new InferenceError(429, `sequence ${JSON.stringify(grant.sequenceId)} already has ${open} unused stream tickets; use one or wait ${TICKET_SECONDS} s`, TICKET_SECONDS);
    }
    const expiresAt = now + TICKET_SECONDS * 1000;
    this.#sql.exec(
      'INSERT INTO ticket (hash, consumer, model, version, sequence_id, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
      hash,
      grant.consumer,
      grant.model,
      grant.version ?? null,
      grant.sequenceId,
      expiresAt,
    );
    return { secret, expiresAt };
  }

  /** Takes a ticket out: whatever happens next, the same secret never works again. Undefined when unknown or expired. */
  async consume(secret: string, now = Date.now()): Promise<TicketGrant | undefined> {
    const hash = await sha256Hex(secret);
    if (!this.#exists()) return undefined;
    const row = this.#sql.exec<TicketRow>('SELECT * FROM ticket WHERE hash = ?', hash).toArray()[0];
    this.#sql.exec('DELETE FROM ticket WHERE hash = ?', hash);
    this.nextExpiry(now);
    if (!row || row.expires_at <= now) return undefined;
    return { consumer: row.consumer, model: row.model, ...(row.version !== null && { version: row.version }), sequenceId: row.sequence_id };
  }

  /** Drops expired tickets (and the table once none is left); when the earliest of the others expires. */
  nextExpiry(now = Date.now()): number | undefined {
    if (!this.#exists()) return undefined;
    this.#sql.exec('DELETE FROM ticket WHERE expires_at <= ?', now);
    const next = this.#sql.exec<{ at: number | null }>('SELECT MIN(expires_at) AS at FROM ticket').one().at;
    if (next === null) this.#sql.exec('DROP TABLE ticket');
    return next ?? undefined;
  }
}
