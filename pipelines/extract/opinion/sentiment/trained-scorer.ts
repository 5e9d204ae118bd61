import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { envValue } from '../../../../shared/env.ts';
import { projectRoot } from '../../../../shared/paths.ts';
import { lexiconScorer } from './default-scorer.ts';
import { loadModel, type LinearModel, type Prediction } from './linear/linear-model.ts';
import { type SentimentLabel, type SentimentLang, type SentimentScorer } from './sentiment-scorer.ts';

/**
 * The trained scorers and how the default is chosen. Per language:
 * 1. a shop-adapted model in the model folder ($CRM_SENTIMENT_MODEL_DIR, default
 *    data/models/sentiment/<lang>-adapted.bin), written by `crm sentiment adapt` only when it beat
 *    the shipped model on the shop's held-out reviews;
 * 2. else the shipped model (models/<lang>-linear.bin beside this file, made by `crm sentiment train`);
 * 3. else (a model file missing or unreadable) the lexicon scorer for every language, so scores never
 *    mix two scorers under one name.
 * Models are read once per process and file.
 */
export const SHIPPED_MODEL_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'models');
export const TRAINED_SCORER_NAME = 'linear-zh-en';
export const SENTIMENT_LANGS: readonly SentimentLang[] = ['zh', 'en'];

export function shippedModelPath(lang: SentimentLang): string {
  return path.join(SHIPPED_MODEL_DIR, `${lang}-linear.bin`);
}

export function resolveSentimentModelDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(projectRoot, envValue('CRM_SENTIMENT_MODEL_DIR', env) ?? 'data/models/sentiment');
}

export function adaptedModelPath(lang: SentimentLang, modelDir = resolveSentimentModelDir()): string {
  return path.join(modelDir, `${lang}-adapted.bin`);
}

const cache = new Map<string, { mtimeMs: number; model: LinearModel }>();

/** The model in `file`, read once (again only when the file changed); null when absent. */
export function cachedModel(file: string): LinearModel | null {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    return null;
  }
  const hit = cache.get(file);
  if (hit && hit.mtimeMs === stat.mtimeMs) return hit.model;
  const model = loadModel(file);
  cache.set(file, { mtimeMs: stat.mtimeMs, model });
  return model;
}

export interface PredictingScorer extends SentimentScorer {
  predict(text: string, lang: SentimentLang): Prediction;
}

/** A scorer over one model per language. */
export function linearScorer(models: Record<SentimentLang, LinearModel>, name = TRAINED_SCORER_NAME): PredictingScorer {
  const predict = (text: string, lang: SentimentLang) => models[lang].predict(text);
  return {
    name,
    version: `${models.zh.version}+${models.en.version}`,
    predict,
    score(text, lang) {
      const { score, label } = predict(text, lang);
      return { score, label };
    },
  };
}

/** The lexicon as a predicting scorer (its probabilities: 1 for its label, 0 for the others). */
export const lexiconPredictor: PredictingScorer = {
  ...lexiconScorer,
  predict(text, lang) {
    const { score, label } = lexiconScorer.score(text, lang);
    const probabilities: Record<SentimentLabel, number> = { negative: 0, neutral: 0, positive: 0 };
    probabilities[label] = 1;
    return { score, label, probabilities };
  },
};

export type ScorerChoice = 'default' | 'linear' | 'lexicon';
export const SCORER_CHOICES: Record<string, ScorerChoice> = {
  default: 'default',
  adapted: 'default',
  linear: 'linear',
  [TRAINED_SCORER_NAME]: 'linear',
  lexicon: 'lexicon',
  [lexiconScorer.name]: 'lexicon',
};

export interface ResolvedScorer {
  scorer: PredictingScorer;
  /** Per language, the model file used (null: lexicon). */
  files: Record<SentimentLang, string | null>;
  /** Why the lexicon was used, when it was. */
  fallback?: string;
}

/**
 * The scorer for `choice`: "default" (adapted where present, else shipped), "linear" (shipped only),
 * "lexicon". A missing or unreadable shipped model falls back to the lexicon and says why.
 */
export function resolveScorer(choice: ScorerChoice = 'default', modelDir = resolveSentimentModelDir()): ResolvedScorer {
  if (choice === 'lexicon') return { scorer: lexiconPredictor, files: { zh: null, en: null } };
  try {
    const files = {} as Record<SentimentLang, string>;
    const models = {} as Record<SentimentLang, LinearModel>;
    for (const lang of SENTIMENT_LANGS) {
      const adapted = choice === 'default' ? adaptedModelPath(lang, modelDir) : null;
      const adaptedModel = adapted ? cachedModel(adapted) : null;
      const file = adaptedModel ? adapted! : shippedModelPath(lang);
      const model = adaptedModel ?? cachedModel(file);
      if (!model) throw new Error(`no sentiment model at ${file}`);
      files[lang] = file;
      models[lang] = model;
    }
    return { scorer: linearScorer(models), files };
  } catch (error) {
    return { scorer: lexiconPredictor, files: { zh: null, en: null }, fallback: error instanceof Error ? error.message : String(error) };
  }
}

/** The scorer the pipeline uses at load. */
export function defaultScorer(): SentimentScorer {
  return resolveScorer('default').scorer;
}
