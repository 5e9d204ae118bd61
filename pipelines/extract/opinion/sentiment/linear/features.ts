/**
 * Hashed n-gram features for the trained linear scorers (no vocabulary is stored: every n-gram is
 * hashed, FNV-1a with a final mix, into 2^bits buckets, so the weights are one dense array).
 *
 * Chinese: character 1-, 2- and 3-grams within each clause, with clause-boundary markers (so "不好"
 * at a clause start differs from "...不好" inside a longer word run). English: lower-cased word
 * unigrams and bigrams, and character 3- to 5-grams of each word with word-boundary markers.
 *
 * Negation and contrast are features, not rules:
 * - English: every word after a negator ("not", "never", "n't", "no", "without") up to the end of the
 *   clause is also emitted with a negation mark, so "not bad" gives the feature !bad, whose weight is
 *   learnt; Chinese negation sits inside the character n-grams themselves (不好, 不是不, 没问题).
 * - Both: a clause that follows a contrast word (但是, 不过, 就是, but, however, ...) emits its n-grams
 *   a second time in a "verdict" namespace, and a clause before one in a "concession" namespace; the
 *   model learns that what follows "but" carries the verdict ("好是好，就是太贵").
 * The feature vector is the n-gram counts scaled by 1/sqrt(count), so long and short texts compare.
 */
import { createRequire } from 'node:module';
import { ENGLISH_EXTRAS } from '../english-scorer.ts';

export type FeatureLang = 'zh' | 'en';

export interface FeatureSpec {
  lang: FeatureLang;
  /** log2 of the number of hash buckets. */
  bits: number;
  /** Character n-gram lengths (zh: of the clause; en: of each word with boundary marks). */
  charNgrams: number[];
  /** English word n-grams (1 = unigrams, 2 = bigrams). Ignored for zh. */
  wordNgrams: number[];
  /**
   * Also emit each lexicon word's polarity (-5..5) as a shared feature, negation-marked: AFINN-165 for
   * en (shipped on), zh-lexicon.json for zh (measured, off in the shipped recipe; docs/sentiment.md).
   */
  lexicon?: boolean;
  /** The litotes rule layer (see rewriteLitotes) before the n-grams, and the contrast rule at prediction. */
  rules?: boolean;
}

export const DEFAULT_SPECS: Readonly<Record<FeatureLang, FeatureSpec>> = {
  zh: { lang: 'zh', bits: 18, charNgrams: [1, 2, 3], wordNgrams: [], rules: true },
  en: { lang: 'en', bits: 17, charNgrams: [], wordNgrams: [1, 2], lexicon: true, rules: true },
};

// Namespaces: a seed per kind of feature, so the same string in two roles hashes apart.
const NS_PLAIN = 0x9e3779b1;
const NS_VERDICT = 0x85ebca77;
const NS_CONCESSION = 0xc2b2ae3d;
const NS_WORD = 0x27d4eb2f;
const NS_NEGATED = 0x165667b1;
const NS_BIGRAM = 0xd3a2646c;
const NS_CHAR = 0xfd7046c5;

const NS_LEXICON = 0x2545f491;
const FNV_PRIME = 16777619;

const require = createRequire(import.meta.url);
/** AFINN-165 as shipped by the `sentiment` package with the English lexicon scorer's shop extras. */
const AFINN = new Map<string, number>(
  Object.entries({ ...(require('sentiment/languages/en/labels.json') as Record<string, number>), ...ENGLISH_EXTRAS }),
);

function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function hashString(seed: number, s: string, from = 0, to = s.length): number {
  let h = seed | 0;
  for (let i = from; i < to; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  return h;
}

const ZH_LEXICON = require('../zh-lexicon.json') as {
  negators: string[];
  negative: Record<string, number>;
  positive: Record<string, number>;
};
/** zh-lexicon.json polarity per word (positive and negative words), for the zh lexicon features. */
const ZH_POLARITY = new Map<string, number>([
  ...Object.entries(ZH_LEXICON.positive).map(([w, v]) => [w, Math.abs(v)] as [string, number]),
  ...Object.entries(ZH_LEXICON.negative).map(([w, v]) => [w, -Math.abs(v)] as [string, number]),
]);
const ZH_POLARITY_MAX = Math.max(...[...ZH_POLARITY.keys()].map((w) => w.length));
const ZH_NEGATORS = new Set(ZH_LEXICON.negators);
const byLengthDesc = (words: string[]) => [...words].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
const escape = (w: string) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** 不是不X / 并非不X: the two negations cancel. */
const ZH_DOUBLE_NEGATION = /(?:不是|并不是|并非|没有)不/g;
/** A negator, at most two characters, then a negative word of the zh lexicon: 不难看, 没有任何问题, 不是不好. */
const ZH_LITOTES = new RegExp(
  `(?:${byLengthDesc(ZH_LEXICON.negators).map(escape).join('|')})[^\\s，。！？、,.!?;；]{0,2}?(?:${byLengthDesc(Object.keys(ZH_LEXICON.negative)).map(escape).join('|')})`,
  'g',
);
/** English warnings that keep their sense under a negator ("don't waste your money"). */
const EN_LITOTES_EXCEPTIONS = new Set(['waste', 'wasted', 'wasting', 'risk', 'miss', 'fall']);

/**
 * The rule layer for litotes, which reviews use often and training sets hold too rarely for the
 * n-grams to learn: a negated negative word is rewritten as a plain positive before the features
 * are taken. Chinese: "不是不好" -> "好"-like, "不难看" / "没有任何问题" -> "不错" (negators and
 * negative words of zh-lexicon.json). English: a negator with an AFINN-negative word at most three
 * words on ("not bad at all", "can't complain", "no problems") -> "good", except warnings such as
 * "don't waste".
 */
export function rewriteLitotes(text: string, lang: FeatureLang): string {
  if (lang === 'zh') return text.replace(ZH_DOUBLE_NEGATION, '').replace(ZH_LITOTES, '不错');
  return text;
}

const ZH_CONTRAST_SPLIT = /[，。！？、,.!?;；\s~～…]+(?:但是|但|不过|可是|就是|只是|然而|可惜|却)/gu;
const EN_CONTRAST_SPLIT = /\b(?:but|however)\b/g;

/**
 * The contrast rule: where a clause opens with a contrast word ("好是好，就是太贵", "nice, but
 * too small"), the text splits at the last one; the prediction weighs the part after it 3:1 over the
 * part before (see LinearModel.logits). Returns the offset of the split, or -1.
 */
export function contrastSplit(text: string, lang: FeatureLang): number {
  const pattern = lang === 'zh' ? ZH_CONTRAST_SPLIT : EN_CONTRAST_SPLIT;
  pattern.lastIndex = 0;
  let at = -1;
  for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) if (m.index > 0) at = m.index;
  return at;
}

function rewriteEnglishLitotes(words: string[]): string[] {
  let out: string[] | null = null;
  for (let i = 0; i < words.length; i++) {
    if (!EN_NEGATORS.has(words[i]!)) continue;
    for (let j = i + 1; j <= i + 3 && j < words.length; j++) {
      const polarity = AFINN.get(words[j]!);
      if (polarity === undefined) continue;
      if (polarity < 0 && !EN_LITOTES_EXCEPTIONS.has(words[j]!)) {
        out ??= [...words];
        out.splice(i, j - i + 1, 'good', ...new Array<string>(j - i).fill(''));
      }
      break;
    }
  }
  return out ? out.filter((w) => w !== '') : words;
}

/** Clause separators, Chinese and Latin (a comma ends a negation scope). */
const SEPARATOR = /[,.!?;:，。！？；：、\n\r…~～()（）[\]【】"“”]+/u;

const ZH_CONTRAST = ['但是', '但', '不过', '可是', '就是', '只是', '然而', '可惜', '却'];
const EN_CONTRAST = new Set(['but', 'however', 'though', 'although', 'yet', 'except', 'unfortunately']);
const EN_NEGATORS = new Set([
  'not',
  'no',
  'never',
  'nothing',
  'none',
  'nor',
  'neither',
  'without',
  'hardly',
  'barely',
  'cannot',
  'cant',
  'dont',
  'doesnt',
  'didnt',
  'isnt',
  'wasnt',
  'arent',
  'werent',
  'wont',
  'wouldnt',
  'couldnt',
  'shouldnt',
  'havent',
  'hasnt',
  'aint',
]);

/** Where a Chinese clause's contrast word sits (-1: none). */
function zhContrastAt(clause: string): number {
  for (const word of ZH_CONTRAST) {
    const at = clause.indexOf(word);
    if (at >= 0) return at;
  }
  return -1;
}

/**
 * A reusable feature buffer: featurize() fills `indices` with `count` bucket numbers (repeats
 * allowed) and returns the value each carries (1/sqrt(count)). One per thread of work; not shared.
 */
export class Featurizer {
  indices = new Int32Array(4096);
  count = 0;
  private readonly mask: number;

  constructor(readonly spec: FeatureSpec) {
    this.mask = (1 << spec.bits) - 1;
  }

  private push(h: number): void {
    if (this.count === this.indices.length) {
      const bigger = new Int32Array(this.indices.length * 2);
      bigger.set(this.indices);
      this.indices = bigger;
    }
    this.indices[this.count++] = mix(h) & this.mask;
  }

  /** Fills the buffer for `text`; returns the feature value (0 when the text has no features). */
  featurize(text: string): number {
    this.count = 0;
    if (this.spec.lang === 'zh') this.zh(this.spec.rules ? rewriteLitotes(text.toLowerCase(), 'zh') : text.toLowerCase());
    else this.en(text.toLowerCase());
    if (this.count === 0) return 0;
    return 1 / Math.sqrt(this.count);
  }

  private zh(text: string): void {
    const parts = text
      .split(SEPARATOR)
      .map((c) => c.trim())
      .filter((c) => c !== '');
    let afterContrast = false;
    for (let p = 0; p < parts.length; p++) {
      const clause = parts[p]!;
      this.zhClause(clause, 0, clause.length, NS_PLAIN);
      if (this.spec.lexicon) this.zhLexicon(clause);
      const at = zhContrastAt(clause);
      if (afterContrast) this.zhClause(clause, 0, clause.length, NS_VERDICT);
      else if (at >= 0) {
        // "好是好，就是太贵": before the contrast word a concession, from it on the verdict.
        this.zhClause(clause, 0, at, NS_CONCESSION);
        this.zhClause(clause, at, clause.length, NS_VERDICT);
        afterContrast = true;
      } else if (p + 1 < parts.length && zhContrastAt(parts[p + 1]!) === 0) {
        this.zhClause(clause, 0, clause.length, NS_CONCESSION);
      }
    }
  }

  /**
   * The zh lexicon's polarity as shared features: the longest lexicon word at each position emits
   * its polarity (negation-marked when a negator ends within two characters before it), so
   * sentiment words the training categories rarely used still count.
   */
  private zhLexicon(clause: string): void {
    for (let i = 0; i < clause.length; i++) {
      for (let n = Math.min(ZH_POLARITY_MAX, clause.length - i); n >= 1; n--) {
        const polarity = ZH_POLARITY.get(clause.slice(i, i + n));
        if (polarity === undefined) continue;
        const negated =
          (i >= 1 && ZH_NEGATORS.has(clause.slice(i - 1, i))) ||
          (i >= 2 && (ZH_NEGATORS.has(clause.slice(i - 2, i)) || ZH_NEGATORS.has(clause.slice(i - 2, i - 1))));
        const h = Math.imul(NS_LEXICON ^ (Math.max(-5, Math.min(5, Math.round(polarity))) + 8), FNV_PRIME);
        this.push(negated ? h ^ NS_NEGATED : h);
        i += n - 1;
        break;
      }
    }
  }

  /** Character n-grams of clause[from, to), with boundary markers (code 2 start, 3 end). */
  private zhClause(clause: string, from: number, to: number, ns: number): void {
    if (to <= from) return;
    for (const n of this.spec.charNgrams) {
      for (let i = from - 1; i + n <= to + 1; i++) {
        if (n === 1 && (i < from || i >= to)) continue;
        let h = Math.imul(ns ^ n, FNV_PRIME);
        for (let j = i; j < i + n; j++) {
          const code = j < from ? 2 : j >= to ? 3 : clause.charCodeAt(j);
          h = Math.imul(h ^ code, FNV_PRIME);
        }
        this.push(h);
      }
    }
  }

  private en(text: string): void {
    const parts = text.replace(/n't\b/g, ' not').replace(/['’]/g, '').split(SEPARATOR);
    let afterContrast = false;
    for (const raw of parts) {
      const split = raw.split(/[^a-z0-9]+/).filter((w) => w !== '');
      const words = this.spec.rules ? rewriteEnglishLitotes(split) : split;
      if (words.length === 0) continue;
      let negated = false;
      let previous = 0x811c9dc5;
      for (let w = 0; w < words.length; w++) {
        const word = words[w]!;
        if (EN_CONTRAST.has(word)) {
          afterContrast = true;
          negated = false;
        }
        const wordHash = hashString(NS_WORD, word);
        if (this.spec.wordNgrams.includes(1)) {
          this.push(wordHash);
          if (negated) this.push(wordHash ^ NS_NEGATED);
          if (afterContrast) this.push(wordHash ^ NS_VERDICT);
        }
        if (this.spec.wordNgrams.includes(2)) {
          this.push(Math.imul(previous ^ NS_BIGRAM, FNV_PRIME) ^ wordHash);
        }
        previous = wordHash;
        this.enChars(word);
        if (this.spec.lexicon) {
          const polarity = AFINN.get(word);
          if (polarity !== undefined) {
            // The word's lexicon polarity, a feature shared by every word of that polarity, so the
            // model also knows sentiment words its training sites never used.
            const h = Math.imul(NS_LEXICON ^ (polarity + 8), FNV_PRIME);
            this.push(negated ? h ^ NS_NEGATED : h);
            if (afterContrast) this.push(h ^ NS_VERDICT);
          }
        }
        if (EN_NEGATORS.has(word)) negated = true;
      }
      this.push(Math.imul(previous ^ NS_BIGRAM, FNV_PRIME) ^ 0x5bd1e995);
    }
  }

  /** Character n-grams of "<word>". */
  private enChars(word: string): void {
    const padded = word.length + 2;
    for (const n of this.spec.charNgrams) {
      if (n > padded) continue;
      for (let i = 0; i + n <= padded; i++) {
        let h = Math.imul(NS_CHAR ^ n, FNV_PRIME);
        for (let j = i; j < i + n; j++) {
          const code = j === 0 ? 2 : j === padded - 1 ? 3 : word.charCodeAt(j - 1);
          h = Math.imul(h ^ code, FNV_PRIME);
        }
        this.push(h);
      }
    }
  }
}
