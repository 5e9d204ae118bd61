import crypto from 'node:crypto';
import { LinearModel, decodeModel, encodeModel, type LinearModelHeader } from './linear-model.ts';
import { featurizeAll, figuresOf, seededRandom, trainSoftmax, type Figures } from './train.ts';
import type { LabelledText } from './labelled-data.ts';

/**
 * Shop adaptation: a shop's own rated reviews (1-2 stars negative, 3 neutral, 4-5 positive) train a
 * three-class model on top of the shipped one. The shipped binary model becomes the starting point
 * and the prior (L2 pulls every weight towards the shipped value, not towards zero): P(positive) /
 * P(negative) starts equal to the shipped calibrated odds, the neutral row starts at zero with a low
 * bias. A seeded share of the shop's reviews is held out; the adapted model is promoted (written as
 * the shop's default) only when its macro-F1 there beats the shipped model's, and never when its
 * accuracy is lower.
 */
export interface AdaptOptions {
  seed: number;
  holdoutShare: number;
  epochs: number;
  learningRate: number;
  /** Strength of the pull towards the shipped weights. */
  priorL2: number;
  now?: Date;
}

export const DEFAULT_ADAPT: AdaptOptions = { seed: 27, holdoutShare: 0.2, epochs: 4, learningRate: 0.05, priorL2: 1e-4 };

export interface AdaptResult {
  model: LinearModel;
  shipped: Figures;
  adapted: Figures;
  promoted: boolean;
  reason: string;
  trainTexts: number;
  heldOutTexts: number;
}

/** The three-class start: rows negative, neutral, positive reproducing the base's calibrated odds. */
function threeClassPrior(base: LinearModel): { weights: Float32Array; bias: Float64Array } {
  const { a, b } = base.header.calibration;
  const dim = base.dim;
  const weights = new Float32Array(3 * dim);
  for (let i = 0; i < dim; i++) weights[2 * dim + i] = a * (base.weights[dim + i]! - base.weights[i]!);
  const bias = Float64Array.from([0, -3, a * (base.header.bias[1]! - base.header.bias[0]!) + b]);
  return { weights, bias };
}

export function adaptModel(base: LinearModel, data: readonly LabelledText[], options: AdaptOptions = DEFAULT_ADAPT): AdaptResult {
  if (base.header.classes.length !== 2)
    throw new Error(`adapt starts from a shipped (binary) model; ${base.version} has ${base.header.classes.length} classes`);
  if (data.length < 20) throw new Error(`need at least 20 rated reviews to adapt and hold some out (have ${data.length})`);
  const random = seededRandom(options.seed);
  const order = data.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const cut = Math.max(1, Math.round(order.length * options.holdoutShare));
  const heldOut = order.slice(0, cut);
  const training = order.slice(cut);
  const classes = ['negative', 'neutral', 'positive'] as const;
  const m = featurizeAll(
    data.map((d) => d.text),
    base.header.spec,
  );
  const labels = Int32Array.from(data.map((d) => classes.indexOf(d.label as (typeof classes)[number])));
  const prior = threeClassPrior(base);
  const trained = trainSoftmax(m, labels, Int32Array.from(training), {
    classes: 3,
    bits: base.header.spec.bits,
    epochs: options.epochs,
    learningRate: options.learningRate,
    l2: options.priorL2,
    seed: options.seed,
    prior,
  });
  const header: LinearModelHeader = {
    ...base.header,
    name: `${base.header.name}-adapted`,
    version: '',
    classes: [...classes],
    bias: Array.from(trained.bias),
    scales: [],
    calibration: { a: 1, b: 0, temperature: 1 },
    neutralBand: 0,
    card: {
      ...base.header.card,
      trainedAt: (options.now ?? new Date()).toISOString(),
      recipe: {
        ...options,
        now: undefined,
        base: base.version,
        algorithm: 'three-class softmax regression from the shipped weights, L2 towards them',
      },
      notes: [`adapted from ${base.version} on ${training.length} of the shop's rated reviews; ${heldOut.length} held out`],
    },
  };
  const hash = crypto
    .createHash('sha256')
    .update(encodeModel({ ...header }, trained.weights))
    .digest('hex')
    .slice(0, 10);
  header.version = `${header.name}@${hash}`;
  const model = decodeModel(encodeModel(header, trained.weights));
  const truth = heldOut.map((i) => data[i]!.label);
  const shipped = figuresOf(
    truth,
    heldOut.map((i) => base.predict(data[i]!.text).label),
  );
  const adapted = figuresOf(
    truth,
    heldOut.map((i) => model.predict(data[i]!.text).label),
  );
  const promoted = adapted.macroF1 > shipped.macroF1 && adapted.accuracy >= shipped.accuracy;
  const reason = promoted
    ? `adapted macro-F1 ${adapted.macroF1} > shipped ${shipped.macroF1} on ${heldOut.length} held-out reviews`
    : `adapted macro-F1 ${adapted.macroF1} / accuracy ${adapted.accuracy} does not beat shipped ${shipped.macroF1} / ${shipped.accuracy} on ${heldOut.length} held-out reviews`;
  model.header.card.summary = { shopHeldOut: { shipped, adapted, promoted, reason } };
  return { model, shipped, adapted, promoted, reason, trainTexts: training.length, heldOutTexts: heldOut.length };
}

/**
 * Unsupervised adaptation to a shop's unlabelled posts (self-training): the shipped binary model
 * labels the posts, the `confidentShare` it is surest of (by calibrated |P(positive) - 0.5|) keep
 * that label, and a model trained from the shipped weights (L2 towards them) on those pseudo-labels
 * replaces it; `rounds` times, each round labelling with the previous one. It sees the shop's texts,
 * never a label; calibration, neutral band and lexicon zone stay the shipped model's.
 */
export interface SelfTrainOptions {
  seed: number;
  confidentShare: number;
  rounds: number;
  epochs: number;
  learningRate: number;
  priorL2: number;
  /**
   * Take the confident share within each predicted class (so the class the model is surer of does
   * not fill the pseudo-labels), instead of over all posts.
   */
  perClass?: boolean;
  now?: Date;
}

/**
 * Chosen on the training categories left out in turn (each self-trained from the model that never
 * saw it; benchmarks/sentiment-experiments.ts, docs/sentiment.md): over all posts, learning rate
 * 0.05 / 0.1 / 0.2 / 0.4 / 0.8 gave 0.905 / 0.908 / 0.911 / 0.912 / 0.908 against 0.900 unadapted;
 * per class, share 0.3 / 0.5 / 0.7 at 0.4: 0.913 / 0.917 / 0.911, and two rounds 0.918 (this).
 */
export const DEFAULT_SELF_TRAIN: SelfTrainOptions = {
  seed: 27,
  confidentShare: 0.5,
  perClass: true,
  rounds: 2,
  epochs: 3,
  learningRate: 0.4,
  priorL2: 1e-5,
};

export interface SelfTrainResult {
  model: LinearModel;
  texts: number;
  pseudoLabelled: number;
  /** Of them, labelled positive (last round). */
  pseudoPositive: number;
  /** Share of the posts whose label the adapted model changed. */
  changedShare: number;
}

function calibratedMargin(model: LinearModel, text: string): number {
  const { a, b } = model.header.calibration;
  return 1 / (1 + Math.exp(-(a * model.logitDifference(text) + b))) - 0.5;
}

export function selfTrainModel(
  base: LinearModel,
  texts: readonly string[],
  options: SelfTrainOptions = DEFAULT_SELF_TRAIN,
): SelfTrainResult {
  if (base.header.classes.length !== 2)
    throw new Error(`self-training starts from a shipped (binary) model; ${base.version} has ${base.header.classes.length} classes`);
  if (texts.length < 20) throw new Error(`need at least 20 posts to self-train (have ${texts.length})`);
  const m = featurizeAll(texts, base.header.spec);
  const prior = { weights: base.weights, bias: Float64Array.from(base.header.bias) };
  let current = base;
  let pseudoLabelled = 0;
  let pseudoPositive = 0;
  for (let round = 0; round < options.rounds; round++) {
    const margins = texts.map((t) => calibratedMargin(current, t));
    // The confidentShare of the posts with the largest margin (ties by position; margin 0 never).
    const top = (keep: (x: number) => boolean, of: number) => {
      const ranked = margins.map((_, i) => i).filter((i) => margins[i] !== 0 && keep(margins[i]!));
      ranked.sort((x, y) => Math.abs(margins[y]!) - Math.abs(margins[x]!) || x - y);
      return ranked.slice(0, Math.floor(options.confidentShare * of));
    };
    const count = (keep: (x: number) => boolean) => margins.filter(keep).length;
    const rows = (
      options.perClass
        ? [
            ...top(
              (x) => x > 0,
              count((x) => x > 0),
            ),
            ...top(
              (x) => x < 0,
              count((x) => x < 0),
            ),
          ]
        : top(() => true, texts.length)
    ).sort((x, y) => x - y);
    const labels = Int32Array.from(margins, (x) => (x > 0 ? 1 : 0));
    pseudoLabelled = rows.length;
    pseudoPositive = rows.filter((i) => margins[i]! > 0).length;
    const trained = trainSoftmax(m, labels, Int32Array.from(rows), {
      classes: 2,
      bits: base.header.spec.bits,
      epochs: options.epochs,
      learningRate: options.learningRate,
      l2: options.priorL2,
      seed: options.seed + round,
      prior,
    });
    const header: LinearModelHeader = {
      ...base.header,
      name: `${base.header.name}-adapted`,
      version: '',
      bias: Array.from(trained.bias),
      scales: [],
      card: {
        ...base.header.card,
        trainedAt: (options.now ?? new Date()).toISOString(),
        recipe: {
          ...options,
          now: undefined,
          base: base.version,
          algorithm:
            "self-training on the shop's unlabelled posts: pseudo-labels of the most confident share, L2 towards the shipped weights",
        },
        notes: [`self-trained from ${base.version} on ${texts.length} unlabelled posts (${rows.length} pseudo-labelled); no labels seen`],
      },
    };
    const hash = crypto.createHash('sha256').update(encodeModel(header, trained.weights)).digest('hex').slice(0, 10);
    header.version = `${header.name}@${hash}`;
    current = decodeModel(encodeModel(header, trained.weights));
  }
  let changed = 0;
  for (const t of texts) if (current.predict(t).label !== base.predict(t).label) changed += 1;
  return {
    model: current,
    texts: texts.length,
    pseudoLabelled,
    pseudoPositive,
    changedShare: Math.round((changed / texts.length) * 10_000) / 10_000,
  };
}
