import pRetry, { AbortError } from 'p-retry';
import type { Logger } from 'pino';

/**
 * One HTTP GET with the rules every HTTP source needs: a timeout that covers the whole response
 * (headers and body, AbortSignal.timeout), retries with exponential backoff and jitter (p-retry),
 * 429/503 Retry-After honoured (seconds or an HTTP date, capped), and a body check that rejects a
 * truncated or invalid page so it is fetched again instead of half-loaded. 4xx other than 408/429
 * are permanent and not retried.
 */
export interface HttpFetchOptions {
  timeoutMs?: number;
  /** Retries after the first attempt. */
  retries?: number;
  minDelayMs?: number;
  maxDelayMs?: number;
  /** A Retry-After longer than this is cut to it (a server asking for an hour does not stall a run). */
  maxRetryAfterMs?: number;
  headers?: Record<string, string>;
  log?: Logger;
}

export const HTTP_DEFAULTS = { timeoutMs: 15_000, retries: 5, minDelayMs: 250, maxDelayMs: 10_000, maxRetryAfterMs: 60_000 } as const;

/** A response that could be retried (5xx, 408, 429, timeout, reset, truncated or invalid body). */
export class HttpAttemptError extends Error {
  override name = 'HttpAttemptError';
  constructor(
    message: string,
    readonly status: number | null = null,
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
  }
}

/** A response no retry can fix: 401/403/404 and the like. */
export class HttpPermanentError extends Error {
  override name = 'HttpPermanentError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** Parses a Retry-After header: delta seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (value === null || value.trim() === '') return null;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value.trim()) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** Why fetch failed, in a few words: the cause's code (ECONNREFUSED, ENOTFOUND) or the message. */
export function describeFetchError(error: unknown): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return 'timed out';
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
  const message = error instanceof Error ? error.message : String(error);
  // undici's "fetch failed" says nothing by itself; its cause says why (e.g. "bad port").
  return cause?.message ? `${message}: ${cause.message}` : message;
}

/**
 * GETs `url` and hands the body to `parse`, which throws (any error) when the body is not a whole,
 * valid page; that attempt then counts as failed and is retried.
 */
export async function fetchWithRetries<T>(
  url: string,
  parse: (body: string, response: Response) => T,
  options: HttpFetchOptions = {},
): Promise<{ value: T; attempts: number }> {
  const o = { ...HTTP_DEFAULTS, ...options };
  let attempts = 0;
  const value = await pRetry(
    async () => {
      attempts += 1;
      let response: Response;
      let body: string;
      try {
        response = await fetch(url, {
          headers: {
            accept: 'application/json, application/feed+json, application/rss+xml, application/atom+xml, */*;q=0.5',
            ...o.headers,
          },
          signal: AbortSignal.timeout(o.timeoutMs),
        });
        if (response.status === 429 || response.status === 408 || response.status >= 500) {
          await response.body?.cancel().catch(() => undefined);
          throw new HttpAttemptError(`HTTP ${response.status}`, response.status, parseRetryAfter(response.headers.get('retry-after')));
        }
        if (!response.ok) {
          await response.body?.cancel().catch(() => undefined);
          throw new AbortError(new HttpPermanentError(`HTTP ${response.status} ${response.statusText}`.trim(), response.status));
        }
        // The same timeout signal also bounds the body: a server that stalls mid-page times out.
        body = await response.text();
      } catch (error) {
        if (error instanceof HttpAttemptError || error instanceof AbortError) throw error;
        throw new HttpAttemptError(describeFetchError(error));
      }
      try {
        return parse(body, response);
      } catch (error) {
        throw new HttpAttemptError(`invalid or truncated response: ${(error as Error).message}`, response.status);
      }
    },
    {
      retries: o.retries,
      factor: 2,
      minTimeout: o.minDelayMs,
      maxTimeout: o.maxDelayMs,
      randomize: true,
      onFailedAttempt: async (error) => {
        const retryAfter =
          error instanceof HttpAttemptError && error.retryAfterMs !== null ? Math.min(error.retryAfterMs, o.maxRetryAfterMs) : 0;
        o.log?.warn(
          {
            event: 'http_retry',
            url: redactUrl(url),
            attempt: error.attemptNumber,
            retriesLeft: error.retriesLeft,
            retryAfterMs: retryAfter || undefined,
            err: error.message,
          },
          'HTTP attempt failed',
        );
        // The backoff delay follows this wait, so the server's Retry-After is a floor.
        if (retryAfter > 0 && error.retriesLeft > 0) await new Promise((resolve) => setTimeout(resolve, retryAfter));
      },
    },
  );
  return { value, attempts };
}

/** The URL without credentials or query-string secrets, for logs and error lines. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    for (const key of [...parsed.searchParams.keys()]) {
      if (/token|key|secret|password|signature/i.test(key)) parsed.searchParams.set(key, '***');
    }
    return parsed.toString();
  } catch {
    return url;
  }
}
