// Errors cross the Durable Object RPC boundary as values, so their HTTP status survives.
import { InferenceError, type ErrorStatus } from './errors';

export type Outcome<T> = { ok: true; value: T } | { ok: false; status: ErrorStatus; message: string };

/** Inside an object: runs `work`, turning an InferenceError into a failed outcome. */
export async function outcome<T>(work: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    if (error instanceof InferenceError) return { ok: false, status: error.status, message: error.message };
    throw error;
  }
}

/** In the Worker: the value, or the object's error rethrown with its status. */
export function unwrap<T>(result: Outcome<T>): T {
  if (!result.ok) throw new InferenceError(result.status, result.message);
  return result.value;
}
