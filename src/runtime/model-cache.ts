// Per-isolate LRU of loaded models, bounded by their size and their number: the isolate has 128 MB, wasm heap included.
import { loadModel, type LoadedModel } from './loaded-model';
import type { ModelVersion } from './model-repository';
import { NO_EVENTS, type RuntimeEvents } from './statistics';

interface Slot {
  name: string;
  model: Promise<LoadedModel>;
  size: number;
  users: number;
  evicted: boolean;
}

/**
 * A session costs more than its file (ORT's graph, kernels and buffers, the JavaScript side): a tiny
 * file is counted as this much, and no more than MAX_MODELS stay loaded, however small.
 */
const MIN_SLOT_BYTES = 1024 * 1024;
const MAX_MODELS = 32;

export class ModelCache {
  readonly #slots = new Map<string, Slot>();

  constructor(
    private readonly budgetBytes: number,
    private readonly minSlotBytes = MIN_SLOT_BYTES,
    private readonly events: RuntimeEvents = NO_EVENTS,
  ) {}

  /** Lets go of every loaded version of a model (unloaded, or its config replaced): each is released once unused. */
  drop(name: string): void {
    for (const [key, slot] of this.#slots) if (slot.name === name) this.#evictSlot(key, slot, 'unloaded');
  }

  /** Runs `use` with the loaded model; a model evicted meanwhile is released only once nobody uses it. */
  async with<T>(version: ModelVersion, use: (model: LoadedModel) => Promise<T>): Promise<T> {
    // The file is read in the request that needs it: a slot other requests await must carry no I/O of this one.
    const hit = this.#slots.has(version.key);
    this.events.cacheLookup(version.name, hit);
    const started = performance.now();
    const bytes = hit ? undefined : await version.bytes();
    const slot = this.#acquire(version, bytes, started);
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

  #acquire(version: ModelVersion, bytes: Uint8Array | undefined, started: number): Slot {
    const key = version.key;
    let slot = this.#slots.get(key);
    if (slot) {
      this.#slots.delete(key); // re-insert: Map order is the recency order
    } else {
      // `with` read the bytes unless a slot existed, and nothing awaits between its check and here.
      slot = { name: version.name, model: loadModel(version, bytes!), size: Math.max(version.size, this.minSlotBytes), users: 0, evicted: false };
      slot.model.catch(() => this.#slots.get(key) === slot && this.#slots.delete(key));
      // A load's time runs from reading the file to the session's probe run: workerd's clock moves only across I/O.
      const loaded = (ok: boolean) => this.events.loaded(version.name, version.version, performance.now() - started, ok);
      slot.model.then(
        () => loaded(true),
        () => loaded(false),
      );
    }
    this.#slots.set(key, slot);
    this.#evict(key);
    return slot;
  }

  #evict(keep: string): void {
    let total = [...this.#slots.values()].reduce((n, s) => n + s.size, 0);
    for (const [key, slot] of this.#slots) {
      if (total <= this.budgetBytes && this.#slots.size <= MAX_MODELS) break;
      if (key === keep) continue;
      this.#evictSlot(key, slot, 'capacity');
      total -= slot.size;
    }
  }

  #evictSlot(key: string, slot: Slot, reason: 'capacity' | 'unloaded'): void {
    this.#slots.delete(key);
    this.events.evicted(slot.name, reason);
    slot.evicted = true;
    if (slot.users === 0) void this.#release(slot);
  }

  async #release(slot: Slot): Promise<void> {
    try {
      await (await slot.model).session.release();
    } catch {
      // A model that failed to load has nothing to release.
    }
  }
}
