/**
 * The front cache: whole /load, scorecard and customer-lookup answers kept as the bytes that were sent, with the
 * headers the route set, so a repeated request skips parsing, zod, Cube's compiler, the result
 * cache's key and serialising again (together most of a cached request's CPU, profiled).
 *
 * The key is built by the route from what decides the answer: method and route, the raw query
 * text or body, the verified caller's claims and the default time zone. Each entry also records
 * the data version (the published warehouse file's identity) and the compiled model it was
 * computed with, and is served only while both are still current and before it expires: a short
 * TTL, and never past the end of the day it was computed on in the query's time zone (relative
 * ranges such as "today" or "last 7 days" mean another range the next day). Authentication and the
 * rate limit run before the lookup, so an invalid or expired token is refused as before.
 * Bounded by entry count; least recently used entries go first (lru-cache).
 */
import { LRUCache } from 'lru-cache';

export interface ResponseEntry {
  /** The body exactly as it was sent. */
  body: Buffer;
  /** Headers to send on a hit besides content-type (x-crm-cache, server-timing). */
  headers: Record<string, string>;
  dataVersion: string;
  /** The compiled model the answer was computed with (identity: a recompiled model is another object). */
  model: object;
  /** Epoch ms after which the entry is never served. */
  expiresAt: number;
}

export interface ResponseCacheOptions {
  maxEntries: number;
  /** Longest life of an entry, ms. */
  ttlMs: number;
  /** The clock (epoch ms); tests move it. */
  now?: () => number;
}

export class ResponseCache {
  private readonly entries: LRUCache<string, ResponseEntry>;
  private version: string | undefined;
  readonly maxEntries: number;
  readonly ttlMs: number;
  readonly now: () => number;
  hits = 0;
  misses = 0;

  constructor(options: ResponseCacheOptions) {
    this.maxEntries = options.maxEntries;
    this.ttlMs = options.ttlMs;
    this.now = options.now ?? Date.now;
    this.entries = new LRUCache({ max: Math.max(1, options.maxEntries) });
  }

  /** The entry for key if it is still valid for this data version and model; stale entries are dropped. */
  get(key: string, dataVersion: string | undefined, model: object): ResponseEntry | undefined {
    if (dataVersion !== this.version) {
      // A new published file (or none): every entry is an older version's answer.
      this.entries.clear();
      this.version = dataVersion;
    }
    const found = this.entries.get(key);
    if (found && found.model === model && found.dataVersion === dataVersion && found.expiresAt > this.now()) {
      this.hits += 1;
      return found;
    }
    if (found) this.entries.delete(key);
    this.misses += 1;
    return undefined;
  }

  /**
   * Stores an answer computed on entry.dataVersion. The caller checks that this is still the
   * published file's identity after the answer was computed (else it may be an older version's).
   */
  set(key: string, entry: ResponseEntry): void {
    if (this.maxEntries <= 0 || entry.expiresAt <= this.now()) return;
    if (entry.dataVersion !== this.version) {
      this.entries.clear();
      this.version = entry.dataVersion;
    }
    this.entries.set(key, entry);
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }
}
