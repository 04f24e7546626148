// The model repository: bundled models plus the R2 bucket, both in Triton's layout (<name>/config.pbtxt, <name>/<version>/model.onnx).
import { InferenceError, badRequest, notFound } from './errors';
import { CONFIG_FILES, parseConfigFile, parseModelConfig, type ConfigFile, type ModelConfig } from './model-config';

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
  /** Names this exact model file and config: a changed config or a re-synced file is a new key. */
  key: string;
  source: 'bundled' | 'r2';
  /** Why this version cannot load, found before ONNX Runtime is asked (e.g. its config does not parse). */
  problem?: string;
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
  /** Versions the config's version_policy serves. */
  served: string[];
  unloaded: boolean;
}

/** Files a model folder may hold, relative to `models/<name>/`. */
export type RepositoryFile = ConfigFile | `${string}/model.onnx` | `${string}/${ConfigFile}`;

/** A config as read from one file, or why it could not be read. */
type ConfigRead = { config: ModelConfig; etag: string } | { problem: string; etag: string };

const PREFIX = 'models/';
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const VERSION = /^[1-9][0-9]{0,8}$/;
const MODEL_FILE = 'model.onnx';

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

/** A path under a model's folder that the repository stores: configs and ONNX files, nothing else. */
export function checkRepositoryFile(path: string): RepositoryFile {
  const [first, second, ...rest] = path.split('/');
  if (second === undefined && CONFIG_FILES.includes(first as ConfigFile)) return path as RepositoryFile;
  const ok = rest.length === 0 && VERSION.test(first ?? '') && (second === MODEL_FILE || CONFIG_FILES.includes(second as ConfigFile));
  if (!ok) {
    throw badRequest(`file '${path.slice(0, 80)}' is not one this server stores: config.pbtxt, config.json, <version>/model.onnx or <version>/config.pbtxt (ONNX models only)`);
  }
  return path as RepositoryFile;
}

const byVersion = (a: string, b: string) => Number(a) - Number(b);
const immutable = (name: string, version: string) => new InferenceError(409, `model '${name}' already has version ${version}; versions are immutable, upload a new one`);
const unknownModel = (name: string, what = 'is not found') => notFound(`Request for unknown model: '${name.slice(0, 80)}' ${what}`);

/** Triton's version_policy: which versions serve. Without one every version serves (sessions and jobs pin versions). */
function servedVersions(config: ModelConfig | undefined, versions: string[]): string[] {
  const policy = config?.version_policy;
  if (policy?.latest) return versions.slice(-policy.latest.num_versions);
  if (policy?.specific) return versions.filter((v) => policy.specific!.versions.includes(Number(v)));
  return versions;
}

export class ModelRepository {
  readonly #bundled: Map<string, { config: ModelConfig; versions: Record<string, ArrayBuffer> }>;
  #listing?: { at: number; models: Map<string, ModelEntry> };
  /** Configs read by the last listing, by path: an unchanged etag needs no fetch and no parse. */
  #configs = new Map<string, ConfigRead>();

  constructor(
    private readonly bucket: R2Bucket | undefined,
    bundled: Record<string, BundledModel>,
    /** How long an isolate trusts its view of R2 before listing again. */
    private readonly ttlMs: number,
  ) {
    this.#bundled = new Map(
      Object.entries(bundled).map(([name, model]) => [name, { config: parseModelConfig(model.config, `bundled model '${name}' config`), versions: model.versions }]),
    );
  }

  /** Every model version, bundled and in R2, with its state (Triton's repository index). */
  async index(): Promise<IndexEntry[]> {
    const models = await this.#models();
    return [...models].flatMap(([name, entry]) =>
      [...entry.versions.values()].map((v): IndexEntry => {
        const reason = entry.unloaded
          ? 'unloaded'
          : v.problem
            ? `failed to load '${name}' version ${v.version}: ${v.problem}`
            : entry.served.includes(v.version)
              ? ''
              : 'not served: outside the version_policy';
        return { name, version: v.version, state: reason ? 'UNAVAILABLE' : 'READY', reason };
      }),
    );
  }

  /** The named version, or the latest one the version_policy serves when none is given. */
  async resolve(name: string, version?: string): Promise<ModelVersion> {
    // The hot path: a fresh listing is read without another await.
    const entry = (this.#fresh() ?? (await this.#models())).get(name);
    if (!entry) throw unknownModel(name);
    if (entry.unloaded) throw unknownModel(name, `has no available versions: it is unloaded; load it through POST /v2/repository/models/${name}/load`);
    const wanted = version ?? entry.served.at(-1);
    if (wanted === undefined) throw unknownModel(name, 'has no available versions: its version_policy serves none');
    const found = entry.versions.get(wanted);
    if (!found) throw unknownModel(name, `has no version '${wanted.slice(0, 20)}' (versions: ${[...entry.versions.keys()].join(', ')})`);
    if (!entry.served.includes(wanted)) throw unknownModel(name, `version ${wanted} is not served: its version_policy serves ${entry.served.join(', ') || 'none'}`);
    return found;
  }

  async versions(name: string): Promise<string[]> {
    return (await this.#models()).get(name)?.served ?? [];
  }

  /** Whether the repository (bundled or R2) has a model of this name, loaded or not. */
  async has(name: string): Promise<boolean> {
    return (await this.#models(true)).has(name);
  }

  /**
   * Writes a model's files. Versions are immutable, so anything pinned to one never changes: a file
   * inside an existing version is a 409. `validate` must prove each new version loads (by creating a
   * session with the config it will have) before anything is written.
   */
  async write(name: string, files: Map<RepositoryFile, Uint8Array>, validate: (v: ModelVersion) => Promise<void>): Promise<string[]> {
    checkModelName(name);
    const bucket = this.#requireBucket();
    const entry = (await this.#models(true)).get(name);
    const newVersions = new Set<string>();
    for (const path of files.keys()) {
      const version = path.includes('/') ? path.split('/')[0]! : undefined;
      if (version === undefined) continue;
      if (entry?.versions.has(version)) throw immutable(name, version);
      newVersions.add(version);
    }
    for (const version of newVersions) if (!files.has(`${version}/${MODEL_FILE}`)) throw badRequest(`version ${version} of '${name}' has no ${MODEL_FILE}`);

    const modelConfig = this.#configFrom(name, files, '') ?? this.#latestConfig(name, entry);
    const candidates: ModelVersion[] = [...newVersions].map((version) => {
      const bytes = files.get(`${version}/${MODEL_FILE}`)!;
      const config = this.#configFrom(name, files, `${version}/`) ?? modelConfig;
      return { name, version, config, size: bytes.byteLength, key: `candidate:${crypto.randomUUID()}`, source: 'r2', bytes: async () => bytes };
    });
    // A new model-level config must also fit the versions already there.
    if (newVersions.size === 0 && entry) {
      const latest = entry.versions.get(entry.served.at(-1) ?? '');
      if (latest) candidates.push({ ...latest, config: modelConfig, key: `candidate:${crypto.randomUUID()}` });
    }
    for (const candidate of candidates) await validate(candidate);

    // Each version commits with one conditional write of its model file: of concurrent uploads of the
    // same version exactly one wins, and nothing of a loser (its configs) is written.
    for (const version of [...newVersions].sort(byVersion)) {
      const committed = await bucket.put(`${PREFIX}${name}/${version}/${MODEL_FILE}`, files.get(`${version}/${MODEL_FILE}`)!, { onlyIf: { etagDoesNotMatch: '*' } });
      if (!committed) throw immutable(name, version);
      await this.#writeConfig(name, `${version}/`, files);
    }
    await this.#writeConfig(name, '', files);
    this.#listing = undefined;
    return [...newVersions].sort(byVersion);
  }

  /** Writes the folder's config if the upload carries one; one config per folder, so writing one kind removes the other. */
  async #writeConfig(name: string, folder: string, files: Map<RepositoryFile, Uint8Array>): Promise<void> {
    for (const file of CONFIG_FILES) {
      const bytes = files.get(`${folder}${file}` as RepositoryFile);
      if (!bytes) continue;
      await this.bucket!.put(`${PREFIX}${name}/${folder}${file}`, bytes);
      await this.bucket!.delete(`${PREFIX}${name}/${folder}${CONFIG_FILES.find((f) => f !== file)}`);
    }
  }

  async setLoaded(name: string, loaded: boolean): Promise<void> {
    const bucket = this.#requireBucket();
    if (!(await this.#models(true)).has(name)) throw unknownModel(name);
    const key = `${PREFIX}${name}/unloaded`;
    await (loaded ? bucket.delete(key) : bucket.put(key, ''));
    this.#listing = undefined;
  }

  /** The config a write carries for a folder ('' for the model, '<v>/' for a version), parsed; a bad one is a 400. */
  #configFrom(name: string, files: Map<RepositoryFile, Uint8Array>, folder: string): ModelConfig | undefined {
    for (const file of CONFIG_FILES) {
      const bytes = files.get(`${folder}${file}` as RepositoryFile);
      if (bytes) return parseConfigFile(file, new TextDecoder().decode(bytes), `model '${name}' ${folder}${file}`);
    }
    return undefined;
  }

  /** What a version uploaded without a config gets: the latest version's config, else the defaults. */
  #latestConfig(name: string, entry: ModelEntry | undefined): ModelConfig {
    const latest = entry && [...entry.versions.values()].at(-1);
    return latest?.config ?? this.#bundled.get(name)?.config ?? parseModelConfig({}, 'config');
  }

  #requireBucket(): R2Bucket {
    if (!this.bucket) throw new InferenceError(503, 'no model bucket is bound (MODELS): only bundled models are served');
    return this.bucket;
  }

  /**
   * The listing, read again when stale. Only the finished listing is shared: a promise of R2 reads
   * awaited by another request would resume in this request's I/O context, which Workers forbid.
   */
  async #models(fresh = false): Promise<Map<string, ModelEntry>> {
    const listing = fresh ? undefined : this.#fresh();
    if (listing) return listing;
    const models = await this.#list();
    this.#listing = { at: Date.now(), models };
    return models;
  }

  #fresh(): Map<string, ModelEntry> | undefined {
    return this.#listing && Date.now() - this.#listing.at <= this.ttlMs ? this.#listing.models : undefined;
  }

  async #list(): Promise<Map<string, ModelEntry>> {
    const objects = new Map<string, R2Object>();
    let cursor: string | undefined;
    while (this.bucket) {
      const page = await this.bucket.list({ prefix: PREFIX, cursor });
      for (const object of page.objects) objects.set(object.key.slice(PREFIX.length), object);
      if (!page.truncated) break;
      cursor = page.cursor;
    }
    // Each model's files, found in one pass over the listing.
    const byModel = new Map<string, Map<string, R2Object>>([...this.#bundled.keys()].map((name) => [name, new Map()]));
    for (const [path, object] of objects) {
      const slash = path.indexOf('/');
      if (slash <= 0) continue; // not inside a model folder
      const name = path.slice(0, slash);
      if (!byModel.has(name)) byModel.set(name, new Map());
      byModel.get(name)!.set(path.slice(name.length + 1), object);
    }
    const configs = new Map<string, ConfigRead>();
    const models = new Map<string, ModelEntry>();
    await Promise.all(
      [...byModel].map(async ([name, files]) => {
        const entry = await this.#entry(name, files, configs);
        if (entry.versions.size) models.set(name, entry);
      }),
    );
    this.#configs = configs;
    return new Map([...models].sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  /** One model: bundled versions, then R2 versions; each version's config is its own, else the model's, else the bundle's. */
  async #entry(name: string, files: Map<string, R2Object>, configs: Map<string, ConfigRead>): Promise<ModelEntry> {
    const bundled = this.#bundled.get(name);
    const readConfig = (folder: string) => this.#readConfig(name, folder, files, configs);
    const modelConfig = await readConfig('');
    const base: ConfigRead = modelConfig ?? { config: bundled?.config ?? parseModelConfig({}, 'config'), etag: 'bundled' };
    const versions = new Map<string, ModelVersion>();
    for (const [version, buffer] of Object.entries(bundled?.versions ?? {})) {
      versions.set(version, this.#version(name, version, base, buffer.byteLength, 'bundled', async () => new Uint8Array(buffer)));
    }
    for (const [path, object] of files) {
      const [version, file] = path.split('/');
      if (file !== MODEL_FILE || !VERSION.test(version ?? '')) continue;
      const read = (await readConfig(`${version}/`)) ?? base;
      versions.set(version!, this.#version(name, version!, read, object.size, object.etag, async () => this.#bytes(name, version!)));
    }
    const sorted = [...versions.keys()].sort(byVersion);
    const policy = 'config' in base ? base.config : undefined;
    return {
      versions: new Map(sorted.map((v) => [v, versions.get(v)!])),
      served: servedVersions(policy, sorted),
      unloaded: files.has('unloaded'),
    };
  }

  #version(name: string, version: string, read: ConfigRead, size: number, etag: string, bytes: () => Promise<Uint8Array>): ModelVersion {
    const common = { name, version, size, key: `${name}@${version}#${etag}:${read.etag}`, source: etag === 'bundled' ? ('bundled' as const) : ('r2' as const), bytes };
    if ('problem' in read) return { ...common, config: parseModelConfig({}, 'config'), problem: read.problem };
    return { ...common, config: read.config };
  }

  /** A folder's config; one already read with the same etag is not fetched or parsed again. */
  async #readConfig(name: string, folder: string, files: Map<string, R2Object>, configs: Map<string, ConfigRead>): Promise<ConfigRead | undefined> {
    const file = CONFIG_FILES.find((f) => files.has(`${folder}${f}`));
    if (!file) return undefined;
    const key = `${name}/${folder}${file}`;
    const known = this.#configs.get(key);
    if (known?.etag === files.get(`${folder}${file}`)!.etag) {
      configs.set(key, known);
      return known;
    }
    const object = await this.bucket!.get(`${PREFIX}${key}`);
    if (!object) return undefined;
    let read: ConfigRead;
    try {
      read = { config: parseConfigFile(file, await object.text(), `${folder}${file}`), etag: object.etag };
    } catch (error) {
      if (!(error instanceof InferenceError)) throw error;
      read = { problem: error.message, etag: object.etag };
    }
    configs.set(key, read);
    return read;
  }

  async #bytes(name: string, version: string): Promise<Uint8Array> {
    const object = await this.bucket!.get(`${PREFIX}${name}/${version}/${MODEL_FILE}`);
    if (!object) throw unknownModel(name, `version ${version} was removed from the repository`);
    return new Uint8Array(await object.arrayBuffer());
  }
}
