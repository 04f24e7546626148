// What a sequence object is sent and what it stores.
import type { InferenceRequest } from '../runtime/protocol';

export interface SequenceCall {
  model: string;
  /** The version in the URL, if any; a sequence keeps the version it started with. */
  version?: string;
  sequenceId: string | number;
  start: boolean;
  end: boolean;
  request: InferenceRequest;
  binary: (Uint8Array | undefined)[];
}

export interface SequenceRow extends Record<string, SqlStorageValue> {
  version: string;
  /** The model config the sequence started with, as JSON. */
  config: string;
  last_active: number;
  idle_timeout: number;
}

export interface StateRow extends Record<string, SqlStorageValue> {
  name: string;
  datatype: string;
  shape: string;
  bytes: ArrayBuffer;
}
