import { z } from 'zod';

/** One opinion feed, as listed in $CRM_OPINION_FEEDS (JSON form) or crm.config.json `opinion.feeds`. */
export const feedConfigSchema = z
  .object({
    /** Stored in source_feed; defaults to host + path of the URL. */
    name: z.string().min(1).optional(),
    url: z.string().min(1),
    format: z.enum(['auto', 'rss', 'atom', 'json-feed', 'json']).default('auto'),
    /** Used when an item names no platform (e.g. a brand's own review feed). */
    platform: z.string().min(1).optional(),
    lang: z.enum(['zh', 'en']).optional(),
    brand: z.string().min(1).optional(),
  })
  .strict();

export type FeedConfig = z.input<typeof feedConfigSchema>;
