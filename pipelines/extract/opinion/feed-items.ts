import { XMLParser, XMLValidator } from 'fast-xml-parser';

/**
 * Reads feed documents (RSS 2.0, Atom 1.0, JSON Feed 1.1, or a plain JSON array/page of post
 * records) into raw.opinion_posts fields. Conventions for what feeds have no standard field for:
 * categories/tags prefixed `platform:`, `brand:`, `product:`, `rating:` (e.g. `brand:Li-Ning`),
 * or, in JSON Feed, the extension object `_crm: { platform, brand, product, rating, author_handle }`.
 * The author handle is dc:creator / author name / authors[0].name. The language comes from the
 * item, then the feed, then the feed's configuration, then the script (CJK -> zh, else en).
 * Parsing never throws for a bad ITEM (it becomes a record that validation quarantines, with its
 * location); a bad DOCUMENT (not XML/JSON, cut short, unknown shape) throws, so the fetch retries.
 */
export type FeedFormat = 'rss' | 'atom' | 'json-feed' | 'json';

export interface FeedDefaults {
  /** Feed name, stored in source_feed. */
  name: string;
  platform?: string;
  lang?: string;
  brand?: string;
}

export interface FeedItem {
  fields: Record<string, unknown> | null;
  rawText: string;
  parseError?: string;
}

export interface ParsedFeed {
  format: FeedFormat;
  items: FeedItem[];
  /** Plain JSON pages: the next page's URL, when the page names one. */
  next?: string | null;
}

const ARRAY_PATHS = new Set([
  'rss.channel.item',
  'rss.channel.item.category',
  'feed.entry',
  'feed.entry.category',
  'feed.entry.link',
  'feed.entry.author',
]);

const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  textNodeName: '#text',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  htmlEntities: true,
  isArray: (_name, jpath) => ARRAY_PATHS.has(String(jpath)),
});

/** Text of an XML node that may be a string, a { '#text' } object with attributes, or absent. */
function textOf(node: unknown): string | undefined {
  if (node === null || node === undefined) return undefined;
  if (typeof node === 'string' || typeof node === 'number') return String(node).trim() || undefined;
  if (typeof node === 'object' && '#text' in (node as Record<string, unknown>)) return textOf((node as Record<string, unknown>)['#text']);
  return undefined;
}

const stripHtml = (html: string | undefined) =>
  html === undefined
    ? undefined
    : html
        .replace(/<[^>]*>/g, ' ')
        .replace(/&nbsp;/g, ' ')
        .replace(/\s+/g, ' ')
        .trim() || undefined;

const CJK = /[\u3400-\u9fff\uf900-\ufaff]/;

/** zh-CN, zh-Hans, zh_TW -> zh; en-US -> en; anything else is kept (and rejected by validation). */
function normaliseLang(declared: string | undefined, text: string | undefined, fallback: string | undefined): string | undefined {
  const value = declared ?? fallback;
  if (value) {
    const base = value.toLowerCase().split(/[-_]/)[0]!;
    return base === 'zh' || base === 'en' ? base : value;
  }
  if (!text) return undefined;
  return CJK.test(text) ? 'zh' : 'en';
}

/** RFC 822 (RSS) or ISO 8601 (Atom, JSON Feed) -> ISO UTC; unreadable text passes through to be rejected. */
function isoDate(value: string | undefined): string | undefined {
  if (!value) return undefined;
  if (/^\d{4}-\d{2}-\d{2}/.test(value)) return value; // ISO already: the record rule checks the zone
  const at = Date.parse(value);
  return Number.isNaN(at) ? value : new Date(at).toISOString();
}

/** `platform:weibo`, `brand:Li-Ning` ... -> { platform: 'weibo', brand: 'Li-Ning' }; other terms ignored. */
function prefixed(terms: (string | undefined)[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const term of terms) {
    const match = term ? /^(platform|brand|product|rating|handle):\s*(.+)$/i.exec(term) : null;
    if (match && !(match[1]!.toLowerCase() in out)) out[match[1]!.toLowerCase()] = match[2]!.trim();
  }
  return out;
}

function post(defaults: FeedDefaults, values: Record<string, unknown>): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) fields[key] = value === undefined ? null : value;
  fields.source_feed = defaults.name;
  return fields;
}

function rssItems(channel: Record<string, unknown>, defaults: FeedDefaults): FeedItem[] {
  const items = (channel.item as Record<string, unknown>[] | undefined) ?? [];
  const feedLang = textOf(channel.language);
  return items.map((item) => {
    const cats = prefixed(((item.category as unknown[]) ?? []).map(textOf));
    const text = stripHtml(textOf(item.description)) ?? stripHtml(textOf(item['content:encoded'])) ?? textOf(item.title);
    return {
      rawText: JSON.stringify(item),
      fields: post(defaults, {
        post_id: textOf(item.guid) ?? textOf(item.link),
        platform: cats.platform ?? defaults.platform,
        author_handle: cats.handle ?? textOf(item['dc:creator']) ?? textOf(item.author),
        published_at: isoDate(textOf(item.pubDate) ?? textOf(item['dc:date'])),
        lang: normaliseLang(textOf(item['dc:language']) ?? feedLang, text, defaults.lang),
        text,
        rating: cats.rating,
        brand: cats.brand ?? defaults.brand,
        product: cats.product,
        url: textOf(item.link),
        title: textOf(item.title),
      }),
    };
  });
}

function atomItems(feed: Record<string, unknown>, defaults: FeedDefaults): FeedItem[] {
  const entries = (feed.entry as Record<string, unknown>[] | undefined) ?? [];
  const feedLang = textOf(feed['@_xml:lang']);
  return entries.map((entry) => {
    const cats = prefixed(((entry.category as Record<string, unknown>[]) ?? []).map((c) => textOf(c?.['@_term']) ?? textOf(c)));
    const links = (entry.link as Record<string, unknown>[]) ?? [];
    const link = links.find((l) => (textOf(l['@_rel']) ?? 'alternate') === 'alternate') ?? links[0];
    const content = entry.content as Record<string, unknown> | string | undefined;
    const contentType = typeof content === 'object' ? textOf(content['@_type']) : undefined;
    const rawContent = textOf(content) ?? textOf(entry.summary);
    const text = (contentType === 'html' || contentType === 'xhtml' ? stripHtml(rawContent) : rawContent) ?? textOf(entry.title);
    const authors = (entry.author as Record<string, unknown>[]) ?? [];
    return {
      rawText: JSON.stringify(entry),
      fields: post(defaults, {
        post_id: textOf(entry.id),
        platform: cats.platform ?? defaults.platform,
        author_handle: cats.handle ?? textOf(authors[0]?.name),
        published_at: isoDate(textOf(entry.published) ?? textOf(entry.updated)),
        lang: normaliseLang(textOf(entry['@_xml:lang']) ?? feedLang, text, defaults.lang),
        text,
        rating: cats.rating,
        brand: cats.brand ?? defaults.brand,
        product: cats.product,
        url: link ? textOf(link['@_href']) : undefined,
        title: textOf(entry.title),
      }),
    };
  });
}

const str = (value: unknown): string | undefined =>
  typeof value === 'string' ? value.trim() || undefined : typeof value === 'number' ? String(value) : undefined;

function jsonFeedItems(doc: Record<string, unknown>, defaults: FeedDefaults): FeedItem[] {
  const items = doc.items;
  if (!Array.isArray(items)) throw new Error('JSON Feed without an "items" array');
  const feedLang = str(doc.language);
  return items.map((item: unknown, index) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      return { fields: null, rawText: JSON.stringify(item) ?? String(item), parseError: `item ${index} is not a JSON object` };
    }
    const it = item as Record<string, unknown>;
    const crm = (it._crm && typeof it._crm === 'object' ? it._crm : {}) as Record<string, unknown>;
    const tags = prefixed(Array.isArray(it.tags) ? it.tags.map(str) : []);
    const authors = Array.isArray(it.authors) ? (it.authors as Record<string, unknown>[]) : [];
    const text = str(it.content_text) ?? stripHtml(str(it.content_html)) ?? str(it.summary) ?? str(it.title);
    return {
      rawText: JSON.stringify(item),
      fields: post(defaults, {
        post_id: str(it.id),
        platform: str(crm.platform) ?? tags.platform ?? defaults.platform,
        author_handle: str(crm.author_handle) ?? tags.handle ?? str(authors[0]?.name),
        published_at: isoDate(str(it.date_published) ?? str(it.date_modified)),
        lang: normaliseLang(str(it.language) ?? feedLang, text, defaults.lang),
        text,
        rating: crm.rating ?? tags.rating,
        brand: str(crm.brand) ?? tags.brand ?? defaults.brand,
        product: str(crm.product) ?? tags.product,
        url: str(it.url) ?? str(it.external_url),
        title: str(it.title),
      }),
    };
  });
}

/** A plain JSON array of post records, or a page { data|items: [...], next?: url }. */
function plainJsonItems(doc: unknown, defaults: FeedDefaults): { items: FeedItem[]; next: string | null } {
  const list = Array.isArray(doc) ? doc : ((doc as Record<string, unknown>).data ?? (doc as Record<string, unknown>).items);
  if (!Array.isArray(list)) throw new Error('JSON document is neither an array nor a page with "data" or "items"');
  const page = Array.isArray(doc) ? {} : (doc as Record<string, unknown>);
  if (typeof page.count === 'number' && page.count !== list.length)
    throw new Error(`page declares ${page.count} items but holds ${list.length}`);
  const items = list.map((item: unknown, index): FeedItem => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      return { fields: null, rawText: JSON.stringify(item) ?? String(item), parseError: `item ${index} is not a JSON object` };
    }
    const fields = { ...(item as Record<string, unknown>) };
    fields.platform ??= defaults.platform ?? null;
    fields.brand ??= defaults.brand ?? null;
    if (fields.lang === undefined || fields.lang === null) fields.lang = normaliseLang(undefined, str(fields.text), defaults.lang) ?? null;
    fields.source_feed = defaults.name;
    return { fields, rawText: JSON.stringify(item) };
  });
  return { items, next: typeof page.next === 'string' && page.next !== '' ? page.next : null };
}

/** Which format a document is, from the declared one, the content type, then the content. */
export function detectFormat(body: string, contentType: string | null, declared?: FeedFormat | 'auto'): FeedFormat {
  if (declared && declared !== 'auto') return declared;
  const type = (contentType ?? '').toLowerCase();
  const start = body.trimStart().slice(0, 2_000);
  if (type.includes('feed+json') || /"version"\s*:\s*"https:\/\/jsonfeed\.org\/version\//.test(start)) return 'json-feed';
  if (start.startsWith('{') || start.startsWith('[')) return 'json';
  if (/<rss[\s>]/.test(start)) return 'rss';
  if (/<feed[\s>]/.test(start)) return 'atom';
  if (type.includes('rss')) return 'rss';
  if (type.includes('atom')) return 'atom';
  throw new Error('not a feed: expected RSS 2.0, Atom, JSON Feed or a JSON array of posts');
}

/** Parses one fetched document; throws when the document itself is invalid or incomplete. */
export function parseFeedDocument(
  body: string,
  contentType: string | null,
  defaults: FeedDefaults,
  declared?: FeedFormat | 'auto',
): ParsedFeed {
  const format = detectFormat(body, contentType, declared);
  if (format === 'json' || format === 'json-feed') {
    let doc: unknown;
    try {
      doc = JSON.parse(body);
    } catch (error) {
      throw new Error(`not valid JSON (${body.length} bytes): ${(error as Error).message}`);
    }
    if (format === 'json-feed') return { format, items: jsonFeedItems(doc as Record<string, unknown>, defaults) };
    return { format, ...plainJsonItems(doc, defaults) };
  }
  // fast-xml-parser is lenient; a cut-short document must fail here, not load half its items.
  const valid = XMLValidator.validate(body);
  if (valid !== true) throw new Error(`not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`);
  const doc = xml.parse(body) as Record<string, unknown>;
  if (format === 'rss') {
    const channel = (doc.rss as Record<string, unknown> | undefined)?.channel as Record<string, unknown> | undefined;
    if (!channel) throw new Error('RSS document without rss/channel');
    return { format, items: rssItems(channel, defaults) };
  }
  const feed = doc.feed as Record<string, unknown> | undefined;
  if (!feed) throw new Error('Atom document without a feed element');
  return { format, items: atomItems(feed, defaults) };
}
