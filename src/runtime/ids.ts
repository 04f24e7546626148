// Hex ids: random ones that cannot be guessed, and digests.
const toHex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

/** 128 random bits as 32 hex digits. */
export const randomId = () => toHex(crypto.getRandomValues(new Uint8Array(16)));

export async function sha256Hex(text: string): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))));
}
