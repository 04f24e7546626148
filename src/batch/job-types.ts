// What a job object is sent, what it answers, and what it stores. Its answer is a zod schema so that
// the API document is generated from the same definition as the type.
import { z } from 'zod';
import type { Format } from './formats';

export const jobStateSchema = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']);
export type JobState = z.infer<typeof jobStateSchema>;

/** One input file of a job: what its chunks read and how. */
export interface InputFile {
  key: string;
  /** What chunks read when it is not the file itself: the uncompressed copy of a gzip input. */
  readKey?: string;
  /** Bytes of what chunks read. */
  size: number;
  format: Format;
  gzip: boolean;
  header: string[];
}

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
  /** Input columns (CSV) or fields (JSON Lines) copied into each result. */
  carry?: string[];
  /** How results are written: JSON Lines (default) or CSV with a header. */
  output?: 'jsonl' | 'csv';
  /** Top-k label strings for the classifier output, as Triton's classification extension gives online. */
  classification?: number;
  /** A job over a prefix: its files, in key order (`inputKey` is then the prefix). */
  files?: InputFile[];
  /** CSV output's header row: line, id, carried columns, then one column per model output. */
  csvHeader?: string[];
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

/** The files a job reads: its `files`, or its one input. */
export const inputFiles = (spec: JobSpec): InputFile[] =>
  spec.files ?? [{ key: spec.inputKey, ...(spec.readKey && { readKey: spec.readKey }), size: spec.size, format: spec.format, gzip: spec.gzip, header: spec.header }];

export interface ChunkWork {
  spec: JobSpec;
  /** The file this chunk is part of. */
  file: InputFile;
  start: number;
  end: number;
  /** File line number of the chunk's first owned line (score pass). */
  firstLine: number;
  outputPrefix: string;
}

export const jobStatusSchema = z.object({
  id: z.string(),
  url: z.string(),
  state: jobStateSchema,
  reason: z.string().optional(),
  model: z.string(),
  model_version: z.string(),
  /** The input file, or for a job over a prefix the prefix. */
  input: z.string(),
  /** Files a job over a prefix reads. */
  files: z.int().optional(),
  format: z.enum(['csv', 'jsonl']),
  gzip: z.boolean(),
  /** The options the job runs with. */
  options: z.object({
    id_column: z.string(),
    carry: z.array(z.string()).optional(),
    output_format: z.enum(['jsonl', 'csv']),
    classification: z.int().optional(),
  }),
  records: z.object({
    ok: z.int(),
    failed: z.int(),
    /** ok + failed: scored so far, errors included. */
    done: z.int(),
    /** Records in the input, once every chunk has been counted (a one-chunk job knows it when done). */
    total: z.int().optional(),
  }),
  chunks: z.object({
    done: z.int(),
    total: z.int(),
    chunk_bytes: z.int(),
    /** Chunks by state: waiting for their line count, waiting to be scored, done; and those whose last attempt threw. */
    states: z.object({ counting: z.int(), scoring: z.int(), done: z.int(), retrying: z.int() }),
  }),
  /** Percent of chunks done. */
  progress: z.number(),
  /** Records scored per second since the job started (until it finished). */
  rows_per_second: z.number(),
  /** Seconds left at that rate, once the total is known and while the job runs. */
  eta_seconds: z.number().optional(),
  output: z.string(),
  created_at: z.iso.datetime(),
  started_at: z.iso.datetime().optional(),
  finished_at: z.iso.datetime().optional(),
});
export type JobStatus = z.infer<typeof jobStatusSchema>;

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
  file: number;
  start: number;
  end: number;
  lines: number | null;
  first_line: number | null;
  done: number;
  ok: number;
  failed: number;
  last_error: string | null;
}
