/**
 * The /load result cache. An entry is keyed by everything that decides the answer: the SQL and
 * parameters Cube's compiler wrote for the secured query (so access control and the rollup choice
 * are part of the key), the normalised query (annotation, shaping), the caller's security context,
 * and the data version (the published warehouse file's identity). A new published version empties
 * the cache at the next lookup, so an old answer is never served after a run has published.
 * Bounded by entry count; least recently used entries go first (lru-cache).
 */
import { LRUCache } from 'lru-cache';

export interface CachedResult<T> {
  value: T;
  /** When the result was computed (Cube's lastRefreshTime). */
  computedAt: Date;
}

export class ResultCache<T> {
  private readonly entries: LRUCache<string, CachedResult<T>>;
  private version: string | undefined;
  hits = 0;
  misses = 0;

  constructor(readonly maxEntries: number) {
    this.entries = new LRUCache({ max: Math.max(1, maxEntries) });
  }

  static key(parts: Record<string, unknown>): string {
    return JSON.stringify(parts, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
  }

  /** Drops every entry when the data version changed since the last call. */
  private syncVersion(dataVersion: string | undefined): void {
    if (dataVersion !== this.version) {
      this.entries.clear();
      this.version = dataVersion;
    }
  }

  get(key: string, dataVersion: string | undefined): CachedResult<T> | undefined {
    this.syncVersion(dataVersion);
    const found = this.entries.get(key);
    if (found) {
      this.hits += 1;
    } else {
      this.misses += 1;
    }
    return found;
  }

  /**
   * Stores a result computed on dataVersion. The caller checks that dataVersion is still the
   * published file's identity after the query ran (else it must not store: the answer may be old).
   */
  set(key: string, dataVersion: string | undefined, value: CachedResult<T>): void {
    if (this.maxEntries <= 0 || dataVersion === undefined) return;
    this.syncVersion(dataVersion);
    this.entries.set(key, value);
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }
}
