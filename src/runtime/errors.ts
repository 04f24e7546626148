// The one error type: thrown anywhere with an HTTP status, mapped once to {"error": "..."}.
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 410 | 411 | 413 | 415 | 422 | 429 | 500 | 503;

export class InferenceError extends Error {
  override readonly name = 'InferenceError';
  constructor(
    readonly status: ErrorStatus,
    message: string,
    /** Sent as Retry-After (a 429 or 503 that will pass). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

export const badRequest = (message: string) => new InferenceError(400, message);
export const notFound = (message: string) => new InferenceError(404, message);
