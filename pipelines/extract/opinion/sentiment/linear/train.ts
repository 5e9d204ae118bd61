import crypto from 'node:crypto';
import { Featurizer, DEFAULT_SPECS, type FeatureSpec } from './features.ts';
import {
  LinearModel,
  MODEL_FORMAT,
  decodeModel,
  encodeModel,
  type HeldOutFigures,
  type LinearModelHeader,
  type ModelCard,
} from './linear-model.ts';
import type { LabelledText } from './labelled-data.ts';
import { trainLowRank } from './low-rank.ts';
import { seededRandom, type FeatureMatrix, type Trained } from './matrix.ts';

export { seededRandom, type FeatureMatrix, type Trained };
import type { SentimentLabel, SentimentLang, SentimentScorer } from '../sentiment-scorer.ts';

/**
 * Training of the linear scorers: softmax regression over hashed n-grams by AdaGrad SGD with L2
 * (towards zero, or towards a prior model when adapting), a seeded shuffle, a fixed number of
 * epochs: the same data and recipe give the same weights, byte for byte.
 *
 * The recipe (runRecipe) is cross-domain throughout: whole groups (product categories, sites) are
 * held out. For each group the final model trains on, a model trained on the other training groups
 * predicts it; those out-of-domain predictions fit the calibration (Platt scaling) and the neutral
 * band, and give that group's figures. The final model trains on every training group and is
 * measured on the held-out groups it never saw.
 */
export const LABELS: readonly SentimentLabel[] = ['negative', 'neutral', 'positive'];

export interface Recipe {
  lang: SentimentLang;
  seed: number;
  epochs: number;
  learningRate: number;
  l2: number;
  spec: FeatureSpec;
  /** Groups never trained on by the final model (its held-out test). */
  heldOut: string[];
  /** Target share of polar (out-of-domain) texts inside the neutral band. */
  neutralShare: number;
  /**
   * NB-SVM-style feature scaling (Wang & Manning 2012): each bucket's value is multiplied by the
   * log-count ratio of its presence in positive vs negative training texts (smoothing alpha = this
   * value); the ratio is folded into the shipped weights, so scoring is unchanged. 0 or absent: off.
   */
  nbAlpha?: number;
  /** Weigh each training text by 1 / (its group's size), so every group counts the same (domain-balanced). */
  balanceGroups?: boolean;
  /**
   * Stack the lexicon scorer: its score is a second input of the calibration (fitted with a and b on
   * the out-of-domain predictions), and inside the neutral band its label is used when not neutral.
   */
  lexiconStack?: boolean;
  /**
   * The ensemble where the model is unsure: a text whose calibrated |P(positive) - 0.5| is below
   * this gets the lexicon scorer's score and label when the lexicon's label is not neutral (the
   * lexicon runs only on those texts, so scoring stays fast). 0 or absent: off.
   */
  lexiconZone?: number;
  /**
   * A fastText-style factorised model instead of the full softmax regression (low-rank.ts): hashed
   * n-gram embeddings of `dim` numbers, a linear layer, plain SGD from `learningRate` decaying to 0
   * over the recipe's epochs; collapsed into per-bucket weights after training (same file format).
   */
  lowRank?: { dim: number; learningRate: number };
  /**
   * Per-domain models averaged: one model per training group (each trained on that group only), the
   * weights and biases averaged with equal weight per group, so no category dominates.
   */
  domainAverage?: boolean;
  /**
   * Drop category-specific n-grams before training (computed on the rows trained on, per fold):
   * a bucket is dropped when its polarity flips across training groups (in two groups where it
   * occurs in at least `minCount` texts, its smoothed log-count ratio is above `threshold` in one and
   * below -`threshold` in the other), and, with `minGroups`, when fewer than that many training
   * groups have it in `minCount` texts.
   */
  flipFilter?: { minCount: number; threshold: number; minGroups?: number };
}

export const DEFAULT_RECIPES: Readonly<Record<SentimentLang, Recipe>> = {
  // Held-out groups were fixed before any figure was seen: one per kind of goods (books, electronics,
  // food) for zh; for en the site closest to a shop's reviews (Amazon, phones and accessories).
  zh: {
    lang: 'zh',
    seed: 27,
    epochs: 6,
    learningRate: 0.2,
    l2: 1e-6,
    spec: DEFAULT_SPECS.zh,
    heldOut: ['书籍', '手机', '蒙牛'],
    neutralShare: 0.03,
    // Chosen on the training categories left out in turn among 0.05-0.3 (docs/sentiment.md).
    lexiconZone: 0.2,
  },
  en: { lang: 'en', seed: 27, epochs: 10, learningRate: 0.1, l2: 1e-6, spec: DEFAULT_SPECS.en, heldOut: ['amazon'], neutralShare: 0.03 },
};

export function featurizeAll(texts: readonly string[], spec: FeatureSpec): FeatureMatrix {
  const featurizer = new Featurizer(spec);
  const offsets = new Int32Array(texts.length + 1);
  const values = new Float32Array(texts.length);
  let chunks: Int32Array[] = [];
  let total = 0;
  texts.forEach((text, i) => {
    values[i] = featurizer.featurize(text);
    chunks.push(featurizer.indices.slice(0, featurizer.count));
    total += featurizer.count;
    offsets[i + 1] = total;
  });
  const indices = new Int32Array(total);
  let at = 0;
  for (const chunk of chunks) {
    indices.set(chunk, at);
    at += chunk.length;
  }
  chunks = [];
  return { offsets, indices, values };
}

export interface TrainOptions {
  classes: number;
  bits: number;
  epochs: number;
  learningRate: number;
  l2: number;
  seed: number;
  /** Start from these weights and shrink towards them instead of towards zero. */
  prior?: { weights: Float32Array; bias: Float64Array };
  /** NB log-count-ratio scaling with this smoothing (binary classes only; see Recipe.nbAlpha). */
  nbAlpha?: number;
  /** Per-row weight of the gradient (indexed by row of the matrix; mean 1 over the rows trained on). */
  rowWeights?: Float32Array;
}

/**
 * The NB log-count ratio per bucket over `rows` (binary labels): r = log((p / |p|) / (q / |q|)),
 * p and q the smoothed counts of texts with the bucket among positive and negative texts.
 */
export function logCountRatio(m: FeatureMatrix, labels: Int32Array, rows: Int32Array, bits: number, alpha: number): Float32Array {
  const dim = 1 << bits;
  const pos = new Float64Array(dim).fill(alpha);
  const neg = new Float64Array(dim).fill(alpha);
  const seen = new Int32Array(dim).fill(-1);
  for (const row of rows) {
    const target = labels[row] === 1 ? pos : neg;
    for (let f = m.offsets[row]!; f < m.offsets[row + 1]!; f++) {
      const b = m.indices[f]!;
      if (seen[b] === row) continue;
      seen[b] = row;
      target[b] = target[b]! + 1;
    }
  }
  let sp = 0;
  let sn = 0;
  for (let b = 0; b < dim; b++) {
    sp += pos[b]!;
    sn += neg[b]!;
  }
  const r = new Float32Array(dim);
  for (let b = 0; b < dim; b++) r[b] = Math.log(pos[b]! / sp / (neg[b]! / sn));
  return r;
}

/**
 * The 0/1 bucket mask of Recipe.flipFilter over `rows`, whose group is `groupOf[row]` (an index):
 * 0 for a bucket whose polarity flips across groups (or, with minGroups, that too few groups use).
 */
export function flipMask(
  m: FeatureMatrix,
  labels: Int32Array,
  rows: Int32Array,
  groupOf: Int32Array,
  bits: number,
  filter: NonNullable<Recipe['flipFilter']>,
): Float32Array {
  const dim = 1 << bits;
  const groups = [...new Set(Array.from(rows, (r) => groupOf[r]!))];
  const slot = new Map(groups.map((g, i) => [g, i]));
  const G = groups.length;
  const pos = new Int32Array(G * dim);
  const neg = new Int32Array(G * dim);
  const nPos = new Int32Array(G);
  const nNeg = new Int32Array(G);
  const seen = new Int32Array(dim).fill(-1);
  for (const row of rows) {
    const g = slot.get(groupOf[row]!)!;
    const positive = labels[row] === 1;
    if (positive) nPos[g] = nPos[g]! + 1;
    else nNeg[g] = nNeg[g]! + 1;
    const target = positive ? pos : neg;
    for (let f = m.offsets[row]!; f < m.offsets[row + 1]!; f++) {
      const b = m.indices[f]!;
      if (seen[b] === row) continue;
      seen[b] = row;
      target[g * dim + b] = target[g * dim + b]! + 1;
    }
  }
  const mask = new Float32Array(dim);
  let dropped = 0;
  for (let b = 0; b < dim; b++) {
    let hi = false;
    let lo = false;
    let used = 0;
    let any = false;
    for (let g = 0; g < G; g++) {
      const p = pos[g * dim + b]!;
      const q = neg[g * dim + b]!;
      if (p + q > 0) any = true;
      if (p + q < filter.minCount) continue;
      used += 1;
      const r = Math.log((p + 1) / (nPos[g]! + 2)) - Math.log((q + 1) / (nNeg[g]! + 2));
      if (r > filter.threshold) hi = true;
      if (r < -filter.threshold) lo = true;
    }
    const keep = !(hi && lo) && (!filter.minGroups || used >= filter.minGroups);
    mask[b] = keep ? 1 : 0;
    if (!keep && any) dropped += 1;
  }
  flipMask.lastDropped = dropped;
  return mask;
}
flipMask.lastDropped = 0;

/** Softmax regression by AdaGrad SGD on the rows `rows` of `m` (labels are class indices). */
export function trainSoftmax(m: FeatureMatrix, labels: Int32Array, rows: Int32Array, options: TrainOptions): Trained {
  if (options.nbAlpha && options.nbAlpha > 0 && options.classes === 2 && !options.prior) {
    // Train on features scaled by r, then fold r into the weights: w_effective = w * r.
    const r = logCountRatio(m, labels, rows, options.bits, options.nbAlpha);
    const dim = 1 << options.bits;
    const scaled: FeatureMatrix = { ...m, scale: r };
    const trained = trainSoftmax(scaled, labels, rows, { ...options, nbAlpha: 0 });
    for (let k = 0; k < 2; k++) for (let b = 0; b < dim; b++) trained.weights[k * dim + b] = trained.weights[k * dim + b]! * r[b]!;
    return trained;
  }
  const K = options.classes;
  const dim = 1 << options.bits;
  const scale = m.scale;
  const rowWeights = options.rowWeights;
  const weights = options.prior ? Float32Array.from(options.prior.weights) : new Float32Array(K * dim);
  const bias = options.prior ? Float64Array.from(options.prior.bias) : new Float64Array(K);
  const prior = options.prior?.weights;
  const g2 = new Float32Array(K * dim);
  const gBias = new Float64Array(K);
  const order = Int32Array.from(rows);
  const random = seededRandom(options.seed);
  const z = new Float64Array(K);
  const { offsets, indices, values } = m;
  const eps = 1e-8;
  const lr = options.learningRate;
  const l2 = options.l2;
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
    for (const row of order) {
      const from = offsets[row]!;
      const to = offsets[row + 1]!;
      const v = values[row]!;
      let max = -Infinity;
      for (let k = 0; k < K; k++) {
        let sum = bias[k]!;
        const base = k * dim;
        if (scale) for (let f = from; f < to; f++) sum += weights[base + indices[f]!]! * v * scale[indices[f]!]!;
        else for (let f = from; f < to; f++) sum += weights[base + indices[f]!]! * v;
        z[k] = sum;
        if (sum > max) max = sum;
      }
      let total = 0;
      for (let k = 0; k < K; k++) total += z[k] = Math.exp(z[k]! - max);
      const y = labels[row]!;
      const weight = rowWeights ? rowWeights[row]! : 1;
      for (let k = 0; k < K; k++) {
        const g = weight * (z[k]! / total - (k === y ? 1 : 0));
        gBias[k] = gBias[k]! + g * g;
        bias[k] = bias[k]! - (lr * g) / Math.sqrt(gBias[k]! + eps);
        const base = k * dim;
        for (let f = from; f < to; f++) {
          const at = base + indices[f]!;
          const w = weights[at]!;
          const grad = g * v * (scale ? scale[indices[f]!]! : 1) + l2 * (prior ? w - prior[at]! : w);
          const acc = g2[at]! + grad * grad;
          g2[at] = acc;
          weights[at] = w - (lr * grad) / Math.sqrt(acc + eps);
        }
      }
    }
  }
  return { weights, bias };
}

/**
 * Platt scaling with a second input: the a, c, b minimising log-loss of sigmoid(a * d + c * s + b)
 * against y (Newton's method on the three parameters, a small ridge for stability).
 */
export function fitPlatt2(d: ArrayLike<number>, s: ArrayLike<number>, y: ArrayLike<number>): { a: number; b: number; lexicon: number } {
  let w = [1, 0, 0]; // a, c, b
  for (let iter = 0; iter < 50; iter++) {
    const g = [0, 0, 0];
    const h = [
      [1e-9, 0, 0],
      [0, 1e-9, 0],
      [0, 0, 1e-9],
    ];
    for (let i = 0; i < d.length; i++) {
      const x = [d[i]!, s[i]!, 1];
      const p = 1 / (1 + Math.exp(-(w[0]! * x[0]! + w[1]! * x[1]! + w[2]!)));
      const r = p - y[i]!;
      const v = p * (1 - p);
      for (let j = 0; j < 3; j++) {
        g[j]! += r * x[j]!;
        for (let k = 0; k < 3; k++) h[j]![k]! += v * x[j]! * x[k]!;
      }
    }
    const step = solve3(h, g);
    w = w.map((x, j) => x - step[j]!);
    if (step.every((x) => Math.abs(x) < 1e-9)) break;
  }
  return { a: w[0]!, lexicon: w[1]!, b: w[2]! };
}

/** Solves the 3x3 system h x = g (Cramer's rule). */
function solve3(h: number[][], g: number[]): number[] {
  const det = (m: number[][]) =>
    m[0]![0]! * (m[1]![1]! * m[2]![2]! - m[1]![2]! * m[2]![1]!) -
    m[0]![1]! * (m[1]![0]! * m[2]![2]! - m[1]![2]! * m[2]![0]!) +
    m[0]![2]! * (m[1]![0]! * m[2]![1]! - m[1]![1]! * m[2]![0]!);
  const d = det(h);
  return [0, 1, 2].map((j) => det(h.map((row, i) => row.map((x, k) => (k === j ? g[i]! : x)))) / d);
}

function plattLoss(d: ArrayLike<number>, y: ArrayLike<number>, a: number, b: number): number {
  let loss = 0;
  for (let i = 0; i < d.length; i++) {
    const x = (y[i]! ? 1 : -1) * (a * d[i]! + b);
    loss += x > 0 ? Math.log1p(Math.exp(-x)) : -x + Math.log1p(Math.exp(x));
  }
  return loss;
}

/** Platt scaling: the a, b minimising log-loss of sigmoid(a * d + b) against y (Newton's method). */
export function fitPlatt(d: ArrayLike<number>, y: ArrayLike<number>): { a: number; b: number } {
  let a = 1;
  let b = 0;
  for (let iter = 0; iter < 50; iter++) {
    let ga = 0;
    let gb = 0;
    let haa = 1e-9;
    let hab = 0;
    let hbb = 1e-9;
    for (let i = 0; i < d.length; i++) {
      const p = 1 / (1 + Math.exp(-(a * d[i]! + b)));
      const r = p - y[i]!;
      const w = p * (1 - p);
      ga += r * d[i]!;
      gb += r;
      haa += w * d[i]! * d[i]!;
      hab += w * d[i]!;
      hbb += w;
    }
    const det = haa * hbb - hab * hab;
    let da = (hbb * ga - hab * gb) / det;
    let db = (haa * gb - hab * ga) / det;
    // Damped: halve the step while it raises the loss (saturated logits, e.g. of an unregularised
    // low-rank model, make the Hessian vanish and the full step overshoot); a full step otherwise.
    // (A relative tolerance, so rounding noise near the optimum never halves a step: the shipped
    // recipe's fit is the undamped one, bit for bit.)
    const before = plattLoss(d, y, a, b);
    while (plattLoss(d, y, a - da, b - db) > before * (1 + 1e-9) && Math.abs(da) + Math.abs(db) > 1e-12) {
      da /= 2;
      db /= 2;
    }
    a -= da;
    b -= db;
    if (Math.abs(da) < 1e-9 && Math.abs(db) < 1e-9) break;
  }
  return { a, b };
}

export interface Figures {
  texts: number;
  accuracy: number;
  macroF1: number;
  neutralShare: number;
  confusion: number[][];
}

/**
 * Accuracy, macro-F1 and the share labelled neutral; macro-F1 averages the F1 of the classes the
 * true labels contain (a neutral prediction for a polar text counts against that class's recall).
 */
export function figuresOf(truth: readonly SentimentLabel[], predicted: readonly SentimentLabel[]): Figures {
  const confusion = LABELS.map(() => LABELS.map(() => 0));
  let correct = 0;
  let neutral = 0;
  truth.forEach((t, i) => {
    const p = predicted[i]!;
    confusion[LABELS.indexOf(t)]![LABELS.indexOf(p)]! += 1;
    if (t === p) correct += 1;
    if (p === 'neutral') neutral += 1;
  });
  const present = LABELS.map((_, k) => k).filter((k) => confusion[k]!.some((c) => c > 0));
  const f1s = present.map((k) => {
    const tp = confusion[k]![k]!;
    const predictedK = confusion.reduce((s, row) => s + row[k]!, 0);
    const actualK = confusion[k]!.reduce((s, c) => s + c, 0);
    const precision = predictedK === 0 ? 0 : tp / predictedK;
    const recall = actualK === 0 ? 0 : tp / actualK;
    return precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  });
  const n = truth.length;
  return {
    texts: n,
    accuracy: n === 0 ? 0 : round(correct / n),
    macroF1: f1s.length === 0 ? 0 : round(f1s.reduce((s, x) => s + x, 0) / f1s.length),
    neutralShare: n === 0 ? 0 : round(neutral / n),
    confusion,
  };
}

function round(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}

export function evaluateScorer(scorer: Pick<SentimentScorer, 'score'>, data: readonly LabelledText[], lang: SentimentLang): Figures {
  return figuresOf(
    data.map((d) => d.label),
    data.map((d) => scorer.score(d.text, lang).label),
  );
}

export interface RecipeResult {
  model: LinearModel;
  figures: HeldOutFigures[];
}

/** Groups in first-seen order. */
function groupsOf(data: readonly LabelledText[]): string[] {
  return [...new Set(data.map((d) => d.group))];
}

function indicesWhere(data: readonly LabelledText[], keep: (d: LabelledText) => boolean): Int32Array {
  const out: number[] = [];
  data.forEach((d, i) => keep(d) && out.push(i));
  return Int32Array.from(out);
}

export interface RecipeInput {
  data: readonly LabelledText[];
  recipe: Recipe;
  files: ModelCard['data']['files'];
  lexicon: Pick<SentimentScorer, 'score'>;
  log?: (message: string) => void;
  now?: Date;
}

/**
 * Runs a recipe on polarity-labelled data (negative/positive; neutral rows are not used) and returns
 * the calibrated binary model with its model card and the figures of every group.
 */
export function runRecipe(input: RecipeInput): RecipeResult {
  const { recipe, lexicon } = input;
  const log = input.log ?? (() => undefined);
  const data = input.data.filter((d) => d.label !== 'neutral');
  const groups = groupsOf(data);
  for (const g of recipe.heldOut)
    if (!groups.includes(g)) throw new Error(`held-out group ${g} is not in the data (groups: ${groups.join(', ')})`);
  const training = groups.filter((g) => !recipe.heldOut.includes(g));
  if (training.length < 2)
    throw new Error(`need at least two training groups for out-of-domain calibration (have: ${training.join(', ') || 'none'})`);
  const m = featurizeAll(
    data.map((d) => d.text),
    recipe.spec,
  );
  const labels = Int32Array.from(data.map((d) => (d.label === 'positive' ? 1 : 0)));
  const options: TrainOptions = {
    classes: 2,
    bits: recipe.spec.bits,
    epochs: recipe.epochs,
    learningRate: recipe.learningRate,
    l2: recipe.l2,
    seed: recipe.seed,
    ...(recipe.nbAlpha ? { nbAlpha: recipe.nbAlpha } : {}),
  };
  /** Options for training on `rows`: with balanceGroups, row weights 1 / group size, mean 1. */
  const optionsFor = (rows: Int32Array): TrainOptions => {
    if (!recipe.balanceGroups) return options;
    const sizes = new Map<string, number>();
    for (const i of rows) sizes.set(data[i]!.group, (sizes.get(data[i]!.group) ?? 0) + 1);
    const rowWeights = new Float32Array(data.length);
    for (const i of rows) rowWeights[i] = rows.length / (sizes.size * sizes.get(data[i]!.group)!);
    return { ...options, rowWeights };
  };
  const groupIndex = new Map(groups.map((g, i) => [g, i]));
  const groupOf = Int32Array.from(data, (d) => groupIndex.get(d.group)!);
  /** One model on `rows` as the recipe says (full or low-rank; optionally masked). */
  const fit = (rows: Int32Array, matrix: FeatureMatrix): Trained =>
    recipe.lowRank
      ? trainLowRank(matrix, labels, rows, {
          classes: 2,
          bits: recipe.spec.bits,
          dim: recipe.lowRank.dim,
          epochs: recipe.epochs,
          learningRate: recipe.lowRank.learningRate,
          seed: recipe.seed,
          ...(optionsFor(rows).rowWeights ? { rowWeights: optionsFor(rows).rowWeights! } : {}),
        })
      : trainSoftmax(matrix, labels, rows, optionsFor(rows));
  const perGroup = new Map<number, Trained>();
  /** The model trained on `rows` (several groups): with domainAverage, the mean of per-group models. */
  const trainOn = (rows: Int32Array): Trained => {
    const matrix = recipe.flipFilter ? { ...m, scale: flipMask(m, labels, rows, groupOf, recipe.spec.bits, recipe.flipFilter) } : m;
    if (recipe.flipFilter) log(`flip filter: ${flipMask.lastDropped} buckets dropped`);
    if (!recipe.domainAverage) return fit(rows, matrix);
    const members = [...new Set(Array.from(rows, (r) => groupOf[r]!))];
    const dim = 1 << recipe.spec.bits;
    const weights = new Float32Array(2 * dim);
    const bias = new Float64Array(2);
    for (const g of members) {
      let trained = recipe.flipFilter ? undefined : perGroup.get(g);
      if (!trained) {
        trained = fit(Int32Array.from(Array.from(rows).filter((r) => groupOf[r] === g)), matrix);
        if (!recipe.flipFilter) perGroup.set(g, trained);
      }
      for (let i = 0; i < weights.length; i++) weights[i] = weights[i]! + trained.weights[i]! / members.length;
      for (let k = 0; k < 2; k++) bias[k] = bias[k]! + trained.bias[k]! / members.length;
    }
    return { weights, bias };
  };
  const provisional = (trained: Trained): LinearModel =>
    new LinearModel(headerFor(recipe, trained, { a: 1, b: 0, temperature: 1 }, 0, 'provisional', emptyCard()), trained.weights);

  // Out-of-domain logit differences for every training group, from a model that never saw it.
  const ood = new Map<string, Float64Array>();
  for (const g of training) {
    const trainRows = indicesWhere(data, (d) => d.group !== g && training.includes(d.group));
    const trained = trainOn(trainRows);
    const model = provisional(trained);
    const rows = indicesWhere(data, (d) => d.group === g);
    const z = new Float64Array(2);
    ood.set(
      g,
      Float64Array.from(rows, (i) => (model.logits(data[i]!.text, z), z[1]! - z[0]!)),
    );
    log(`trained without ${g} (${rows.length} texts held out)`);
  }
  const allD: number[] = [];
  const allY: number[] = [];
  for (const g of training) {
    const rows = indicesWhere(data, (d) => d.group === g);
    ood.get(g)!.forEach((d, j) => (allD.push(d), allY.push(labels[rows[j]!]!)));
  }
  // The lexicon's answers on every text (its score is an input of the stacked calibration, its label
  // the fallback inside the band, and both are printed beside the model's figures).
  const lexicalAnswers = data.map((d) => lexicon.score(d.text, recipe.lang));
  const allS: number[] = [];
  for (const g of training) for (const i of indicesWhere(data, (d) => d.group === g)) allS.push(lexicalAnswers[i]!.score);
  const calibration: LinearModelHeader['calibration'] = recipe.lexiconStack
    ? { ...fitPlatt2(allD, allS, allY), temperature: 1 }
    : { ...fitPlatt(allD, allY), temperature: 1 };
  const probability = (d: number, s: number) => 1 / (1 + Math.exp(-(calibration.a * d + (calibration.lexicon ?? 0) * s + calibration.b)));
  // The neutral band: the |P(positive) - 0.5| below which `neutralShare` of the out-of-domain texts fall.
  const margins = allD.map((d, j) => Math.abs(probability(d, allS[j]!) - 0.5)).sort((x, y) => x - y);
  const neutralBand = round(margins[Math.floor(recipe.neutralShare * margins.length)] ?? 0);
  log(
    `calibration a=${calibration.a.toFixed(4)} b=${calibration.b.toFixed(4)}${calibration.lexicon !== undefined ? ` lexicon=${calibration.lexicon.toFixed(4)}` : ''}, neutral band |p-0.5| < ${neutralBand}`,
  );

  const finalRows = indicesWhere(data, (d) => training.includes(d.group));
  const finalTrained = trainOn(finalRows);
  log(`trained the final model on ${training.join(', ')}`);

  const figures: HeldOutFigures[] = [];
  const labelOf = (d: number, i: number): SentimentLabel => {
    const p = probability(d, lexicalAnswers[i]!.score);
    const label: SentimentLabel = Math.abs(p - 0.5) < neutralBand ? 'neutral' : p > 0.5 ? 'positive' : 'negative';
    if (recipe.lexiconZone && Math.abs(p - 0.5) < recipe.lexiconZone && lexicalAnswers[i]!.label !== 'neutral')
      return lexicalAnswers[i]!.label;
    return label === 'neutral' && recipe.lexiconStack ? lexicalAnswers[i]!.label : label;
  };
  const finalProvisional = provisional(finalTrained);
  for (const g of groups) {
    const rows = [...indicesWhere(data, (d) => d.group === g)];
    let d: ArrayLike<number>;
    if (ood.has(g)) d = ood.get(g)!;
    else {
      const z = new Float64Array(2);
      d = rows.map((i) => (finalProvisional.logits(data[i]!.text, z), z[1]! - z[0]!));
    }
    const truth = rows.map((i) => data[i]!.label);
    const own = figuresOf(
      truth,
      Array.from(d, (x, j) => labelOf(x, rows[j]!)),
    );
    const lex = figuresOf(
      truth,
      rows.map((i) => lexicalAnswers[i]!.label),
    );
    figures.push({
      group: `${recipe.heldOut.includes(g) ? 'held out' : 'left out in turn'}: ${g}`,
      texts: own.texts,
      accuracy: own.accuracy,
      macroF1: own.macroF1,
      neutralShare: own.neutralShare,
      confusion: own.confusion,
      lexicon: { accuracy: lex.accuracy, macroF1: lex.macroF1, neutralShare: lex.neutralShare, confusion: lex.confusion },
    });
  }
  const groupCounts: Record<string, number> = {};
  for (const d of data) groupCounts[d.group] = (groupCounts[d.group] ?? 0) + 1;
  const card: ModelCard = {
    trainedAt: (input.now ?? new Date()).toISOString(),
    data: { files: input.files, groups: groupCounts },
    recipe: {
      ...recipe,
      algorithm: `${recipe.lowRank ? `fastText-style factorised model (dim ${recipe.lowRank.dim}, SGD, linear decay) collapsed to per-bucket weights` : 'softmax regression, AdaGrad SGD, L2'}${recipe.domainAverage ? ', one model per training group, averaged' : ''}${recipe.flipFilter ? ', n-grams whose polarity flips across training groups dropped' : ''}; Platt scaling on out-of-domain predictions${recipe.lexiconStack ? ', the lexicon score a second input of it and the lexicon label the fallback inside the neutral band' : ''}${recipe.lexiconZone ? `; the lexicon's answer where |P(positive) - 0.5| < ${recipe.lexiconZone} and it is not neutral` : ''}`,
    },
    trainedOn: training,
    heldOut: recipe.heldOut,
    figures,
    summary: summarise(figures, recipe.heldOut),
  };
  const header = headerFor(recipe, finalTrained, calibration, neutralBand, '', card);
  // The version is the content hash of the weights (and their calibration): same recipe, same version.
  const hash = crypto
    .createHash('sha256')
    .update(encodeModel({ ...header, card: emptyCard() }, finalTrained.weights))
    .digest('hex')
    .slice(0, 10);
  header.version = `${header.name}@${hash}`;
  // Round-trip through the file format, so the returned model is exactly the one that ships.
  const model = decodeModel(encodeModel(header, finalTrained.weights));
  return { model, figures };
}

function headerFor(
  recipe: Recipe,
  trained: Trained,
  calibration: LinearModelHeader['calibration'],
  neutralBand: number,
  version: string,
  card: ModelCard,
): LinearModelHeader {
  return {
    format: MODEL_FORMAT,
    name: `linear-${recipe.lang}`,
    version,
    lang: recipe.lang,
    classes: ['negative', 'positive'],
    spec: recipe.spec,
    bias: Array.from(trained.bias),
    scales: [],
    calibration,
    neutralBand,
    ...(recipe.lexiconStack ? { lexiconFallback: true } : {}),
    ...(recipe.lexiconZone ? { lexiconZone: recipe.lexiconZone } : {}),
    card,
  };
}

function emptyCard(): ModelCard {
  return { trainedAt: '', data: { files: [], groups: {} }, recipe: {}, trainedOn: [], heldOut: [], figures: [] };
}

/** Pooled figures over the held-out groups (texts-weighted), ours and the lexicon's. */
export function summarise(figures: readonly HeldOutFigures[], heldOut: readonly string[]): Record<string, unknown> {
  const pick = figures.filter((f) => heldOut.some((g) => f.group.endsWith(`: ${g}`)));
  const pool = (get: (f: HeldOutFigures) => number[][]) => {
    const confusion = LABELS.map(() => LABELS.map(() => 0));
    for (const f of pick) get(f).forEach((row, r) => row.forEach((c, k) => (confusion[r]![k]! += c)));
    const truth: SentimentLabel[] = [];
    const predicted: SentimentLabel[] = [];
    confusion.forEach((row, r) =>
      row.forEach((c, k) => {
        for (let i = 0; i < c; i++) {
          truth.push(LABELS[r]!);
          predicted.push(LABELS[k]!);
        }
      }),
    );
    return figuresOf(truth, predicted);
  };
  const worstMargin = Math.min(...figures.map((f) => f.accuracy - (f.lexicon?.accuracy ?? 0)));
  return {
    heldOut: pool((f) => f.confusion),
    lexiconHeldOut: pool((f) => f.lexicon!.confusion),
    worstAccuracyMarginOverLexicon: round(worstMargin),
  };
}
