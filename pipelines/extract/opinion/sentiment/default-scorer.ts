import { CHINESE_SCORER_VERSION, scoreChinese } from './chinese-scorer.ts';
import { ENGLISH_SCORER_VERSION, scoreEnglish } from './english-scorer.ts';
import { languageOf, type SentimentScorer } from './sentiment-scorer.ts';

/** The default scorer: AFINN-165 (via `sentiment`) for English, the shipped lexicon for Chinese. */
export const lexiconScorer: SentimentScorer = {
  name: 'lexicon-zh-en',
  version: `${ENGLISH_SCORER_VERSION}+${CHINESE_SCORER_VERSION}`,
  score: (text, lang) => (lang === 'zh' ? scoreChinese(text) : scoreEnglish(text)),
};

/**
 * Adds the sentiment columns to a post's fields before validation (scoring happens at load).
 * A record that already carries a score and the scorer that made it (a platform that scores its
 * own posts) keeps them; a record without usable text is left unscored and validation rejects it.
 */
export function withSentiment(fields: Record<string, unknown>, scorer: SentimentScorer = lexiconScorer): Record<string, unknown> {
  const text = fields.text;
  if (fields.sentiment_score != null && fields.scorer != null) return fields;
  if (typeof text !== 'string' || text.trim() === '') return fields;
  const result = scorer.score(text, languageOf(text, fields.lang));
  return { ...fields, sentiment_score: result.score, sentiment_label: result.label, scorer: scorer.name, scorer_version: scorer.version };
}
