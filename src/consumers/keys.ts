// API keys: random, shown once, stored only as their SHA-256 hex. No imports, so the setup script (Node) shares it.

/** The prefix of generated keys, so a leaked one is recognisable (and findable by secret scanners). */
export const KEY_PREFIX = 'ei_';

/** 32 random bytes (256 bits) in base64url: 43 characters. */
export function randomSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** A new key: the prefix and a random secret (46 characters). */
export const newKey = (): string => KEY_PREFIX + randomSecret();

/** The lowercase hex SHA-256 of a key: all that is ever stored. */
export async function keyHash(key: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(key)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}
