import fs from 'node:fs';
import { contrastSplit, Featurizer, type FeatureSpec } from './features.ts';
import { lexiconScorer } from '../default-scorer.ts';
import type { SentimentLabel } from '../sentiment-scorer.ts';

/**
 * A trained linear sentiment model: softmax regression over hashed n-grams (features.ts), K rows
 * of 2^bits weights. Two kinds:
 * - binary (classes negative, positive): trained on polarity-labelled reviews. Its probability is
 *   calibrated (Platt scaling of the logit difference, fitted on predictions for categories the model
 *   did not see) and "neutral" is an abstention band: a text whose calibrated P(positive) lies within
 *   `neutralBand` of 0.5 is labelled neutral (its probabilities are still reported as they are).
 * - three-class (negative, neutral, positive): a shop-adapted model (`crm sentiment adapt`) trained
 *   on star ratings, where 3 stars is a real neutral class; the label is the most probable class.
 * The score is P(positive) - P(negative), -1..1.
 *
 * File format (`.bin`): "CRMS", a uint32 LE header length, the header (UTF-8 JSON: everything but the
 * weights, the model card included), then K rows of 2^bits int16 LE weights, each row quantised with
 * its own scale (weight = int16 * scale).
 */
export const MODEL_FORMAT = 'crm-sentiment-linear/1';

export interface HeldOutFigures {
  /** What was held out, e.g. "category 书籍" or "site amazon". */
  group: string;
  texts: number;
  accuracy: number;
  macroF1: number;
  neutralShare: number;
  /** Rows: true label; columns: predicted negative, neutral, positive. */
  confusion: number[][];
  lexicon?: { accuracy: number; macroF1: number; neutralShare: number; confusion: number[][] };
}

export interface ModelCard {
  trainedAt: string;
  data: { files: { path: string; sha256: string; rows: number }[]; groups: Record<string, number> };
  recipe: Record<string, unknown>;
  trainedOn: string[];
  heldOut: string[];
  /** Figures on texts of groups each model never saw (the shipped model's held-out groups, and
   * for the groups it trained on, a model trained without that group). */
  figures: HeldOutFigures[];
  summary?: Record<string, unknown>;
  notes?: string[];
}

export interface LinearModelHeader {
  format: typeof MODEL_FORMAT;
  name: string;
  version: string;
  lang: 'zh' | 'en';
  classes: SentimentLabel[];
  spec: FeatureSpec;
  bias: number[];
  scales: number[];
  /**
   * Binary models: P(positive) = sigmoid(a * (z_pos - z_neg) + lexicon * s + b), s the lexicon
   * scorer's score (-1..1) of the text (lexicon absent or 0: not used). Three-class: softmax(z / t).
   */
  calibration: { a: number; b: number; temperature: number; lexicon?: number };
  /** Binary models: |P(positive) - 0.5| below this is labelled neutral. */
  neutralBand: number;
  /**
   * Binary models: inside the neutral band, the lexicon scorer's label when it is not neutral (the
   * ensemble where the model is unsure); the probabilities stay the model's.
   */
  lexiconFallback?: boolean;
  /**
   * Binary models: where |P(positive) - 0.5| is below this (the model is unsure), the lexicon
   * scorer's score and label when its label is not neutral; the probabilities stay the model's.
   */
  lexiconZone?: number;
  card: ModelCard;
}

export interface Prediction {
  score: number;
  label: SentimentLabel;
  probabilities: Record<SentimentLabel, number>;
}

const MAGIC = 'CRMS';
/** The weight of the part after a contrast word (the part before gets the rest). */
export const CONTRAST_WEIGHT = 0.75;

export class LinearModel {
  private readonly featurizer: Featurizer;
  readonly rows: number;
  readonly dim: number;
  /** Binary models: w_positive - w_negative, so prediction reads one row (half the memory traffic). */
  private readonly difference: Float32Array | null;

  constructor(
    readonly header: LinearModelHeader,
    readonly weights: Float32Array,
  ) {
    this.featurizer = new Featurizer(header.spec);
    this.rows = header.classes.length;
    this.dim = 1 << header.spec.bits;
    if (weights.length !== this.rows * this.dim)
      throw new Error(`model ${header.name}: ${weights.length} weights, expected ${this.rows * this.dim}`);
    let difference: Float32Array | null = null;
    if (this.rows === 2) {
      difference = new Float32Array(this.dim);
      for (let i = 0; i < this.dim; i++) difference[i] = weights[this.dim + i]! - weights[i]!;
    }
    this.difference = difference;
  }

  get name(): string {
    return this.header.name;
  }
  get version(): string {
    return this.header.version;
  }

  /**
   * Logits, one per class (before calibration). With the rule layer on (spec.rules), a text with a
   * contrast word is scored in two parts and the part after the word counts 3:1 (CONTRAST_WEIGHT).
   */
  logits(text: string, out = new Float64Array(this.rows)): Float64Array {
    const at = this.header.spec.rules ? contrastSplit(text, this.header.spec.lang) : -1;
    if (at < 0) return this.plainLogits(text, out);
    const before = this.plainLogits(text.slice(0, at), new Float64Array(this.rows));
    this.plainLogits(text.slice(at), out);
    for (let k = 0; k < this.rows; k++) out[k] = CONTRAST_WEIGHT * out[k]! + (1 - CONTRAST_WEIGHT) * before[k]!;
    return out;
  }

  /** Binary models: z_positive - z_negative, with the contrast rule as in logits(). */
  logitDifference(text: string): number {
    const at = this.header.spec.rules ? contrastSplit(text, this.header.spec.lang) : -1;
    if (at < 0) return this.plainDifference(text);
    return CONTRAST_WEIGHT * this.plainDifference(text.slice(at)) + (1 - CONTRAST_WEIGHT) * this.plainDifference(text.slice(0, at));
  }

  private plainDifference(text: string): number {
    const value = this.featurizer.featurize(text);
    const { indices, count } = this.featurizer;
    const w = this.difference!;
    let sum = 0;
    for (let i = 0; i < count; i++) sum += w[indices[i]!]!;
    return this.header.bias[1]! - this.header.bias[0]! + sum * value;
  }

  private plainLogits(text: string, out: Float64Array): Float64Array {
    const value = this.featurizer.featurize(text);
    const { indices, count } = this.featurizer;
    const w = this.weights;
    for (let k = 0; k < this.rows; k++) {
      const base = k * this.dim;
      let sum = 0;
      for (let i = 0; i < count; i++) sum += w[base + indices[i]!]!;
      out[k] = this.header.bias[k]! + sum * value;
    }
    return out;
  }

  predict(text: string): Prediction {
    const { classes, calibration } = this.header;
    const probabilities: Record<SentimentLabel, number> = { negative: 0, neutral: 0, positive: 0 };
    if (classes.length === 2) {
      const lexicon = calibration.lexicon || this.header.lexiconFallback ? lexiconScorer.score(text, this.header.lang) : null;
      const p =
        1 /
        (1 + Math.exp(-(calibration.a * this.logitDifference(text) + (calibration.lexicon ?? 0) * (lexicon?.score ?? 0) + calibration.b)));
      probabilities.positive = round4(p);
      probabilities.negative = round4(1 - p);
      const score = round4(2 * p - 1);
      let label: SentimentLabel = Math.abs(p - 0.5) < this.header.neutralBand ? 'neutral' : p > 0.5 ? 'positive' : 'negative';
      if (this.header.lexiconZone && Math.abs(p - 0.5) < this.header.lexiconZone) {
        const unsure = lexicon ?? lexiconScorer.score(text, this.header.lang);
        if (unsure.label !== 'neutral') return { score: unsure.score, label: unsure.label, probabilities };
      }
      if (label === 'neutral' && this.header.lexiconFallback && lexicon) label = lexicon.label;
      return { score, label, probabilities };
    }
    const z = this.logits(text);
    let max = -Infinity;
    for (let k = 0; k < this.rows; k++) max = Math.max(max, z[k]! / calibration.temperature);
    let total = 0;
    const e = new Float64Array(this.rows);
    for (let k = 0; k < this.rows; k++) total += e[k] = Math.exp(z[k]! / calibration.temperature - max);
    let best = 0;
    for (let k = 0; k < this.rows; k++) {
      probabilities[classes[k]!] = round4(e[k]! / total);
      if (e[k]! > e[best]!) best = k;
    }
    return { score: round4(probabilities.positive - probabilities.negative), label: classes[best]!, probabilities };
  }

  encode(): Buffer {
    return encodeModel(this.header, this.weights);
  }
}

function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}

/** Serialises a model: quantises each row to int16 with its own scale (the header's `scales`). */
export function encodeModel(header: Omit<LinearModelHeader, 'scales'> & { scales?: number[] }, weights: Float32Array): Buffer {
  const rows = header.classes.length;
  const dim = 1 << header.spec.bits;
  const q = new Int16Array(rows * dim);
  const scales: number[] = [];
  for (let k = 0; k < rows; k++) {
    let maxAbs = 0;
    for (let i = 0; i < dim; i++) maxAbs = Math.max(maxAbs, Math.abs(weights[k * dim + i]!));
    const scale = maxAbs === 0 ? 1 : maxAbs / 32767;
    scales.push(scale);
    for (let i = 0; i < dim; i++) q[k * dim + i] = Math.round(weights[k * dim + i]! / scale);
  }
  const json = Buffer.from(JSON.stringify({ ...header, scales }), 'utf8');
  const head = Buffer.alloc(8);
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32LE(json.length, 4);
  const body = Buffer.from(q.buffer, q.byteOffset, q.byteLength);
  return Buffer.concat([head, json, body]);
}

export class ModelFormatError extends Error {
  override name = 'ModelFormatError';
}

export function decodeModel(buffer: Buffer, source = 'model'): LinearModel {
  if (buffer.length < 8 || buffer.toString('latin1', 0, 4) !== MAGIC) throw new ModelFormatError(`${source}: not a sentiment model file`);
  const length = buffer.readUInt32LE(4);
  let header: LinearModelHeader;
  try {
    header = JSON.parse(buffer.toString('utf8', 8, 8 + length)) as LinearModelHeader;
  } catch {
    throw new ModelFormatError(`${source}: unreadable header`);
  }
  if (header.format !== MODEL_FORMAT) throw new ModelFormatError(`${source}: format ${String(header.format)}, expected ${MODEL_FORMAT}`);
  const rows = header.classes.length;
  const dim = 1 << header.spec.bits;
  const expected = 8 + length + rows * dim * 2;
  if (buffer.length !== expected) throw new ModelFormatError(`${source}: ${buffer.length} bytes, expected ${expected}`);
  const weights = new Float32Array(rows * dim);
  for (let k = 0; k < rows; k++) {
    const scale = header.scales[k]!;
    for (let i = 0; i < dim; i++) weights[k * dim + i] = buffer.readInt16LE(8 + length + (k * dim + i) * 2) * scale;
  }
  return new LinearModel(header, weights);
}

export function loadModel(file: string): LinearModel {
  return decodeModel(fs.readFileSync(file), file);
}
