import { z } from 'zod';
import type { DefinedRecord } from '../record-schema.ts';
import type { SourceRecord } from '../readers/source-record.ts';
import { cancellationRecord, orderItemRecord, orderRecord, paymentRecord, refundRecord } from '../orders/order-records.ts';
import { SourceUnavailableError, type BatchPart, type JsonValue, type SourceContext, type SourceDefinition } from '../source-contract.ts';
import { fetchWithRetries, HttpPermanentError, redactUrl, type HttpFetchOptions } from './http-fetch.ts';
import { envValue, type EnvName } from '../../../shared/env.ts';

/** Environment variables of the `orders_http` source. */
export const HTTP_ORDERS_ENV = {
  url: 'CRM_ORDERS_API_URL',
  token: 'CRM_ORDERS_API_TOKEN',
  pagination: 'CRM_ORDERS_API_PAGINATION',
  pageSize: 'CRM_ORDERS_API_PAGE_SIZE',
  pagesPerBatch: 'CRM_ORDERS_API_PAGES_PER_BATCH',
  timeoutMs: 'CRM_ORDERS_API_TIMEOUT_MS',
  retries: 'CRM_ORDERS_API_RETRIES',
} as const;

export type Pagination = 'cursor' | 'page';

/** One paginated list endpoint (relative to the base URL) feeding one raw table. */
export interface HttpResource {
  path: string;
  record: DefinedRecord;
}

export const SHOP_API_RESOURCES: readonly HttpResource[] = [
  { path: 'orders', record: orderRecord },
  { path: 'order_items', record: orderItemRecord },
  { path: 'payments', record: paymentRecord },
  { path: 'refunds', record: refundRecord },
  { path: 'cancellations', record: cancellationRecord },
];

export interface HttpOrdersConfig {
  name: string;
  /** e.g. http://shop.example/api : resources are read from <baseUrl>/orders, <baseUrl>/order_items, ... */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /**
   * cursor: GET <resource>?limit=N[&cursor=C] -> { data: [...], next_cursor, has_more? }
   * page:   GET <resource>?page=P&per_page=N  -> { data: [...], page, total_pages? , has_more? }
   * Either may carry `count` (items on the page); a page whose data disagrees is rejected as truncated.
   */
  pagination?: Pagination;
  pageSize?: number;
  /** Pages per committed batch: the cursor commits with each batch, so a failure costs at most this many pages. */
  pagesPerBatch?: number;
  resources?: readonly HttpResource[];
  fetch?: HttpFetchOptions;
}

const pageSchema = z.object({
  data: z.array(z.unknown()),
  next_cursor: z.string().min(1).nullable().optional(),
  has_more: z.boolean().optional(),
  page: z.number().int().optional(),
  total_pages: z.number().int().min(0).optional(),
  count: z.number().int().min(0).optional(),
});
type Page = z.infer<typeof pageSchema>;

/** What the warehouse keeps for the source (raw._source_state.state). */
interface HttpState {
  baseUrl: string;
  pagination: Pagination;
  /** Index of the resource being read in the current pass; = resources.length when the pass finished. */
  position: number;
  resources: Record<string, { next: string | number | null; records: number; pages: number }>;
}

/** Parses a page body: whole JSON, the expected shape, and `count` (when given) matching the data. */
export function parsePage(body: string): Page {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    throw new Error(`not valid JSON (${body.length} bytes): ${(error as Error).message}`);
  }
  const parsed = pageSchema.safeParse(json);
  if (!parsed.success)
    throw new Error(`unexpected page shape: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'page'}: ${i.message}`).join('; ')}`);
  if (parsed.data.count !== undefined && parsed.data.count !== parsed.data.data.length) {
    throw new Error(`page declares ${parsed.data.count} items but holds ${parsed.data.data.length}`);
  }
  return parsed.data;
}

/**
 * A paginated JSON API as an orders source: each resource is read page by page, its records go to
 * the same raw tables as the file-drop orders. Every `pagesPerBatch` pages the batch commits with
 * its cursor (SourceBatch.hasMore), so a run that dies resumes from the last committed page; a page
 * that times out, fails (5xx, 429 with Retry-After) or arrives truncated is fetched again, never
 * half-loaded. A finished pass keeps each resource's last cursor (or page), so the next run asks
 * only for what came after it; the page re-read upserts as unchanged.
 */
export function httpOrdersSource(config: HttpOrdersConfig): SourceDefinition {
  const pagination = config.pagination ?? 'cursor';
  const pageSize = config.pageSize ?? 500;
  const pagesPerBatch = config.pagesPerBatch ?? 20;
  const resources = config.resources ?? SHOP_API_RESOURCES;
  const headers: Record<string, string> = config.token ? { authorization: `Bearer ${config.token}` } : {};
  const shownBase = redactUrl(config.baseUrl);

  return {
    name: config.name,
    family: 'orders',
    kind: 'http',
    description: `Orders, items, payments, refunds, cancellations from a paginated JSON API (${pagination} pagination) at ${shownBase}`,
    records: [...new Set(resources.map((r) => r.record))],
    async open(context: SourceContext) {
      const base = checkBaseUrl(config.name, config.baseUrl);
      const fetchOptions: HttpFetchOptions = {
        ...config.fetch,
        headers: { ...config.fetch?.headers, ...headers },
        ...(context.log ? { log: context.log } : {}),
      };
      const stored = context.state.cursor as unknown as HttpState | null;
      const state: HttpState =
        stored && stored.baseUrl === shownBase && stored.pagination === pagination
          ? structuredClone(stored)
          : { baseUrl: shownBase, pagination, position: resources.length, resources: {} };
      // The previous pass finished: start a new one from each resource's last cursor.
      if (state.position >= resources.length) state.position = 0;
      for (const r of resources) state.resources[r.path] ??= { next: null, records: 0, pages: 0 };

      const urlFor = (resource: HttpResource, next: string | number | null): URL => {
        const url = new URL(resource.path, base);
        if (pagination === 'cursor') {
          url.searchParams.set('limit', String(pageSize));
          if (next !== null) url.searchParams.set('cursor', String(next));
        } else {
          url.searchParams.set('page', String(next ?? 1));
          url.searchParams.set('per_page', String(pageSize));
        }
        return url;
      };
      const fetchPage = async (url: URL) => (await fetchWithRetries(url.toString(), (body) => parsePage(body), fetchOptions)).value;

      // The first page is fetched here, before anything is written: an unreachable server, a bad
      // token or a URL that is not this API fails the source with one line naming the cause.
      const firstResource = resources[state.position]!;
      const firstUrl = urlFor(firstResource, state.resources[firstResource.path]!.next);
      let prefetched: { url: URL; page: Page } | null;
      try {
        prefetched = { url: firstUrl, page: await fetchPage(firstUrl) };
      } catch (error) {
        const status = error instanceof HttpPermanentError ? error.status : null;
        const resuming = state.resources[firstResource.path]!.next !== null;
        const hint =
          status === 401 || status === 403
            ? ` (check ${HTTP_ORDERS_ENV.token})`
            : resuming && (status === 400 || status === 404 || status === 410 || status === 422)
              ? ` (the stored cursor may no longer be valid: \`crm state reset ${config.name}\` re-reads from the start)`
              : status === 404
                ? ' (check the base URL)'
                : '';
        throw new SourceUnavailableError(config.name, `cannot read ${redactUrl(firstUrl.toString())}: ${(error as Error).message}${hint}`);
      }

      let budget = pagesPerBatch;
      let emptyPages = 0;
      let pagesRead = 0;
      const read: Record<string, number> = {};

      async function* readResource(index: number): AsyncGenerator<SourceRecord> {
        const resource = resources[index]!;
        const progress = state.resources[resource.path]!;
        const file = `GET ${new URL(resource.path, base).pathname}`;
        while (state.position === index && budget > 0) {
          const requested = progress.next;
          const url = urlFor(resource, requested);
          let page: Page;
          if (prefetched && prefetched.url.toString() === url.toString()) {
            page = prefetched.page;
            prefetched = null;
          } else {
            try {
              page = await fetchPage(url);
            } catch (error) {
              throw new Error(`${config.name}: GET ${redactUrl(url.toString())} failed: ${(error as Error).message}`);
            }
          }
          pagesRead += 1;
          if (page.data.length > 0) budget -= 1;
          else if (++emptyPages > 1_000) throw new Error(`${config.name}: ${file} keeps answering empty pages that say there is more`);
          const where = `GET ${url.pathname}${url.search}`;
          for (const [i, item] of page.data.entries()) {
            progress.records += 1;
            read[resource.path] = (read[resource.path] ?? 0) + 1;
            const isObject = item !== null && typeof item === 'object' && !Array.isArray(item);
            yield {
              location: `${where}#${i}`,
              file,
              line: progress.records,
              fields: isObject ? (item as Record<string, unknown>) : null,
              rawText: JSON.stringify(item) ?? String(item),
              ...(isObject ? {} : { parseError: `item ${i} of the page is not a JSON object` }),
            };
          }
          progress.pages += 1;
          const { more, next } = advance(page, requested);
          if (more && next === requested)
            throw new Error(`${config.name}: ${where} answered the cursor it was asked for; refusing to loop`);
          progress.next = next;
          if (!more) state.position = index + 1; // this resource is done for the pass
        }
      }

      function advance(page: Page, requested: string | number | null): { more: boolean; next: string | number | null } {
        if (pagination === 'cursor') {
          const more = page.has_more ?? page.next_cursor != null;
          // At the end keep a cursor to ask "anything after this?" next run: the server's, or the
          // one that fetched this last page (re-read, upserted as unchanged).
          return { more: more && page.next_cursor != null, next: page.next_cursor ?? requested };
        }
        const current = Number(requested ?? 1);
        const more = page.has_more ?? (page.total_pages !== undefined ? current < page.total_pages : page.data.length >= pageSize);
        return { more, next: more ? current + 1 : current };
      }

      const parts: BatchPart[] = resources.map((resource, index) => ({ record: resource.record, records: readResource(index) }));
      return {
        parts,
        finish: () => ({ cursor: state as unknown as JsonValue }),
        close: async () => undefined,
        hasMore: () => state.position < resources.length,
        notes: () => [
          `${pagesRead} page(s) read: ${
            Object.entries(read)
              .map(([p, n]) => `${p} ${n}`)
              .join(', ') || 'no records'
          }`,
          state.position < resources.length ? `continuing at ${resources[state.position]!.path}` : 'pass complete',
        ],
      };
    },
  };
}

function checkBaseUrl(source: string, baseUrl: string): URL {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new SourceUnavailableError(source, `bad URL "${baseUrl}" (set ${HTTP_ORDERS_ENV.url} to e.g. http://127.0.0.1:4100/api)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new SourceUnavailableError(source, `bad URL "${redactUrl(baseUrl)}": only http and https are supported`);
  // Resources resolve relative to the base: make sure it ends with a slash so /api + orders = /api/orders.
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

/** Builds the source from the environment (CONFIGURABLE_SOURCES). */
export function httpOrdersSourceFromEnv(name: string, env: NodeJS.ProcessEnv): SourceDefinition {
  try {
    return buildFromEnv(name, env);
  } catch (error) {
    // Listing sources must not fail on a bad setting; extracting this one reports it (one line).
    const reason = error instanceof SourceUnavailableError ? error.message.slice(name.length + 2) : (error as Error).message;
    return {
      name,
      family: 'orders',
      kind: 'http',
      description: `misconfigured: ${reason}`,
      records: SHOP_API_RESOURCES.map((r) => r.record),
      open: async () => {
        throw new SourceUnavailableError(name, reason);
      },
    };
  }
}

function buildFromEnv(name: string, env: NodeJS.ProcessEnv): SourceDefinition {
  const number = (key: EnvName): number | undefined => {
    const raw = envValue(key, env);
    if (!raw) return undefined;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 0) throw new SourceUnavailableError(name, `${key} must be a whole number, got "${raw}"`);
    return value;
  };
  const pagination = envValue(HTTP_ORDERS_ENV.pagination, env) ?? 'cursor';
  if (pagination !== 'cursor' && pagination !== 'page')
    throw new SourceUnavailableError(name, `${HTTP_ORDERS_ENV.pagination} must be cursor or page, got "${pagination}"`);
  const pageSize = number(HTTP_ORDERS_ENV.pageSize);
  const pagesPerBatch = number(HTTP_ORDERS_ENV.pagesPerBatch);
  const timeoutMs = number(HTTP_ORDERS_ENV.timeoutMs);
  const retries = number(HTTP_ORDERS_ENV.retries);
  const token = envValue(HTTP_ORDERS_ENV.token, env);
  return httpOrdersSource({
    name,
    baseUrl: envValue(HTTP_ORDERS_ENV.url, env) ?? '',
    pagination,
    ...(token ? { token } : {}),
    ...(pageSize ? { pageSize } : {}),
    ...(pagesPerBatch ? { pagesPerBatch } : {}),
    fetch: { ...(timeoutMs ? { timeoutMs } : {}), ...(retries !== undefined ? { retries } : {}) },
  });
}
