import { defineRecord, field } from '../record-schema.ts';

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
  },
});
