// The isolate's one data plane: the inference core over the bundled models and the MODELS bucket.
import { BUNDLED_MODELS } from '../models';
import { DataPlane } from './runtime/data-plane';

let plane: DataPlane | undefined;

/** Built on first use, then shared by every request, object and queue batch in the isolate. */
export function dataPlane(env: Env): DataPlane {
  plane ??= new DataPlane({
    bucket: env.MODELS,
    bundled: BUNDLED_MODELS,
    cacheBytes: Number(env.MODEL_CACHE_MB) * 1024 * 1024,
    repositoryTtlMs: Number(env.REPOSITORY_TTL_SECONDS) * 1000,
  });
  return plane;
}
