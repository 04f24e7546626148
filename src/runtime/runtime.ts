// The per-isolate runtime: one model repository and one model cache, built on first use.
import { BUNDLED_MODELS } from '../../models';
import { ModelCache } from './model-cache';
import { ModelRepository } from './model-repository';

export interface Runtime {
  repository: ModelRepository;
  models: ModelCache;
}

export interface RuntimeSettings {
  /** Optional: without a bucket only bundled models are served (e.g. plain workerd). */
  MODELS?: R2Bucket;
  MODEL_CACHE_MB: string;
  REPOSITORY_TTL_SECONDS: string;
}

let runtime: Runtime | undefined;

export function runtimeFor(env: RuntimeSettings): Runtime {
  runtime ??= {
    repository: new ModelRepository(env.MODELS, BUNDLED_MODELS, Number(env.REPOSITORY_TTL_SECONDS) * 1000),
    models: new ModelCache(Number(env.MODEL_CACHE_MB) * 1024 * 1024),
  };
  return runtime;
}
