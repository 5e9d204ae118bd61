import { describe, expect, it } from 'vitest';
import { lexiconScorer, withSentiment } from '../../pipelines/extract/opinion/sentiment/default-scorer.ts';
import { segmentChinese } from '../../pipelines/extract/opinion/sentiment/chinese-scorer.ts';
import {
  labelFor,
  languageOf,
  normaliseLexiconSum,
  type SentimentScorer,
} from '../../pipelines/extract/opinion/sentiment/sentiment-scorer.ts';
import { NEGATIVE_TEXT, POSITIVE_TEXT } from '../../pipelines/sources/sample-data/catalog.ts';

/** The default zh/en lexicon scorer on clear sentences, negation, degree words and contrast. */
const label = (text: string, lang: 'zh' | 'en') => lexiconScorer.score(text, lang).label;
const score = (text: string, lang: 'zh' | 'en') => lexiconScorer.score(text, lang).score;

describe('sentiment scorer (zh + en lexicons)', () => {
  it.each([
    ['质量很好，非常满意', 'positive'],
    ['面料舒服，穿着显瘦，强烈推荐', 'positive'],
    ['物流神速，客服很耐心', 'positive'],
    ['质量太差了，很失望', 'negative'],
    ['客服不回复，体验糟糕', 'negative'],
    ['洗了一次就起球掉色，垃圾', 'negative'],
    ['今天下午收到快递了', 'neutral'],
    ['这件外套是蓝色的', 'neutral'],
    ['差不多吧', 'neutral'],
  ] as const)('zh: %s -> %s', (text, expected) => expect(label(text, 'zh')).toBe(expected));

  it.each([
    ['Great quality, very happy with it', 'positive'],
    ['Love the style, fits perfectly', 'positive'],
    ['Terrible quality, I am disappointed', 'negative'],
    ['Returns are a nightmare', 'negative'],
    ['The parcel arrived on Tuesday', 'neutral'],
    ['I ordered a blue jacket in size M', 'neutral'],
  ] as const)('en: %s -> %s', (text, expected) => expect(label(text, 'en')).toBe(expected));

  it('negation flips a word, within a few words and never across a comma', () => {
    expect(label('好看', 'zh')).toBe('positive');
    expect(label('不好看', 'zh')).toBe('negative');
    expect(label('不是很满意', 'zh')).toBe('negative');
    expect(label('一点也不满意', 'zh')).toBe('negative');
    expect(label('不难看', 'zh')).toBe('positive');
    expect(label('没有任何问题', 'zh')).toBe('positive');
    expect(label('good', 'en')).toBe('positive');
    expect(label('not good', 'en')).toBe('negative');
    expect(label('not very good', 'en')).toBe('negative');
    expect(label('not bad at all', 'en')).toBe('positive');
    // "never" belongs to the first clause; "awful" is not negated by it.
    expect(label('Support never replied, awful experience', 'en')).toBe('negative');
  });

  it('degree words strengthen and the clause after a contrast word decides', () => {
    expect(score('非常满意', 'zh')).toBeGreaterThan(score('满意', 'zh'));
    expect(score('有点失望', 'zh')).toBeGreaterThan(score('很失望', 'zh'));
    expect(label('面料不错，但是起球', 'zh')).toBe('negative');
    expect(label('有点贵，不过质量很好', 'zh')).toBe('positive');
  });

  it('longest match wins: 不错 is not 不 + 错, 快递 is not 快', () => {
    expect(segmentChinese('不错').map((t) => t.text)).toEqual(['不错']);
    expect(segmentChinese('快递很快').map((t) => [t.text, t.kind])).toEqual([
      ['快递', 'neutral'],
      ['很快', 'sentiment'],
    ]);
  });

  it('labels every sentence the sample generator writes as the generator meant it', () => {
    for (const lang of ['zh', 'en'] as const) {
      for (const text of POSITIVE_TEXT[lang]) expect(label(text, lang), text).toBe('positive');
      for (const text of NEGATIVE_TEXT[lang]) expect(label(text, lang), text).toBe('negative');
    }
  });

  it('scores stay within -1..1, the label follows the score, and the result is deterministic', () => {
    const long = '好'.repeat(200);
    expect(score(long, 'zh')).toBeLessThanOrEqual(1);
    expect(score('垃圾'.repeat(200), 'zh')).toBeGreaterThanOrEqual(-1);
    expect(normaliseLexiconSum(0)).toBe(0);
    expect(normaliseLexiconSum(-3)).toBeCloseTo(-3 / Math.sqrt(24));
    expect(labelFor(0.04)).toBe('neutral');
    expect(labelFor(0.05)).toBe('positive');
    expect(labelFor(-0.05)).toBe('negative');
    expect(lexiconScorer.score('质量很好，非常满意', 'zh')).toEqual(lexiconScorer.score('质量很好，非常满意', 'zh'));
  });

  it('names itself with the versions of both lexicons', () => {
    expect(lexiconScorer.name).toBe('lexicon-zh-en');
    expect(lexiconScorer.version).toMatch(/^afinn165-sentiment@5\.0\.2\+crm-zh-shop-lexicon@\d+$/);
  });

  it('withSentiment adds score, label, scorer and version; keeps a platform-supplied score; leaves unusable text alone', () => {
    const scored = withSentiment({ post_id: 'P1', text: '退货太麻烦了', lang: 'zh' });
    expect(scored).toMatchObject({ sentiment_label: 'negative', scorer: 'lexicon-zh-en', scorer_version: lexiconScorer.version });
    expect(scored.sentiment_score as number).toBeLessThan(-0.05);
    const supplied = { post_id: 'P2', text: 'fine', sentiment_score: 0.9, sentiment_label: 'positive', scorer: 'platform' };
    expect(withSentiment(supplied)).toBe(supplied);
    expect(withSentiment({ post_id: 'P3', text: '' })).toEqual({ post_id: 'P3', text: '' });
    // Pluggable: any scorer with a name, a version and score().
    const constant: SentimentScorer = { name: 'constant', version: '0', score: () => ({ score: 0, label: 'neutral' }) };
    expect(withSentiment({ text: 'anything' }, constant)).toMatchObject({ sentiment_score: 0, scorer: 'constant', scorer_version: '0' });
  });

  it('guesses the language from the script when a post does not declare zh or en', () => {
    expect(languageOf('质量很好', undefined)).toBe('zh');
    expect(languageOf('great', 'fr')).toBe('en');
    expect(languageOf('质量很好', 'en')).toBe('en');
  });
});
