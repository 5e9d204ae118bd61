import { z } from 'zod';
import { defineRecord, field, type FieldSpec } from '../record-schema.ts';
import { sqlRule } from '../sql-checks.ts';

/**
 * A sentiment score, -1..1, as the scorer computed it at load (or as the platform supplied it).
 * Opinion posts always load on the row path (they are scored in TypeScript on the way in), so the
 * SQL twin is only kept coherent: the integer rule's number and range checks without its
 * whole-number check, and the value passed through as text for DuckDB's cast to DOUBLE.
 */
const optionalScore = (): FieldSpec => {
  const integerRule = sqlRule.integer(-1, 1, true);
  return {
    schema: z.preprocess((v) => (v === '' || v === undefined ? null : v), z.coerce.number().min(-1).max(1).nullable()),
    type: 'DOUBLE',
    sql: {
      ...integerRule,
      issues: (...args: Parameters<typeof integerRule.issues>) => integerRule.issues(...args).filter((_, index) => index !== 1),
      value: (i) => `CASE WHEN ${i.kind} IN ('string', 'number') THEN nullif(trim(${i.text}), '') END`,
    },
  };
};

/** A public-opinion post, review or mention about the shop's brands, Chinese or English. */
export const postRecord = defineRecord({
  table: 'opinion_posts',
  key: ['post_id'],
  fields: {
    post_id: field.id(),
    platform: field.requiredText(),
    author_handle: field.text(),
    published_at: field.timestamp(),
    lang: field.oneOf(['zh', 'en']),
    text: field.requiredText(),
    rating: field.optionalInteger(1, 5),
    brand: field.text(),
    product: field.text(),
    // Computed at load by the pluggable scorer (pipelines/extract/opinion/sentiment/); nullable
    // so rows loaded before scoring existed stay valid.
    sentiment_score: optionalScore(),
    sentiment_label: field.optionalOneOf(['negative', 'neutral', 'positive']),
    scorer: field.text(),
    scorer_version: field.text(),
    // Where the post came from: the feed's name (feeds) or the source's name (file drops).
    source_feed: field.text(),
    url: field.text(),
    title: field.text(),
  },
});
