// The data plane: the one door through which every pattern resolves a model, holds it while it runs, and releases it.
import { infer, runTensors, type CarriedState, type HostTensor, type InferenceResult } from './inference';
import type { LoadedModel, ModelInfo } from './loaded-model';
import { ModelCache } from './model-cache';
import type { ModelConfig } from './model-config';
import { ModelRepository, type BundledModel, type IndexEntry } from './model-repository';
import { startOrt } from './ort';
import type { InferenceRequest, ModelMetadata } from './protocol';
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
}

function handleOf(model: LoadedModel): ModelHandle {
  const { name, version, config, inputs, outputs } = model;
  return {
    name,
    version,
    config,
    inputs,
    outputs,
    infer: (request, binary, state) => infer(model, request, binary, state),
    run: (feeds, fetches) => runTensors(model, feeds, fetches),
  };
}

export class DataPlane {
  readonly #repository: ModelRepository;
  readonly #cache: ModelCache;

  constructor(settings: DataPlaneSettings) {
    this.#repository = new ModelRepository(settings.bucket, settings.bundled, settings.repositoryTtlMs);
    this.#cache = new ModelCache(settings.cacheBytes);
  }

  /**
   * Runs `use` with the model (the latest version when none is given) held: the cache may evict it
   * meanwhile, but its session is released only after `use` settles.
   */
  async hold<T>(name: string, version: string | undefined, use: (model: ModelHandle) => Promise<T>): Promise<T> {
    const resolved = await this.#repository.resolve(name, version);
    return this.#cache.with(resolved, (model) => use(handleOf(model)));
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
    return { version: model.version, metadata: { name: model.name, versions, platform: 'onnx_onnxv1', inputs: model.inputs, outputs: model.outputs } };
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

  index(): Promise<IndexEntry[]> {
    return this.#repository.index();
  }

  setLoaded(name: string, loaded: boolean): Promise<void> {
    return this.#repository.setLoaded(name, loaded);
  }

  /** Stores a new version once ONNX Runtime has proved it loads: a session is created before anything is written. */
  async upload(name: string, version: string, bytes: Uint8Array, config: ModelConfig | undefined): Promise<string> {
    const stored = await this.#repository.upload(name, version, bytes, config, (candidate) => this.#cache.with(candidate, async () => undefined));
    return stored.version;
  }
}
