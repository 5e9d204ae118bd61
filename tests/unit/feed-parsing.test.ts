import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectFormat, parseFeedDocument } from '../../pipelines/extract/opinion/feed-items.ts';
import { opinionFeedSource, parseFeedList } from '../../pipelines/extract/opinion/opinion-feed-source.ts';
import { configuredSources, findSource } from '../../pipelines/extract/sources.ts';
import { postRecord } from '../../pipelines/extract/opinion/post-records.ts';
import { extractSource } from '../../pipelines/extract/run-extract.ts';
import { openWarehouse } from '../../pipelines/raw/warehouse-connection.ts';

/** Feed documents (RSS 2.0, Atom, JSON Feed 1.1, plain JSON) -> opinion post fields, zh and en. */
const RSS = `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>
  <title>Mentions</title><language>zh-CN</language>
  <item>
    <guid isPermaLink="false">wb-1001</guid><link>https://weibo.example/1001</link><title>好评</title>
    <description><![CDATA[<p>质量很好，<b>非常满意</b></p>]]></description>
    <pubDate>Tue, 03 Jun 2025 08:30:00 +0800</pubDate><dc:creator>lily_88</dc:creator>
    <category>platform:weibo</category><category>brand:Yunshang</category><category>product:Yunshang Cotton T-Shirt</category><category>rating:5</category><category>服装</category>
  </item>
  <item>
    <guid>tp-77</guid><link>https://trustpilot.example/77</link><title>Disappointed</title>
    <description>Terrible quality &amp; late delivery</description>
    <pubDate>Wed, 04 Jun 2025 10:00:00 GMT</pubDate><dc:creator>mike</dc:creator><dc:language>en-GB</dc:language>
    <category>platform:trustpilot</category><category>brand:Aurora</category><category>rating:1</category>
  </item>
  <item>
    <title>no id and a date nobody can read</title><description>发货慢</description><pubDate>yesterday-ish</pubDate>
    <category>platform:weibo</category>
  </item>
</channel></rss>`;

const ATOM = `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
  <id>urn:feed</id><title>Reviews</title><updated>2025-06-01T00:00:00Z</updated>
  <entry>
    <id>urn:review:1</id><title>Love it</title><link rel="alternate" href="https://reviews.example/1"/><link rel="edit" href="https://reviews.example/1/edit"/>
    <published>2025-06-02T09:00:00Z</published><author><name>ann</name></author>
    <content type="html">&lt;p&gt;Love the style, fits perfectly&lt;/p&gt;</content>
    <category term="platform:twitter"/><category term="brand:Lotus Lane"/>
  </entry>
  <entry xml:lang="zh-Hans">
    <id>urn:review:2</id><title>退货</title><updated>2025-06-03T09:00:00+08:00</updated>
    <summary>退货太麻烦了</summary><category term="platform:xiaohongshu"/><category term="handle:xhs_42"/>
  </entry>
</feed>`;

const JSON_FEED = JSON.stringify({
  version: 'https://jsonfeed.org/version/1.1',
  title: 'Mentions',
  items: [
    {
      id: 'dy-1',
      url: 'https://douyin.example/1',
      content_text: '物流很快，客服态度好',
      date_published: '2025-06-05T12:00:00+08:00',
      language: 'zh',
      authors: [{ name: 'dy_user' }],
      _crm: { platform: 'douyin', brand: 'Aurora', product: 'Aurora Cardigan', rating: 4 },
    },
    {
      id: 'tw-2',
      content_html: '<p>Fast delivery and <i>friendly</i> support</p>',
      date_published: '2025-06-06T12:00:00Z',
      tags: ['platform:twitter', 'brand:Yunshang', 'rating:5'],
    },
    'not an item',
    { id: 'tw-3', content_text: 'ok', date_published: '2025-06-06T12:00:00Z', _crm: { platform: 'twitter', rating: 9 } },
  ],
});

const defaults = { name: 'test-feed' };

describe('feed parsing', () => {
  it('RSS 2.0: guid, link, HTML description as text, RFC 822 dates in UTC, dc:creator, prefixed categories, channel language', () => {
    const parsed = parseFeedDocument(RSS, 'application/rss+xml', defaults);
    expect(parsed.format).toBe('rss');
    expect(parsed.items).toHaveLength(3);
    expect(parsed.items[0]!.fields).toEqual({
      post_id: 'wb-1001',
      platform: 'weibo',
      author_handle: 'lily_88',
      published_at: '2025-06-03T00:30:00.000Z',
      lang: 'zh',
      text: '质量很好， 非常满意',
      rating: '5',
      brand: 'Yunshang',
      product: 'Yunshang Cotton T-Shirt',
      url: 'https://weibo.example/1001',
      title: '好评',
      source_feed: 'test-feed',
    });
    expect(parsed.items[1]!.fields).toMatchObject({
      post_id: 'tp-77',
      lang: 'en',
      text: 'Terrible quality & late delivery',
      rating: '1',
      published_at: '2025-06-04T10:00:00.000Z',
    });
    // A bad item still comes through, for validation to reject with its reasons.
    const bad = parsed.items[2]!.fields!;
    expect(bad).toMatchObject({ post_id: null, published_at: 'yesterday-ish', text: '发货慢' });
    const check = postRecord.validator.safeParse(bad);
    expect(check.success).toBe(false);
    expect(check.error!.issues.map((i) => `${String(i.path[0])}: ${i.message}`)).toEqual([
      'post_id: Invalid input: expected string, received null',
      'published_at: expected an ISO 8601 timestamp with a time zone',
      'published_at: not a real date and time',
    ]);
  });

  it('Atom: alternate link, html content stripped, summary fallback, entry and feed xml:lang, category terms', () => {
    const parsed = parseFeedDocument(ATOM, null, defaults);
    expect(parsed.format).toBe('atom');
    expect(parsed.items.map((i) => i.fields)).toEqual([
      {
        post_id: 'urn:review:1',
        platform: 'twitter',
        author_handle: 'ann',
        published_at: '2025-06-02T09:00:00Z',
        lang: 'en',
        text: 'Love the style, fits perfectly',
        rating: null,
        brand: 'Lotus Lane',
        product: null,
        url: 'https://reviews.example/1',
        title: 'Love it',
        source_feed: 'test-feed',
      },
      {
        post_id: 'urn:review:2',
        platform: 'xiaohongshu',
        author_handle: 'xhs_42',
        published_at: '2025-06-03T09:00:00+08:00',
        lang: 'zh',
        text: '退货太麻烦了',
        rating: null,
        brand: null,
        product: null,
        url: null,
        title: '退货',
        source_feed: 'test-feed',
      },
    ]);
    for (const item of parsed.items) expect(postRecord.validator.safeParse(item.fields).success).toBe(true);
  });

  it('JSON Feed 1.1: the _crm extension or prefixed tags; a non-object item is a parse error; out-of-range rating fails validation', () => {
    const parsed = parseFeedDocument(JSON_FEED, 'application/feed+json', { name: 'jf', platform: 'fallback-platform' });
    expect(parsed.format).toBe('json-feed');
    expect(parsed.items[0]!.fields).toMatchObject({
      post_id: 'dy-1',
      platform: 'douyin',
      author_handle: 'dy_user',
      lang: 'zh',
      rating: 4,
      brand: 'Aurora',
      product: 'Aurora Cardigan',
      source_feed: 'jf',
    });
    expect(parsed.items[1]!.fields).toMatchObject({
      post_id: 'tw-2',
      platform: 'twitter',
      lang: 'en',
      text: 'Fast delivery and friendly support',
      rating: '5',
      brand: 'Yunshang',
    });
    expect(parsed.items[2]).toMatchObject({ fields: null, parseError: 'item 2 is not a JSON object' });
    expect(postRecord.validator.safeParse(parsed.items[3]!.fields).success).toBe(false);
  });

  it('plain JSON: an array of post records, or a page with data and a next link; feed defaults fill platform and language', () => {
    const page = parseFeedDocument(
      JSON.stringify({ data: [{ post_id: 'a1', text: '款式好看', published_at: '2025-06-01T00:00:00Z' }], next: '/api/posts?page=2' }),
      'application/json',
      { name: 'api', platform: 'shop-reviews' },
    );
    expect(page).toMatchObject({ format: 'json', next: '/api/posts?page=2' });
    expect(page.items[0]!.fields).toMatchObject({ post_id: 'a1', platform: 'shop-reviews', lang: 'zh', source_feed: 'api' });
    const array = parseFeedDocument(
      JSON.stringify([{ post_id: 'b1', platform: 'x', lang: 'en', text: 'hi', published_at: '2025-06-01T00:00:00Z' }]),
      null,
      defaults,
    );
    expect(array.items).toHaveLength(1);
    expect(array.next).toBeNull();
  });

  it('a cut-short or unknown document throws (so it is fetched again), never yields half its items', () => {
    expect(() => parseFeedDocument(RSS.slice(0, Math.floor(RSS.length * 0.7)), 'application/rss+xml', defaults)).toThrow(
      /not well-formed XML/,
    );
    expect(() => parseFeedDocument(ATOM.slice(0, 400), null, defaults)).toThrow(/not well-formed XML/);
    expect(() => parseFeedDocument(JSON_FEED.slice(0, 200), 'application/feed+json', defaults)).toThrow(/not valid JSON/);
    expect(() => parseFeedDocument(JSON.stringify({ data: [1, 2], count: 3 }), null, defaults)).toThrow(/declares 3 items but holds 2/);
    expect(() => detectFormat('<html><body>hello</body></html>', 'text/html')).toThrow(/not a feed/);
    expect(() => parseFeedDocument('<rdf:RDF></rdf:RDF>', null, defaults, 'rss')).toThrow(/without rss\/channel/);
  });

  it('CRM_OPINION_FEEDS: a JSON list of feeds or plain URLs; a bad list is one clear line', () => {
    expect(parseFeedList('opinion_feeds', 'http://a.example/x.rss, http://b.example/y.json')).toEqual([
      { url: 'http://a.example/x.rss' },
      { url: 'http://b.example/y.json' },
    ]);
    expect(
      parseFeedList('opinion_feeds', '[{"name":"weibo","url":"http://a.example/x.rss","platform":"weibo","lang":"zh"}]'),
    ).toMatchObject([{ name: 'weibo', format: 'auto', lang: 'zh' }]);
    expect(() => parseFeedList('opinion_feeds', '[{"url":"http://a"')).toThrow(/^opinion_feeds: CRM_OPINION_FEEDS is not valid JSON/);
    expect(() => parseFeedList('opinion_feeds', '[{"url":"http://a","lang":"fr"}]')).toThrow(/^opinion_feeds: CRM_OPINION_FEEDS: 0\.lang/);
  });
});

describe('opinion feeds configuration', () => {
  it('feeds come from crm.config.json (opinion.feeds) and/or CRM_OPINION_FEEDS; none configured: the source is not listed', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-feedcfg-'));
    try {
      const configPath = path.join(dir, 'crm.config.json');
      fs.writeFileSync(
        configPath,
        JSON.stringify({ opinion: { feeds: [{ name: 'weibo-brand', url: 'http://127.0.0.1:1/w.rss', platform: 'weibo', lang: 'zh' }] } }),
      );
      const none = { CRM_CONFIG: path.join(dir, 'missing.json') };
      expect(configuredSources(none).map((s) => s.name)).not.toContain('opinion_feeds');
      expect(() => findSource('opinion_feeds', none)).toThrow(/^opinion_feeds: not configured: set CRM_OPINION_FEEDS$/);
      const fromFile = findSource('opinion_feeds', { CRM_CONFIG: configPath });
      expect(fromFile.description).toContain('weibo-brand');
      const both = configuredSources({ CRM_CONFIG: configPath, CRM_OPINION_FEEDS: 'http://127.0.0.1:1/x.json' }).find(
        (s) => s.name === 'opinion_feeds',
      )!;
      expect(both.description).toMatch(/: weibo-brand, 127\.0\.0\.1:1\/x\.json; sentiment scored at load/);
      // A bad feed entry in the config is the config's error (exit 2 from any command), named by key.
      fs.writeFileSync(configPath, JSON.stringify({ opinion: { feeds: [{ url: 'http://x', lang: 'fr' }] } }));
      expect(configuredSources({ CRM_CONFIG: configPath }).map((s) => s.name)).not.toContain('opinion_feeds');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('opinion feed source over HTTP', () => {
  let dir: string;
  let server: http.Server;
  let base: string;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-feeds-'));
    server = http.createServer((req, res) => {
      const docs: Record<string, [string, string]> = {
        '/m.rss': [RSS, 'application/rss+xml'],
        '/r.atom': [ATOM, 'application/atom+xml'],
        '/m.json': [JSON_FEED, 'application/feed+json'],
      };
      const doc = docs[req.url ?? ''];
      if (!doc) return res.writeHead(404).end();
      res.writeHead(200, { 'content-type': doc[1] }).end(doc[0]);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('loads good items scored, quarantines bad ones with feed, item and reason, and is idempotent', async () => {
    const warehousePath = path.join(dir, 'wh.duckdb');
    const source = opinionFeedSource({
      name: 'opinion_feeds',
      feeds: [
        { name: 'weibo', url: `${base}/m.rss` },
        { name: 'reviews', url: `${base}/r.atom` },
        { name: 'douyin', url: `${base}/m.json` },
      ],
      fetch: { timeoutMs: 2_000, retries: 0 },
    });
    const first = await extractSource(source, { warehousePath, landingDir: dir, batchId: 'b1' });
    expect(first.tables[0]).toMatchObject({ read: 9, inserted: 6, rejected: 3 });
    const wh = await openWarehouse(warehousePath);
    try {
      const rows = (
        await wh.connection.runAndReadAll(
          `SELECT post_id, lang, sentiment_label, source_feed, scorer FROM raw.opinion_posts ORDER BY post_id`,
        )
      ).getRows();
      expect(rows).toEqual([
        ['dy-1', 'zh', 'positive', 'douyin', 'linear-zh-en'],
        ['tp-77', 'en', 'negative', 'weibo', 'linear-zh-en'],
        ['tw-2', 'en', 'positive', 'douyin', 'linear-zh-en'],
        ['urn:review:1', 'en', 'positive', 'reviews', 'linear-zh-en'],
        ['urn:review:2', 'zh', 'negative', 'reviews', 'linear-zh-en'],
        ['wb-1001', 'zh', 'positive', 'weibo', 'linear-zh-en'],
      ]);
      const rejected = (await wh.connection.runAndReadAll(`SELECT location, reason FROM raw._quarantine ORDER BY location`)).getRows();
      expect(rejected.map((r) => r[0])).toEqual(['GET /m.json#2', 'GET /m.json#3 (id tw-3)', 'GET /m.rss#2']);
      expect(String(rejected[0]![1])).toBe('item 2 is not a JSON object');
      expect(String(rejected[1]![1])).toMatch(/^rating: Too big/);
      expect(String(rejected[2]![1])).toMatch(/post_id: .*published_at: expected an ISO 8601 timestamp/);
    } finally {
      wh.close();
    }
    const second = await extractSource(source, { warehousePath, landingDir: dir, batchId: 'b2' });
    expect(second.tables[0]).toMatchObject({ read: 9, inserted: 0, updated: 0, unchanged: 6, rejected: 3 });
  });
});
