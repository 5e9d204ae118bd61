import { z } from 'zod';
import type { SourceRecord } from '../readers/source-record.ts';
import { SourceUnavailableError, type JsonValue, type SourceContext, type SourceDefinition } from '../source-contract.ts';
import { fetchWithRetries, redactUrl, type HttpFetchOptions } from '../http/http-fetch.ts';
import { parseFeedDocument, type FeedFormat, type FeedItem } from './feed-items.ts';
import { postRecord } from './post-records.ts';
import { feedConfigSchema, type FeedConfig } from '../../../shared/feed-config.ts';
import { ConfigError, loadConfig, resolveConfigPath } from '../../../shared/config.ts';
import { withScoredPosts } from './scored-posts.ts';
import { envValue } from '../../../shared/env.ts';

/** Environment variable listing the opinion feeds (JSON array of FeedConfig, or URLs separated by spaces/commas). */
export const OPINION_FEEDS_ENV = 'CRM_OPINION_FEEDS';

export { feedConfigSchema, type FeedConfig } from '../../../shared/feed-config.ts';

export interface OpinionFeedsConfig {
  name: string;
  feeds: FeedConfig[];
  /** Plain JSON page APIs: at most this many pages per feed and run. */
  maxPages?: number;
  fetch?: HttpFetchOptions;
}

function feedName(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.host}${parsed.pathname}`.replace(/\/+$/, '');
  } catch {
    return url;
  }
}

/** Parses CRM_OPINION_FEEDS: a JSON array of feed objects, or plain URLs separated by spaces or commas. */
export function parseFeedList(source: string, raw: string): FeedConfig[] {
  const text = raw.trim();
  if (text.startsWith('[')) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new SourceUnavailableError(source, `${OPINION_FEEDS_ENV} is not valid JSON: ${(error as Error).message}`);
    }
    const parsed = z.array(feedConfigSchema).min(1).safeParse(json);
    if (!parsed.success)
      throw new SourceUnavailableError(
        source,
        `${OPINION_FEEDS_ENV}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
    return parsed.data;
  }
  return text
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((url) => ({ url }));
}

interface FeedState {
  feeds: Record<string, { url: string; items: number; pages: number; format: FeedFormat }>;
}

/**
 * Public-opinion feeds as one source: every configured feed (RSS 2.0, Atom, JSON Feed 1.1, or a
 * plain JSON array / page API of posts) is fetched with timeouts and retries, its items mapped to
 * raw.opinion_posts and scored at load. Posts are keyed by their id/guid, so a post seen again (in
 * the same feed next run, or in two feeds) updates one row: re-running is idempotent. Feeds are
 * small documents, so all are fetched before the batch starts: an unreachable or broken feed fails
 * the source with one line naming the feed, and nothing is written.
 */
export function opinionFeedSource(config: OpinionFeedsConfig): SourceDefinition {
  const maxPages = config.maxPages ?? 100;
  const feeds = config.feeds.map((f) => {
    const parsed = feedConfigSchema.parse(f);
    return { ...parsed, name: parsed.name ?? feedName(parsed.url) };
  });
  const inner: SourceDefinition = {
    name: config.name,
    family: 'opinion',
    kind: 'feed',
    description: `Public-opinion feeds (RSS, Atom, JSON Feed, JSON): ${feeds.map((f) => f.name).join(', ')}`,
    records: [postRecord],
    async open(context: SourceContext) {
      if (feeds.length === 0) throw new SourceUnavailableError(config.name, `no feeds configured (set ${OPINION_FEEDS_ENV})`);
      const fetchOptions: HttpFetchOptions = { ...config.fetch, ...(context.log ? { log: context.log } : {}) };
      const state: FeedState = { feeds: {} };
      const documents: { file: string; location: string; items: FeedItem[] }[] = [];
      for (const feed of feeds) {
        let url: string | null = checkUrl(config.name, feed.name, feed.url);
        let pages = 0;
        let items = 0;
        let format: FeedFormat = 'json';
        while (url !== null && pages < maxPages) {
          const pageUrl: string = url;
          let parsed;
          try {
            parsed = (
              await fetchWithRetries(
                pageUrl,
                (body, response) => parseFeedDocument(body, response.headers.get('content-type'), feed, feed.format),
                fetchOptions,
              )
            ).value;
          } catch (error) {
            throw new SourceUnavailableError(
              config.name,
              `feed ${feed.name}: cannot read ${redactUrl(pageUrl)}: ${(error as Error).message}`,
            );
          }
          const where = new URL(pageUrl);
          documents.push({ file: `GET ${where.pathname}`, location: `GET ${where.pathname}${where.search}`, items: parsed.items });
          pages += 1;
          items += parsed.items.length;
          format = parsed.format;
          url = parsed.next ? new URL(parsed.next, pageUrl).toString() : null;
        }
        state.feeds[feed.name] = { url: redactUrl(feed.url), items, pages, format };
      }

      async function* records(): AsyncGenerator<SourceRecord> {
        for (const doc of documents) {
          for (const [index, item] of doc.items.entries()) {
            const id = item.fields?.post_id;
            yield {
              location: `${doc.location}#${index}${typeof id === 'string' && id ? ` (id ${id.slice(0, 80)})` : ''}`,
              file: doc.file,
              line: index + 1,
              fields: item.fields,
              rawText: item.rawText,
              ...(item.parseError ? { parseError: item.parseError } : {}),
            };
          }
        }
      }
      return {
        parts: [{ record: postRecord, records: records() }],
        finish: () => ({ cursor: state as unknown as JsonValue }),
        close: async () => undefined,
        notes: () => Object.entries(state.feeds).map(([name, f]) => `${name} (${f.format}): ${f.items} item(s) in ${f.pages} page(s)`),
      };
    },
  };
  return withScoredPosts(inner);
}

function checkUrl(source: string, feed: string, url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SourceUnavailableError(source, `feed ${feed}: bad URL "${url}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new SourceUnavailableError(source, `feed ${feed}: bad URL "${redactUrl(url)}": only http and https are supported`);
  return parsed.toString();
}

/** Builds the source from the environment (CONFIGURABLE_SOURCES). */
/** Feeds listed in crm.config.json (`opinion.feeds`, at $CRM_CONFIG or the default path). */
export function configuredFeeds(env: NodeJS.ProcessEnv): FeedConfig[] {
  return loadConfig(resolveConfigPath(env)).opinion.feeds;
}

/** True when feeds are listed in $CRM_OPINION_FEEDS or in crm.config.json. */
export function opinionFeedsConfigured(env: NodeJS.ProcessEnv): boolean {
  if (envValue(OPINION_FEEDS_ENV, env) !== undefined) return true;
  try {
    return configuredFeeds(env).length > 0;
  } catch (error) {
    // A broken config file is reported by every command that reads it; here it lists no feeds.
    if (error instanceof ConfigError) return false;
    throw error;
  }
}

export function opinionFeedSourceFromEnv(name: string, env: NodeJS.ProcessEnv): SourceDefinition {
  try {
    const feedList = envValue(OPINION_FEEDS_ENV, env);
    const fromEnv = feedList === undefined ? [] : parseFeedList(name, feedList);
    return opinionFeedSource({ name, feeds: [...configuredFeeds(env), ...fromEnv] });
  } catch (error) {
    return misconfiguredSource(name, 'opinion', 'feed', error);
  }
}

/**
 * A source whose configuration is wrong: listing sources (crm --help, configuredSources) must not
 * fail because of it; extracting it fails with the one-line reason, before anything is written.
 */
export function misconfiguredSource(
  name: string,
  family: SourceDefinition['family'],
  kind: SourceDefinition['kind'],
  error: unknown,
): SourceDefinition {
  const reason = error instanceof SourceUnavailableError ? error.message.slice(name.length + 2) : (error as Error).message;
  return {
    name,
    family,
    kind,
    description: `misconfigured: ${reason}`,
    records: [postRecord],
    open: async () => {
      throw new SourceUnavailableError(name, reason);
    },
  };
}
