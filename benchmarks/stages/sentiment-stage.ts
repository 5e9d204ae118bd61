import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { lexiconScorer } from '../../pipelines/extract/opinion/sentiment/default-scorer.ts';
import { readLabelledFile, type LabelledText } from '../../pipelines/extract/opinion/sentiment/linear/labelled-data.ts';
import { evaluateScorer } from '../../pipelines/extract/opinion/sentiment/linear/train.ts';
import { cachedModel, shippedModelPath } from '../../pipelines/extract/opinion/sentiment/trained-scorer.ts';
import type { SentimentLang } from '../../pipelines/extract/opinion/sentiment/sentiment-scorer.ts';
import { NEGATIVE_TEXT, POSITIVE_TEXT } from '../../pipelines/sources/sample-data/catalog.ts';
import { projectRoot } from '../../shared/paths.ts';
import { round, type StageResult } from '../stage-result.ts';

/** The target: the trained scorer scores at least 50,000 texts per second on one core. */
export const SENTIMENT_GOAL_TEXTS_PER_SECOND = 50_000;
const DATASETS = path.resolve(projectRoot, '..', 'shared', 'datasets');

function textsPerSecond(score: (text: string) => unknown, texts: readonly string[], minSeconds: number): number {
  for (const t of texts.slice(0, 2000)) score(t); // warm-up
  let scored = 0;
  const started = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minSeconds) {
    for (const t of texts) score(t);
    scored += texts.length;
    elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  }
  return scored / elapsed;
}

/**
 * Stage 7: the sentiment scorers, in this process (one core): texts per second of the shipped linear
 * models beside the lexicon scorer on the same texts (real reviews when ../shared/datasets is there,
 * else the sample generator's sentences), and their accuracy on the held-out groups beside the lexicon's.
 */
export function sentimentStage(log: (line: string) => void, smoke: boolean): StageResult {
  const rows: StageResult['rows'] = [];
  const notes: string[] = [];
  let met = true;
  const loadBefore = os.loadavg()[0]!;
  for (const lang of ['zh', 'en'] as const satisfies readonly SentimentLang[]) {
    const model = cachedModel(shippedModelPath(lang));
    if (!model) throw new Error(`no shipped sentiment model for ${lang}`);
    const files =
      lang === 'zh'
        ? [path.join(DATASETS, 'reviews-zh', 'online_shopping_9_cats.csv')]
        : ['amazon_cells', 'imdb', 'yelp'].map((s) => path.join(DATASETS, 'reviews-en', `${s}_labelled.txt`));
    const real = files.every((f) => fs.existsSync(f));
    const data: LabelledText[] = real ? files.flatMap((f) => readLabelledFile(f).rows) : [];
    const texts = real ? data.map((d) => d.text) : [...POSITIVE_TEXT[lang], ...NEGATIVE_TEXT[lang]];
    log(`sentiment ${lang}: timing on ${texts.length} ${real ? 'real reviews' : 'sample sentences'}`);
    const seconds = smoke ? 0.5 : 3;
    const ours = textsPerSecond((t) => model.predict(t), texts, seconds);
    const lexicon = textsPerSecond((t) => lexiconScorer.score(t, lang), texts, seconds);
    met &&= ours >= SENTIMENT_GOAL_TEXTS_PER_SECOND;
    rows.push({
      label: `${lang}: ${model.version} texts/s on one core (baseline: lexicon-zh-en on the same texts)`,
      value: Math.round(ours),
      unit: 'texts/s',
      baseline: Math.round(lexicon),
      ratio: round(ours / lexicon, 3),
    });
    if (real) {
      const heldOut = data.filter((d) => model.header.card.heldOut.includes(d.group));
      const a = evaluateScorer({ score: (t) => model.predict(t) }, heldOut, lang);
      const l = evaluateScorer(lexiconScorer, heldOut, lang);
      rows.push({
        label: `${lang}: accuracy on held-out ${model.header.card.heldOut.join(', ')} (baseline: the lexicon)`,
        value: a.accuracy,
        unit: 'share',
        baseline: l.accuracy,
        ratio: round(a.accuracy / l.accuracy, 3),
      });
      notes.push(
        `${lang} held out: macro-F1 ${a.macroF1} (lexicon ${l.macroF1}), neutral ${round(a.neutralShare * 100, 1)} % (lexicon ${round(l.neutralShare * 100, 1)} %), ${heldOut.length} texts`,
      );
    } else notes.push(`${lang}: ../shared/datasets absent, timed on the sample sentences only (no accuracy)`);
  }
  notes.push(`machine load (1-minute average) ${round(loadBefore)} before, ${round(os.loadavg()[0]!)} after`);
  return {
    stage: 'sentiment',
    title: 'Sentiment scoring: shipped linear models vs the lexicon, speed and held-out accuracy',
    goal: `at least ${SENTIMENT_GOAL_TEXTS_PER_SECOND.toLocaleString('en-US')} texts/s on one core per language`,
    met,
    rows,
    notes,
  };
}
