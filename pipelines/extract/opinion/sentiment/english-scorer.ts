import { createRequire } from 'node:module';
import Sentiment from 'sentiment';
import { clauses, resultFromSum, type SentimentResult } from './sentiment-scorer.ts';

/**
 * English: the AFINN-165 word list as shipped by the `sentiment` package (its tokenizer and
 * scoring loop), with two changes that matter for reviews: text is scored clause by clause (the
 * package drops punctuation, so "never replied, awful" would otherwise negate "awful"), and a
 * negator up to three words back flips a word ("not very good"), where the package looks one back.
 * A few shop words AFINN lacks ("nightmare", "flimsy") are added as extras.
 */
const require = createRequire(import.meta.url);
const AFINN: Record<string, number> = require('sentiment/languages/en/labels.json');
const PACKAGE_VERSION: string = require('sentiment/package.json').version;

const NEGATORS = new Set([
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
  'non',
  'cant',
  "can't",
  'cannot',
  'dont',
  "don't",
  'doesnt',
  "doesn't",
  'didnt',
  "didn't",
  'isnt',
  "isn't",
  'wasnt',
  "wasn't",
  'arent',
  "aren't",
  'werent',
  "weren't",
  'wont',
  "won't",
  'wouldnt',
  "wouldn't",
  'couldnt',
  "couldn't",
  'shouldnt',
  "shouldn't",
  'havent',
  "haven't",
  'hasnt',
  "hasn't",
]);
const NEGATION_WINDOW = 3;

/** Shop-review words missing from AFINN-165 (AFINN's scale: -5..5). */
export const ENGLISH_EXTRAS: Readonly<Record<string, number>> = {
  nightmare: -3,
  flimsy: -2,
  overpriced: -2,
  comfy: 2,
  faded: -1,
  ripped: -2,
  refunded: 0,
  unresponsive: -2,
};

const LANGUAGE = 'en_crm';
const engine = new Sentiment();
engine.registerLanguage(LANGUAGE, {
  labels: { ...AFINN, ...ENGLISH_EXTRAS },
  scoringStrategy: {
    apply(tokens: string[], cursor: number, tokenScore: number): number {
      for (let back = 1; back <= NEGATION_WINDOW && cursor - back >= 0; back++) {
        if (NEGATORS.has(tokens[cursor - back]!)) return -tokenScore;
      }
      return tokenScore;
    },
  },
});

export const ENGLISH_SCORER_VERSION = `afinn165-sentiment@${PACKAGE_VERSION}`;

export function scoreEnglish(text: string): SentimentResult {
  let sum = 0;
  for (const clause of clauses(text)) sum += engine.analyze(clause, { language: LANGUAGE }).score;
  return resultFromSum(sum);
}
