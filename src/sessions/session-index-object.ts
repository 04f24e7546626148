// One object per consumer: the list of that consumer's open sessions.
import { DurableObject } from 'cloudflare:workers';
import type { SessionListing } from './session-types';

export class SessionIndexObject extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(
      'CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, model TEXT NOT NULL, model_version TEXT NOT NULL, created_at TEXT NOT NULL)',
    );
  }

  add(session: SessionListing): void {
    this.ctx.storage.sql.exec(
      'INSERT OR REPLACE INTO sessions (id, model, model_version, created_at) VALUES (?, ?, ?, ?)',
      session.id,
      session.model,
      session.model_version,
      session.created_at,
    );
  }

  remove(id: string): void {
    this.ctx.storage.sql.exec('DELETE FROM sessions WHERE id = ?', id);
  }

  list(): SessionListing[] {
    return this.ctx.storage.sql.exec<Record<string, string>>('SELECT id, model, model_version, created_at FROM sessions ORDER BY created_at, id').toArray() as unknown as SessionListing[];
  }
}

export const indexStub = (env: Env, consumer: string) => env.SESSION_INDEX.get(env.SESSION_INDEX.idFromName(consumer));
