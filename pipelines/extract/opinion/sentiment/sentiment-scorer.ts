/**
 * The pluggable sentiment scorer: anything with a name, a version and a score(text, lang) can score
 * opinion posts at load. Every scored row records the scorer's name and version, so scores from
 * different scorers (or lexicon versions) are never mixed up silently in the marts.
 */
export type SentimentLabel = 'negative' | 'neutral' | 'positive';
export type SentimentLang = 'zh' | 'en';

export interface SentimentResult {
  /** -1 (most negative) .. 1 (most positive). */
  score: number;
  label: SentimentLabel;
}

export interface SentimentScorer {
  name: string;
  version: string;
  score(text: string, lang: SentimentLang): SentimentResult;
}

/**
 * Maps an unbounded lexicon sum onto -1..1 the way VADER does (x / sqrt(x^2 + alpha), alpha = 15):
 * one strong word gives about +-0.6, several push towards +-1, and the sign never changes.
 */
export function normaliseLexiconSum(sum: number, alpha = 15): number {
  if (sum === 0) return 0;
  return sum / Math.sqrt(sum * sum + alpha);
}

/** VADER's thresholds: a score within +-0.05 of zero is neutral. */
export function labelFor(score: number): SentimentLabel {
  if (score >= 0.05) return 'positive';
  if (score <= -0.05) return 'negative';
  return 'neutral';
}

export function resultFromSum(sum: number): SentimentResult {
  const score = Math.round(normaliseLexiconSum(sum) * 10_000) / 10_000;
  return { score, label: labelFor(score) };
}

const CJK = /[\u3400-\u9fff\uf900-\ufaff]/;

/** The post's declared language when it is zh or en; otherwise guessed from the script. */
export function languageOf(text: string, declared: unknown): SentimentLang {
  if (declared === 'zh' || declared === 'en') return declared;
  return CJK.test(text) ? 'zh' : 'en';
}

/** Splits text into clauses at punctuation (Chinese and Latin), so negation never crosses a comma. */
export function clauses(text: string): string[] {
  return text
    .split(/[,.!?;:，。！？；：、\n\r…~～]+/u)
    .map((c) => c.trim())
    .filter((c) => c.length > 0);
}
