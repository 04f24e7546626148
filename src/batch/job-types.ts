// What a job object is sent, what it answers, and what it stores.
import type { Format } from './formats';

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface JobSpec {
  id: string;
  consumer: string;
  model: string;
  version: string;
  inputKey: string;
  /** What chunks read when it is not the input itself: the uncompressed copy of a gzip input. */
  readKey?: string;
  /** Bytes of what chunks read. */
  size: number;
  format: Format;
  gzip: boolean;
  header: string[];
  idColumn?: string;
  chunkBytes: number;
  /** Chaos testing: chance that a chunk delivery fails on purpose, on its first two attempts. */
  faultRate?: number;
}

/** What a chunk message carries: the job's object name, the chunk, and which pass. Far below the 128 KB limit. */
export interface ChunkMessage {
  job: string;
  chunk: number;
  phase: 'count' | 'score';
}

export interface ChunkWork {
  spec: JobSpec;
  start: number;
  end: number;
  /** File line number of the chunk's first owned line (score pass). */
  firstLine: number;
  outputPrefix: string;
}

export interface JobStatus {
  id: string;
  url: string;
  state: JobState;
  reason?: string;
  model: string;
  model_version: string;
  input: string;
  format: Format;
  gzip: boolean;
  records: { ok: number; failed: number };
  chunks: { done: number; total: number; chunk_bytes: number };
  progress: number;
  output: string;
  created_at: string;
  started_at?: string;
  finished_at?: string;
}

export interface JobRow extends Record<string, SqlStorageValue> {
  spec: string;
  state: JobState;
  reason: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
}

export interface ChunkRow extends Record<string, SqlStorageValue> {
  idx: number;
  start: number;
  end: number;
  lines: number | null;
  first_line: number | null;
  done: number;
  ok: number;
  failed: number;
  last_error: string | null;
}
