// Per-isolate LRU of loaded models, bounded by ONNX bytes: the isolate has 128 MB, wasm heap included.
import { loadModel, type LoadedModel } from './loaded-model';
import type { ModelVersion } from './model-repository';

interface Slot {
  model: Promise<LoadedModel>;
  size: number;
  users: number;
  evicted: boolean;
}

export class ModelCache {
  readonly #slots = new Map<string, Slot>();

  constructor(private readonly budgetBytes: number) {}

  /** Runs `use` with the loaded model; a model evicted meanwhile is released only once nobody uses it. */
  async with<T>(version: ModelVersion, use: (model: LoadedModel) => Promise<T>): Promise<T> {
    // The file is read in the request that needs it: a slot other requests await must carry no I/O of this one.
    const bytes = this.#slots.has(version.key) ? undefined : await version.bytes();
    const slot = this.#acquire(version, bytes);
    slot.users++;
    try {
      return await use(await slot.model);
    } finally {
      slot.users--;
      if (slot.evicted && slot.users === 0) void this.#release(slot);
    }
  }

  has(version: ModelVersion): boolean {
    return this.#slots.has(version.key);
  }

  #acquire(version: ModelVersion, bytes: Uint8Array | undefined): Slot {
    const key = version.key;
    let slot = this.#slots.get(key);
    if (slot) {
      this.#slots.delete(key); // re-insert: Map order is the recency order
    } else {
      // `with` read the bytes unless a slot existed, and nothing awaits between its check and here.
      slot = { model: loadModel(version, bytes!), size: version.size, users: 0, evicted: false };
      slot.model.catch(() => this.#slots.get(key) === slot && this.#slots.delete(key));
    }
    this.#slots.set(key, slot);
    this.#evict(key);
    return slot;
  }

  #evict(keep: string): void {
    let total = [...this.#slots.values()].reduce((n, s) => n + s.size, 0);
    for (const [key, slot] of this.#slots) {
      if (total <= this.budgetBytes) break;
      if (key === keep) continue;
      this.#slots.delete(key);
      total -= slot.size;
      slot.evicted = true;
      if (slot.users === 0) void this.#release(slot);
    }
  }

  async #release(slot: Slot): Promise<void> {
    try {
      await (await slot.model).session.release();
    } catch {
      // A model that failed to load has nothing to release.
    }
  }
}
