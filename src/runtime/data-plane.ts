// The data plane: the one door through which every pattern resolves a model, holds it while it runs, and releases it.
import { batchingPolicyOf, DynamicBatcher } from './dynamic-batcher';
import { infer, runSession, runTensors, type CarriedState, type HostTensor, type InferenceResult } from './inference';
import { loadModel, type LoadedModel, type ModelInfo } from './loaded-model';
import { ModelCache } from './model-cache';
import { InferenceError, badRequest } from './errors';
import { publicTensors, sequenceSpecOf } from './sequence-batching';
import { ModelRepository, type BundledModel, type IndexEntry, type ModelVersion, type RepositoryFile } from './model-repository';
import { startOrt } from './ort';
import type { InferenceRequest, ModelMetadata } from './protocol';
import { StatsRecorder, type RunTiming, type RuntimeEvents } from './statistics';
import { tritonConfig } from './triton-config';

/** A model held for the length of one piece of work: what it is, and how to run it. */
export interface ModelHandle extends ModelInfo {
  infer(request: InferenceRequest, binary?: (Uint8Array | undefined)[], state?: CarriedState): Promise<InferenceResult>;
  run(inputs: Record<string, HostTensor>, fetches: string[]): Promise<Record<string, HostTensor>>;
}

export interface DataPlaneSettings {
  /** Without a bucket only bundled models are served (e.g. plain workerd). */
  bucket?: R2Bucket;
  bundled: Record<string, BundledModel>;
  /** ONNX bytes kept loaded per isolate. */
  cacheBytes: number;
  /** How long an isolate trusts its view of the bucket. */
  repositoryTtlMs: number;
  /** Whether models whose config asks for dynamic batching get it. */
  batching?: boolean;
  /** Told of cache hits, misses, evictions and loads (the host's metrics); nothing by default. */
  events?: RuntimeEvents;
}

/** Starts ONNX Runtime in this isolate ahead of any model: the host may call it early (src/index.ts does, at load). */
export const startRuntime = (): Promise<void> => startOrt();

/** Counts every run of a held model, success or failure, into the isolate's statistics. */
function handleOf(model: LoadedModel, stats: StatsRecorder, batcher: DynamicBatcher | undefined): ModelHandle {
  const { name, version, config, inputs, outputs } = model;
  const sequence = sequenceSpecOf(config);
  /** Each row of a batched model's first input is one inference, as Triton counts them. */
  const batchOf = (shape: number[] | undefined) => (config.max_batch_size > 0 && shape?.length ? shape[0]! : 1);
  async function counted<T>(batch: number, work: () => Promise<T>, timing: (result: T, totalMs: number) => RunTiming): Promise<T> {
    const started = performance.now();
    try {
      const result = await work();
      const totalMs = performance.now() - started;
      stats.success(name, version, batch, totalMs, timing(result, totalMs));
      return result;
    } catch (error) {
      stats.failure(name, version, performance.now() - started);
      throw error;
    }
  }
  return {
    name,
    version,
    config,
    inputs,
    outputs,
    infer: (request, binary, state) =>
      counted(
        batchOf(request.inputs[0]?.shape),
        async () => {
          // A sequence model's controls come from the sequence: Triton's wording for a request without one.
          if (sequence && !state) throw badRequest(`inference request to model '${name}' must specify a non-zero or non-empty correlation ID (parameters.sequence_id)`);
          return infer(model, request, binary, state, batcher);
        },
        (result) => result,
      ),
    run: (feeds, fetches) => {
      const batch = batchOf(Object.values(feeds)[0]?.shape);
      const timing = (_: unknown, inferMs: number): RunTiming => ({ inputMs: 0, inferMs, outputMs: 0, queueMs: 0, executions: 1, batchSize: batch });
      return counted(batch, () => runTensors(model, feeds, fetches), timing);
    },
  };
}

export class DataPlane {
  readonly #repository: ModelRepository;
  readonly #cache: ModelCache;
  readonly #checked = new Map<string, string>();
  /** One dynamic batcher per loaded version whose config asks for one. */
  readonly #batchers = new WeakMap<LoadedModel, DynamicBatcher | null>();
  /** Inference requests in the isolate per model name, from arrival to answer: what the batcher may still expect. */
  readonly #arrivals = new Map<string, number>();
  readonly #batching: boolean;
  /** What this isolate has counted; the host hands it on to wherever statistics are summed. */
  readonly stats = new StatsRecorder();

  constructor(settings: DataPlaneSettings) {
    this.#repository = new ModelRepository(settings.bucket, settings.bundled, settings.repositoryTtlMs);
    this.#cache = new ModelCache(settings.cacheBytes, undefined, settings.events);
    this.#batching = settings.batching ?? true;
  }

  /**
   * Runs `use` with the model (the latest version when none is given) held: the cache may evict it
   * meanwhile, but its session is released only after `use` settles.
   */
  async hold<T>(name: string, version: string | undefined, use: (model: ModelHandle) => Promise<T>): Promise<T> {
    const resolved = await this.#repository.resolve(name, version);
    return this.#cache.with(resolved, (model) => use(handleOf(model, this.stats, this.#batcherOf(model))));
  }

  /**
   * Marks an inference request to `name` as in the isolate until `work` settles, from before its body is read:
   * the dynamic batcher runs a batch at once when every such request has joined it, and waits (at most its delay) otherwise.
   */
  async arriving<T>(name: string, work: () => Promise<T>): Promise<T> {
    this.#arrivals.set(name, (this.#arrivals.get(name) ?? 0) + 1);
    try {
      return await work();
    } finally {
      const left = this.#arrivals.get(name)! - 1;
      if (left) this.#arrivals.set(name, left);
      else this.#arrivals.delete(name);
    }
  }

  #batcherOf(model: LoadedModel): DynamicBatcher | undefined {
    let batcher = this.#batchers.get(model);
    if (batcher === undefined) {
      const policy = this.#batching ? batchingPolicyOf(model.config) : undefined;
      batcher = policy ? new DynamicBatcher(policy, (feeds, fetches) => runSession(model, feeds, fetches), () => this.#arrivals.get(model.name) ?? 0) : null;
      this.#batchers.set(model, batcher);
    }
    return batcher ?? undefined;
  }

  /** The Open Inference Protocol entry: one request in, one response out. */
  infer(name: string, version: string | undefined, request: InferenceRequest, binary: (Uint8Array | undefined)[] = []): Promise<InferenceResult> {
    return this.hold(name, version, (model) => model.infer(request, binary));
  }

  /** The tensor-level entry for callers inside the server. */
  run(name: string, version: string | undefined, inputs: Record<string, HostTensor>, fetches: string[]): Promise<Record<string, HostTensor>> {
    return this.hold(name, version, (model) => model.run(inputs, fetches));
  }

  /** Loads the model if needed and says what it is; a model that cannot load fails here. */
  describe(name: string, version?: string): Promise<ModelInfo> {
    return this.hold(name, version, async ({ infer: _infer, run: _run, ...info }) => info);
  }

  /** Protocol metadata, with the version that answered. */
  async metadata(name: string, version?: string): Promise<{ version: string; metadata: ModelMetadata }> {
    const model = await this.describe(name, version);
    const versions = await this.#repository.versions(model.name);
    return { version: model.version, metadata: { name: model.name, versions, platform: 'onnx_onnxv1', ...publicTensors(model) } };
  }

  /** Ready means the version resolves and ONNX Runtime can load it. */
  async ready(name: string, version?: string): Promise<{ version: string; ready: boolean }> {
    const resolved = await this.#repository.resolve(name, version);
    const ready = await this.#cache.with(resolved, async () => true).catch(() => false);
    return { version: resolved.version, ready };
  }

  /** Triton's model configuration, with the version that answered. */
  async config(name: string, version?: string): Promise<{ version: string; config: ReturnType<typeof tritonConfig> }> {
    const model = await this.describe(name, version);
    return { version: model.version, config: tritonConfig(model) };
  }

  /** The server is ready once ONNX Runtime is up in this isolate; asking also starts it. */
  serverReady(): Promise<boolean> {
    return startOrt().then(
      () => true,
      () => false,
    );
  }

  /**
   * Triton's repository index. Files synced into R2 bypass the upload route, so a version not yet
   * loaded in this isolate is loaded here: one that fails is UNAVAILABLE with the reason.
   */
  async index(): Promise<IndexEntry[]> {
    const entries = await this.#repository.index();
    for (const entry of entries) {
      if (entry.state !== 'READY') continue;
      const reason = await this.#check(await this.#repository.resolve(entry.name, entry.version));
      if (reason) Object.assign(entry, { state: 'UNAVAILABLE', reason });
    }
    return entries;
  }

  /** The READY versions (all models, one model, or one version), without loading anything: what statistics list. */
  async servedVersions(name?: string, version?: string): Promise<{ name: string; version: string }[]> {
    if (name !== undefined) {
      const resolved = await this.#repository.resolve(name, version);
      if (version !== undefined) return [{ name: resolved.name, version: resolved.version }];
    }
    const index = await this.#repository.index();
    return index.filter((e) => e.state === 'READY' && (name === undefined || e.name === name)).map(({ name, version }) => ({ name, version }));
  }

  async setLoaded(name: string, loaded: boolean): Promise<void> {
    await this.#repository.setLoaded(name, loaded);
    if (!loaded) this.#cache.drop(name);
  }

  has(name: string): Promise<boolean> {
    return this.#repository.has(name);
  }

  /** Writes a model's files (configs and new versions) once ONNX Runtime has proved each new version loads with its config. */
  write(name: string, files: Map<RepositoryFile, Uint8Array>): Promise<string[]> {
    // A candidate is loaded and released at once: it is never served under its own key, so it does not take a cache slot.
    return this.#repository.write(name, files, async (candidate) => {
      const model = await loadModel(candidate, await candidate.bytes());
      await model.session.release();
    });
  }

  /** Why a version cannot load ('' when it can), remembered per exact file and config. */
  async #check(version: ModelVersion): Promise<string> {
    if (version.source === 'bundled') return '';
    let reason = this.#checked.get(version.key);
    if (reason === undefined) {
      reason = await this.#cache.with(version, async () => '').catch((error: unknown) => {
        if (!(error instanceof InferenceError)) throw error;
        return error.message;
      });
      if (this.#checked.size >= 10_000) this.#checked.clear(); // bounded: a file synced again is only checked again
      this.#checked.set(version.key, reason);
    }
    return reason;
  }
}
