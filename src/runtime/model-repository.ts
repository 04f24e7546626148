// The model repository: bundled models plus versions uploaded to R2, in Triton's name/version layout.
import { InferenceError, badRequest, notFound } from './errors';
import { modelConfigSchema, type ModelConfig } from './model-config';
import { describeIssues } from './protocol';

/** A model as shipped inside the Worker bundle: one config, ONNX bytes per version. */
export interface BundledModel {
  config: unknown;
  versions: Record<string, ArrayBuffer>;
}

export interface ModelVersion {
  name: string;
  version: string;
  config: ModelConfig;
  /** Size of the ONNX file in bytes. */
  size: number;
  source: 'bundled' | 'r2';
  bytes(): Promise<Uint8Array>;
}

export interface IndexEntry {
  name: string;
  version: string;
  state: 'READY' | 'UNAVAILABLE';
  reason: string;
}

interface ModelEntry {
  versions: Map<string, ModelVersion>;
  unloaded: boolean;
}

// R2 layout: <prefix><name>/<version>/model.onnx, <prefix><name>/<version>/config.json, <prefix><name>/unloaded
const PREFIX = 'models/';
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const VERSION = /^[1-9][0-9]{0,8}$/;

export function checkModelName(name: string): string {
  if (!NAME.test(name)) throw badRequest(`model name '${name.slice(0, 80)}' must be 1-64 letters, digits, '_', '.' or '-'`);
  return name;
}

/** A version as given in a path or body; an absent one stays absent (the latest serves). */
export function checkVersion(version: string): string;
export function checkVersion(version: string | undefined): string | undefined;
export function checkVersion(version: string | undefined): string | undefined {
  if (version !== undefined && !VERSION.test(version)) throw badRequest(`model version '${version.slice(0, 20)}' must be a positive integer`);
  return version;
}

export function parseModelConfig(raw: unknown, where: string): ModelConfig {
  const parsed = modelConfigSchema.safeParse(raw);
  if (!parsed.success) throw badRequest(`${where}: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

const byVersion = (a: string, b: string) => Number(a) - Number(b);

export class ModelRepository {
  #bundled: Map<string, ModelEntry>;
  #listing?: { at: number; models: Promise<Map<string, ModelEntry>> };

  constructor(
    private readonly bucket: R2Bucket | undefined,
    bundled: Record<string, BundledModel>,
    /** How long an isolate trusts its view of R2 before listing again. */
    private readonly ttlMs: number,
  ) {
    this.#bundled = new Map(
      Object.entries(bundled).map(([name, model]) => {
        const config = parseModelConfig(model.config, `bundled model '${name}' config`);
        const versions = Object.entries(model.versions).map(([version, buffer]): [string, ModelVersion] => [
          version,
          { name, version, config, size: buffer.byteLength, source: 'bundled', bytes: async () => new Uint8Array(buffer) },
        ]);
        return [name, { versions: new Map(versions), unloaded: false }];
      }),
    );
  }

  /** Every model version, bundled and uploaded, with its state (Triton's repository index). */
  async index(): Promise<IndexEntry[]> {
    const models = await this.#models();
    return [...models].flatMap(([name, entry]) =>
      [...entry.versions.keys()].sort(byVersion).map((version) => ({
        name,
        version,
        state: entry.unloaded ? ('UNAVAILABLE' as const) : ('READY' as const),
        reason: entry.unloaded ? 'unloaded' : '',
      })),
    );
  }

  /** The named version, or the latest when none is given. */
  async resolve(name: string, version?: string): Promise<ModelVersion> {
    const entry = (await this.#models()).get(name);
    if (!entry) throw notFound(`model '${name.slice(0, 80)}' not found`);
    if (entry.unloaded) throw notFound(`model '${name}' is unloaded; load it through POST /v2/repository/models/${name}/load`);
    const wanted = version ?? this.versionsOf(entry).at(-1)!;
    const found = entry.versions.get(wanted);
    if (!found) throw notFound(`model '${name}' has no version '${wanted.slice(0, 20)}' (versions: ${this.versionsOf(entry).join(', ')})`);
    return found;
  }

  async versions(name: string): Promise<string[]> {
    const entry = (await this.#models()).get(name);
    return entry ? this.versionsOf(entry) : [];
  }

  /**
   * Stores a new version in R2. Versions are immutable, so a session pinned to one never changes.
   * `validate` must prove the bytes load (by creating a session) before anything is written.
   */
  async upload(name: string, version: string, bytes: Uint8Array, config: ModelConfig | undefined, validate: (v: ModelVersion) => Promise<void>): Promise<ModelVersion> {
    checkModelName(name);
    checkVersion(version);
    const bucket = this.#requireBucket();
    const entry = (await this.#models(true)).get(name);
    if (entry?.versions.has(version)) {
      throw new InferenceError(409, `model '${name}' already has version ${version}; versions are immutable, upload a new one`);
    }
    const inherited = entry && [...entry.versions.values()].sort((a, b) => byVersion(a.version, b.version)).at(-1)?.config;
    const resolved = config ?? inherited ?? parseModelConfig({}, 'config');
    const candidate: ModelVersion = { name, version, config: resolved, size: bytes.byteLength, source: 'r2', bytes: async () => bytes };
    await validate(candidate);
    await bucket.put(`${PREFIX}${name}/${version}/config.json`, JSON.stringify(resolved));
    await bucket.put(`${PREFIX}${name}/${version}/model.onnx`, bytes);
    this.#listing = undefined;
    return candidate;
  }

  async setLoaded(name: string, loaded: boolean): Promise<void> {
    const bucket = this.#requireBucket();
    if (!(await this.#models(true)).has(name)) throw notFound(`model '${name.slice(0, 80)}' not found`);
    const key = `${PREFIX}${name}/unloaded`;
    await (loaded ? bucket.delete(key) : bucket.put(key, ''));
    this.#listing = undefined;
  }

  #requireBucket(): R2Bucket {
    if (!this.bucket) throw new InferenceError(503, 'no model bucket is bound (MODELS): only bundled models are served');
    return this.bucket;
  }

  private versionsOf(entry: ModelEntry): string[] {
    return [...entry.versions.keys()].sort(byVersion);
  }

  #models(fresh = false): Promise<Map<string, ModelEntry>> {
    const now = Date.now();
    if (fresh || !this.#listing || now - this.#listing.at > this.ttlMs) {
      const models = this.#list();
      this.#listing = { at: now, models };
      models.catch(() => (this.#listing = undefined));
    }
    return this.#listing.models;
  }

  async #list(): Promise<Map<string, ModelEntry>> {
    const models = new Map<string, ModelEntry>();
    for (const [name, entry] of this.#bundled) models.set(name, { versions: new Map(entry.versions), unloaded: false });
    const files = new Map<string, number>();
    const bucket = this.bucket;
    if (!bucket) return models;
    let cursor: string | undefined;
    do {
      const page = await bucket.list({ prefix: PREFIX, cursor });
      for (const object of page.objects) files.set(object.key.slice(PREFIX.length), object.size);
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);

    const entryOf = (name: string) => {
      let entry = models.get(name);
      if (!entry) models.set(name, (entry = { versions: new Map(), unloaded: false }));
      return entry;
    };
    const uploads: Promise<void>[] = [];
    for (const [path, size] of files) {
      const [name, version, file] = path.split('/');
      if (!name) continue;
      if (version === 'unloaded' && file === undefined) entryOf(name).unloaded = true;
      if (version && file === 'model.onnx' && VERSION.test(version)) uploads.push(this.#uploaded(entryOf(name), name, version, size));
    }
    await Promise.all(uploads);
    for (const [name, entry] of models) if (entry.versions.size === 0) models.delete(name);
    return models;
  }

  async #uploaded(entry: ModelEntry, name: string, version: string, size: number): Promise<void> {
    const base = `${PREFIX}${name}/${version}`;
    const bucket = this.bucket!;
    const stored = await bucket.get(`${base}/config.json`);
    const config = parseModelConfig(stored ? await stored.json() : {}, `model '${name}' version ${version} config`);
    entry.versions.set(version, {
      name,
      version,
      config,
      size,
      source: 'r2',
      async bytes() {
        const object = await bucket.get(`${base}/model.onnx`);
        if (!object) throw notFound(`model '${name}' version ${version} was removed from the repository`);
        return new Uint8Array(await object.arrayBuffer());
      },
    });
  }
}
