import { XMLBuilder } from 'fast-xml-parser';

/**
 * Renders the generated opinion posts as the feed formats shops actually subscribe to, with the
 * conventions the `opinion_feeds` source reads (see pipelines/extract/opinion/feed-items.ts):
 * JSON Feed 1.1 (post fields in the `_crm` extension object), RSS 2.0 and Atom (platform, brand,
 * product and rating as prefixed categories `platform:weibo`, `brand:Li-Ning`, ...; the author
 * handle as dc:creator / author name), and a plain JSON page API of raw post records.
 */
export type SamplePost = Record<string, unknown>;

const str = (value: unknown): string | undefined => (value === null || value === undefined || value === '' ? undefined : String(value));

function categories(post: SamplePost): string[] {
  return [
    ...(str(post.platform) ? [`platform:${post.platform}`] : []),
    ...(str(post.brand) ? [`brand:${post.brand}`] : []),
    ...(str(post.product) ? [`product:${post.product}`] : []),
    ...(str(post.rating) ? [`rating:${post.rating}`] : []),
  ];
}

const postUrl = (base: string, post: SamplePost) => `${base}/posts/${encodeURIComponent(String(post.post_id ?? ''))}`;
const titleOf = (post: SamplePost) => String(post.text ?? '').slice(0, 20);

/** RFC 822 date for RSS; text that is not a date passes through so the loader can reject it. */
function rfc822(value: unknown): string | undefined {
  const text = str(value);
  if (!text) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? text : new Date(at).toUTCString();
}

export function jsonFeed(posts: SamplePost[], base: string, feedPath: string): string {
  return JSON.stringify({
    version: 'https://jsonfeed.org/version/1.1',
    title: 'Sample shop mentions',
    home_page_url: base,
    feed_url: `${base}${feedPath}`,
    items: posts.map((post) => ({
      id: str(post.post_id),
      url: postUrl(base, post),
      title: titleOf(post),
      content_text: str(post.text),
      date_published: str(post.published_at),
      language: str(post.lang),
      authors: str(post.author_handle) ? [{ name: String(post.author_handle) }] : undefined,
      tags: categories(post),
      _crm: {
        platform: str(post.platform) ?? null,
        brand: str(post.brand) ?? null,
        product: str(post.product) ?? null,
        rating: post.rating ?? null,
      },
    })),
  });
}

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', format: false, suppressEmptyNode: true });

export function rssFeed(posts: SamplePost[], base: string): string {
  const channel = {
    title: 'Sample shop mentions',
    link: base,
    description: 'Posts, reviews and mentions of the sample shop',
    item: posts.map((post) => ({
      guid: { '@_isPermaLink': 'false', '#text': str(post.post_id) },
      link: postUrl(base, post),
      title: titleOf(post),
      description: str(post.text),
      pubDate: rfc822(post.published_at),
      'dc:creator': str(post.author_handle),
      'dc:language': str(post.lang),
      category: categories(post),
    })),
  };
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build({
    rss: { '@_version': '2.0', '@_xmlns:dc': 'http://purl.org/dc/elements/1.1/', channel },
  })}`;
}

export function atomFeed(posts: SamplePost[], base: string, feedPath: string): string {
  const feed = {
    '@_xmlns': 'http://www.w3.org/2005/Atom',
    id: `${base}${feedPath}`,
    title: 'Sample shop mentions',
    updated: new Date(0).toISOString(),
    link: { '@_rel': 'self', '@_href': `${base}${feedPath}` },
    entry: posts.map((post) => ({
      '@_xml:lang': str(post.lang),
      id: str(post.post_id),
      title: titleOf(post),
      link: { '@_href': postUrl(base, post) },
      published: str(post.published_at),
      updated: str(post.published_at),
      author: str(post.author_handle) ? { name: String(post.author_handle) } : undefined,
      content: { '@_type': 'text', '#text': str(post.text) },
      category: categories(post).map((term) => ({ '@_term': term })),
    })),
  };
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build({ feed })}`;
}
