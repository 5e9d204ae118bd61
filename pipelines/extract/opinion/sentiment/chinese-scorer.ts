import { createRequire } from 'node:module';
import { clauses, resultFromSum, type SentimentResult } from './sentiment-scorer.ts';

/**
 * Chinese: a lexicon scorer over zh-lexicon.json (shipped with the project; see its "about").
 * Chinese has no spaces, so the text is cut by forward maximum matching against the lexicon
 * (longest entry first: 不错 beats 不, 快递 beats 快); characters outside it are neutral. In each
 * clause a sentiment word is scaled by the degree adverbs just before it (很, 非常, 有点) and
 * flipped, damped to 0.8 as VADER does, by an odd number of negators (不, 没有, 不是) up to three
 * tokens back. After a contrast word (但是, 不过) the clause counts 1.5x and the text before it 0.5x.
 */
interface ZhLexicon {
  name: string;
  version: string;
  positive: Record<string, number>;
  negative: Record<string, number>;
  negators: string[];
  degree: Record<string, number>;
  neutral: string[];
  contrast: string[];
}

const require = createRequire(import.meta.url);
export const ZH_LEXICON: ZhLexicon = require('./zh-lexicon.json');
export const CHINESE_SCORER_VERSION = `${ZH_LEXICON.name}@${ZH_LEXICON.version}`;

type Kind = 'sentiment' | 'negator' | 'degree' | 'neutral' | 'contrast' | 'other';
interface Token {
  text: string;
  kind: Kind;
  weight: number;
}

const ENTRIES = new Map<string, { kind: Kind; weight: number }>();
// Order matters where one word is in two lists: sentiment words win over the rest.
for (const word of ZH_LEXICON.neutral) ENTRIES.set(word, { kind: 'neutral', weight: 0 });
for (const word of ZH_LEXICON.contrast) ENTRIES.set(word, { kind: 'contrast', weight: 0 });
for (const [word, weight] of Object.entries(ZH_LEXICON.degree)) ENTRIES.set(word, { kind: 'degree', weight });
for (const word of ZH_LEXICON.negators) ENTRIES.set(word, { kind: 'negator', weight: 0 });
for (const [word, weight] of Object.entries({ ...ZH_LEXICON.positive, ...ZH_LEXICON.negative }))
  ENTRIES.set(word, { kind: 'sentiment', weight });
const LONGEST = Math.max(...[...ENTRIES.keys()].map((w) => w.length));

const NEGATION_SCALAR = -0.8;
const WINDOW = 3;

/** Forward maximum matching: the longest lexicon entry at each position, else one character. */
export function segmentChinese(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    let matched: Token | null = null;
    for (let len = Math.min(LONGEST, text.length - i); len >= 1; len--) {
      const entry = ENTRIES.get(text.slice(i, i + len));
      if (entry) {
        matched = { text: text.slice(i, i + len), ...entry };
        break;
      }
    }
    matched ??= { text: text[i]!, kind: 'other', weight: 0 };
    tokens.push(matched);
    i += matched.text.length;
  }
  return tokens;
}

function scoreClause(tokens: Token[]): number {
  let sum = 0;
  tokens.forEach((token, index) => {
    if (token.kind !== 'sentiment') return;
    let value = token.weight;
    let negations = 0;
    for (let back = 1; back <= WINDOW && index - back >= 0; back++) {
      const before = tokens[index - back]!;
      if (before.kind === 'sentiment' || before.kind === 'contrast') break;
      if (before.kind === 'negator') negations += 1;
      if (before.kind === 'degree') value *= before.weight;
    }
    if (negations % 2 === 1) value *= NEGATION_SCALAR;
    sum += value;
  });
  return sum;
}

export function scoreChinese(text: string): SentimentResult {
  let sum = 0;
  for (const clause of clauses(text)) {
    const tokens = segmentChinese(clause);
    const pivot = tokens.findIndex((t) => t.kind === 'contrast');
    if (pivot >= 0) {
      // "Good fabric, but it pills": the part after the contrast word carries the verdict.
      sum = sum * 0.5 + scoreClause(tokens.slice(0, pivot)) * 0.5 + scoreClause(tokens.slice(pivot + 1)) * 1.5;
    } else {
      sum += scoreClause(tokens);
    }
  }
  return resultFromSum(sum);
}
