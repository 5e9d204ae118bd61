import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { Command, InvalidArgumentError, Option } from 'commander';
import { UsageError } from './exit-codes.ts';
import { printResult } from './output.ts';
import { configOption, jsonOption, landingOption, waitOption, warehouseOption } from './options.ts';
import { execute, type RunCommandOptions } from './run-commands.ts';
import { lexiconScorer } from '../pipelines/extract/opinion/sentiment/default-scorer.ts';
import { adaptModel, DEFAULT_ADAPT, DEFAULT_SELF_TRAIN, selfTrainModel } from '../pipelines/extract/opinion/sentiment/linear/adapt.ts';
import {
  LabelledDataError,
  readLabelledFile,
  readTextFile,
  type LabelledText,
} from '../pipelines/extract/opinion/sentiment/linear/labelled-data.ts';
import type { HeldOutFigures, LinearModel } from '../pipelines/extract/opinion/sentiment/linear/linear-model.ts';
import { DEFAULT_RECIPES, figuresOf, runRecipe, type Figures, type Recipe } from '../pipelines/extract/opinion/sentiment/linear/train.ts';
import { languageOf, type SentimentLang } from '../pipelines/extract/opinion/sentiment/sentiment-scorer.ts';
import {
  adaptedModelPath,
  cachedModel,
  resolveScorer,
  resolveSentimentModelDir,
  SCORER_CHOICES,
  shippedModelPath,
  type ScorerChoice,
} from '../pipelines/extract/opinion/sentiment/trained-scorer.ts';
import { sentimentRescoreStep } from '../pipelines/run/sentiment-rescore-step.ts';
import { projectRoot } from '../shared/paths.ts';

/**
 * `crm sentiment`: train, score, eval, adapt, rescore (docs/sentiment.md). Exit codes: 0 done,
 * 1 a step failed (rescore run), 2 usage (unknown option, unreadable data file, unknown group).
 */
const langArg = (raw: string): SentimentLang => {
  if (raw !== 'zh' && raw !== 'en') throw new InvalidArgumentError('must be zh or en.');
  return raw;
};
const langOrAuto = (raw: string): SentimentLang | 'auto' => (raw === 'auto' ? 'auto' : langArg(raw));
const scorerArg = (raw: string): ScorerChoice => {
  const choice = SCORER_CHOICES[raw];
  if (!choice) throw new InvalidArgumentError(`must be one of ${Object.keys(SCORER_CHOICES).join(', ')}.`);
  return choice;
};
const wholeNumber = (raw: string) => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number >= 0.');
  return n;
};

function readData(files: string[], options: { preferRating?: boolean } = {}) {
  try {
    return files.map((f) => readLabelledFile(path.resolve(f), options));
  } catch (error) {
    if (error instanceof LabelledDataError) throw new UsageError(error.message);
    throw error;
  }
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

function figuresLine(label: string, f: Pick<Figures, 'texts' | 'accuracy' | 'macroF1' | 'neutralShare'>): string {
  return `${label.padEnd(34)} ${String(f.texts).padStart(6)}  acc ${f.accuracy.toFixed(3)}  macro-F1 ${f.macroF1.toFixed(3)}  neutral ${pct(f.neutralShare).padStart(6)}`;
}

function confusionLines(confusion: number[][]): string[] {
  const names = ['negative', 'neutral', 'positive'];
  return [
    `      true \\ predicted  ${names.map((n) => n.padStart(9)).join('')}`,
    ...confusion.map((row, r) => `      ${names[r]!.padEnd(18)} ${row.map((c) => String(c).padStart(9)).join('')}`),
  ];
}

function describeFigures(figures: HeldOutFigures[]): string[] {
  const lines: string[] = [];
  for (const f of figures) {
    lines.push(figuresLine(f.group, f));
    if (f.lexicon) lines.push(figuresLine('    lexicon-zh-en, same texts', { texts: f.texts, ...f.lexicon }));
  }
  return lines;
}

/** The model card as Markdown, written beside the weights. */
export function modelCardMarkdown(model: LinearModel): string {
  const { header } = model;
  const card = header.card;
  const summary = card.summary as { heldOut: Figures; lexiconHeldOut: Figures; worstAccuracyMarginOverLexicon: number } | undefined;
  const lines = [
    `# Model card: ${header.name} (${header.version})`,
    '',
    `Written by \`crm sentiment train\` on ${card.trainedAt}. Language: ${header.lang}. Classes: ${header.classes.join(', ')}.`,
    '',
    '## Data',
    '',
    ...card.data.files.map((f) => `- \`${f.path}\`: ${f.rows} rows, sha256 \`${f.sha256}\``),
    `- groups: ${Object.entries(card.data.groups)
      .map(([g, n]) => `${g} ${n}`)
      .join(', ')}`,
    `- trained on: ${card.trainedOn.join(', ')}; held out (never trained on): ${card.heldOut.join(', ') || 'none'}`,
    '',
    '## Recipe',
    '',
    '```json',
    JSON.stringify(card.recipe, null, 2),
    '```',
    '',
    `Calibration (Platt, on out-of-domain predictions): a = ${header.calibration.a.toFixed(4)}, b = ${header.calibration.b.toFixed(4)}. ` +
      `Neutral band: |P(positive) - 0.5| < ${header.neutralBand}.` +
      (header.calibration.lexicon !== undefined
        ? ` Lexicon score weight in the calibration: ${header.calibration.lexicon.toFixed(4)}.`
        : '') +
      (header.lexiconZone
        ? ` Where |P(positive) - 0.5| < ${header.lexiconZone} (the model unsure), the lexicon scorer's score and label are used when its label is not neutral; the figures below include this.`
        : ''),
    '',
    '## Figures on texts the model never saw',
    '',
    '"held out": the shipped model, never trained on the group. "left out in turn": a model trained on the other training groups.',
    'Accuracy counts a neutral answer on a polar text as wrong; macro-F1 averages the classes the truth contains.',
    '',
    '| group | texts | accuracy | macro-F1 | neutral | lexicon accuracy | lexicon macro-F1 | lexicon neutral |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...card.figures.map(
      (f) =>
        `| ${f.group} | ${f.texts} | ${f.accuracy.toFixed(3)} | ${f.macroF1.toFixed(3)} | ${pct(f.neutralShare)} | ${f.lexicon?.accuracy.toFixed(3) ?? ''} | ${f.lexicon?.macroF1.toFixed(3) ?? ''} | ${f.lexicon ? pct(f.lexicon.neutralShare) : ''} |`,
    ),
  ];
  if (summary)
    lines.push(
      '',
      `Held-out groups pooled: accuracy ${summary.heldOut.accuracy.toFixed(3)}, macro-F1 ${summary.heldOut.macroF1.toFixed(3)}, neutral ${pct(summary.heldOut.neutralShare)}; ` +
        `lexicon on the same texts ${summary.lexiconHeldOut.accuracy.toFixed(3)}, ${summary.lexiconHeldOut.macroF1.toFixed(3)}, ${pct(summary.lexiconHeldOut.neutralShare)}. ` +
        `Smallest accuracy margin over the lexicon on any group: ${summary.worstAccuracyMarginOverLexicon.toFixed(3)}.`,
      '',
      'Confusion matrix, held-out groups pooled (rows: true label; columns: predicted negative, neutral, positive):',
      '',
      '```',
      ...confusionLines(summary.heldOut.confusion),
      '```',
    );
  return lines.join('\n') + '\n';
}

export function cardPathFor(weightsPath: string): string {
  return weightsPath.replace(/\.bin$/, '') + '.card.md';
}

async function readLines(): Promise<AsyncIterable<string>> {
  return readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
}

export function registerSentimentCommand(program: Command): void {
  const sentiment = program
    .command('sentiment')
    .description('Sentiment scorers of opinion posts: train, score, eval, adapt to a shop, rescore stored posts (docs/sentiment.md).');

  sentiment
    .command('train')
    .description(
      'Train a linear scorer (hashed n-grams, softmax regression) with the cross-domain recipe; write the weights, a model card and a version.',
    )
    .requiredOption('--lang <lang>', 'zh or en', langArg)
    .requiredOption(
      '--data <files...>',
      'labelled files (reviews-zh CSV, UCI sentence<TAB>label files, or CSV/TSV with text and label columns)',
    )
    .option('--out <file>', 'weights file to write (default: the shipped model of the language)')
    .option('--held-out <groups>', 'comma-separated groups (categories, sites) never trained on, or "none" (default: the recipe\'s)')
    .option('--seed <n>', 'shuffle seed', wholeNumber)
    .option('--epochs <n>', 'passes over the data', wholeNumber)
    .addOption(jsonOption())
    .action(
      (opts: { lang: SentimentLang; data: string[]; out?: string; heldOut?: string; seed?: number; epochs?: number; json?: boolean }) => {
        const files = readData(opts.data);
        const data = files.flatMap((f) => f.rows);
        const base = DEFAULT_RECIPES[opts.lang];
        const recipe: Recipe = {
          ...base,
          ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
          ...(opts.epochs !== undefined ? { epochs: opts.epochs } : {}),
          heldOut: opts.heldOut === undefined ? base.heldOut : opts.heldOut === 'none' ? [] : opts.heldOut.split(',').map((g) => g.trim()),
        };
        const groups = new Set(data.map((d) => d.group));
        const unknown = recipe.heldOut.filter((g) => !groups.has(g));
        if (unknown.length > 0)
          throw new UsageError(`held-out group(s) ${unknown.join(', ')} not in the data (groups: ${[...groups].join(', ')})`);
        const log = opts.json ? () => undefined : (m: string) => process.stderr.write(`${m}\n`);
        const { model, figures } = runRecipe({
          data,
          recipe,
          files: files.map((f) => ({ path: path.relative(projectRoot, f.path), sha256: f.sha256, rows: f.rows.length })),
          lexicon: lexiconScorer,
          log,
        });
        const out = path.resolve(opts.out ?? shippedModelPath(opts.lang));
        fs.mkdirSync(path.dirname(out), { recursive: true });
        fs.writeFileSync(out, model.encode());
        fs.writeFileSync(cardPathFor(out), modelCardMarkdown(model));
        const result = {
          name: model.name,
          version: model.version,
          weights: out,
          bytes: fs.statSync(out).size,
          card: cardPathFor(out),
          calibration: model.header.calibration,
          neutralBand: model.header.neutralBand,
          figures,
          summary: model.header.card.summary,
          skipped: files.reduce((s, f) => s + f.skipped.length, 0),
        };
        printResult(Boolean(opts.json), result, () => {
          const summary = result.summary as { heldOut: Figures; lexiconHeldOut: Figures } | undefined;
          return [
            `${model.version}: ${result.bytes} bytes -> ${out}`,
            ...describeFigures(figures),
            ...(summary
              ? [
                  figuresLine('held-out groups pooled', summary.heldOut),
                  figuresLine('    lexicon-zh-en, same texts', summary.lexiconHeldOut),
                  ...confusionLines(summary.heldOut.confusion),
                ]
              : []),
            `model card: ${result.card}`,
          ].join('\n');
        });
      },
    );

  sentiment
    .command('score')
    .description(
      'Score texts from standard input, one per line; print one JSON line per text (score, label, probabilities, scorer, version).',
    )
    .addOption(new Option('--lang <lang>', 'zh, en, or auto (guessed from the script)').argParser(langOrAuto).default('auto'))
    .addOption(
      new Option('--scorer <name>', `default (adapted, else shipped), linear (shipped), lexicon`).argParser(scorerArg).default('default'),
    )
    .option('--json', 'accepted for symmetry: the output is always JSON lines')
    .action(async (opts: { lang: SentimentLang | 'auto'; scorer: ScorerChoice }) => {
      const { scorer, fallback } = resolveScorer(opts.scorer);
      if (fallback) process.stderr.write(`crm: sentiment models unavailable, using the lexicon: ${fallback}\n`);
      const out: string[] = [];
      for await (const line of await readLines()) {
        const lang = opts.lang === 'auto' ? languageOf(line, null) : opts.lang;
        const p = scorer.predict(line, lang);
        out.push(
          JSON.stringify({
            score: p.score,
            label: p.label,
            probabilities: p.probabilities,
            lang,
            scorer: scorer.name,
            version: scorer.version,
          }),
        );
        if (out.length >= 1000) process.stdout.write(out.splice(0).join('\n') + '\n');
      }
      if (out.length > 0) process.stdout.write(out.join('\n') + '\n');
    });

  sentiment
    .command('eval')
    .description(
      'Accuracy, macro-F1, confusion matrix and neutral share of a scorer on a labelled file, beside the lexicon (per group when the file has one).',
    )
    .requiredOption('--data <files...>', 'CSV/TSV with a text and a label (or rating) column, or UCI sentence<TAB>label files')
    .addOption(new Option('--lang <lang>', 'zh, en, or auto (per text, from the script)').argParser(langOrAuto).default('auto'))
    .addOption(new Option('--scorer <name>', 'default, linear, lexicon').argParser(scorerArg).default('default'))
    .addOption(jsonOption())
    .action((opts: { data: string[]; lang: SentimentLang | 'auto'; scorer: ScorerChoice; json?: boolean }) => {
      const rows = readData(opts.data).flatMap((f) => f.rows);
      if (rows.length === 0) throw new UsageError('no labelled rows in the data');
      const { scorer, fallback } = resolveScorer(opts.scorer);
      const langOf = (d: LabelledText) => (opts.lang === 'auto' ? languageOf(d.text, null) : opts.lang);
      const measure = (subset: LabelledText[]) => ({
        scorer: figuresOf(
          subset.map((d) => d.label),
          subset.map((d) => scorer.score(d.text, langOf(d)).label),
        ),
        lexicon: figuresOf(
          subset.map((d) => d.label),
          subset.map((d) => lexiconScorer.score(d.text, langOf(d)).label),
        ),
      });
      const groups = [...new Set(rows.map((d) => d.group))];
      const result = {
        scorer: scorer.name,
        version: scorer.version,
        ...(fallback ? { fallback } : {}),
        overall: measure(rows),
        groups: groups.length > 1 ? Object.fromEntries(groups.map((g) => [g, measure(rows.filter((d) => d.group === g))])) : {},
      };
      printResult(Boolean(opts.json), result, () =>
        [
          `${scorer.name} ${scorer.version}`,
          ...Object.entries(result.groups).flatMap(([g, m]) => [figuresLine(g, m.scorer), figuresLine('    lexicon-zh-en', m.lexicon)]),
          figuresLine('all', result.overall.scorer),
          ...confusionLines(result.overall.scorer.confusion),
          figuresLine('    lexicon-zh-en', result.overall.lexicon),
          ...confusionLines(result.overall.lexicon.confusion),
        ].join('\n'),
      );
    });

  sentiment
    .command('adapt')
    .description(
      "Adapt the shipped model to a shop's own rated reviews (1-2 negative, 3 neutral, 4-5 positive); it becomes the default only if it beats the shipped model on a held-out part. With --unlabelled instead: self-training on posts without ratings.",
    )
    .option('--data <files...>', 'CSV/TSV with a text column and a rating (1-5) column (or a label column)')
    .option(
      '--unlabelled <files...>',
      'instead of --data: posts without ratings (CSV/TSV with a text column, or one post per line); self-training on the confident predictions',
    )
    .option('--promote', 'with --unlabelled: make the self-trained model the default (no labels can check it; see docs/sentiment.md)')
    .requiredOption('--lang <lang>', 'zh or en', langArg)
    .option('--model-dir <dir>', 'where the adapted model is written', resolveSentimentModelDir())
    .option('--seed <n>', 'split and shuffle seed', wholeNumber, DEFAULT_ADAPT.seed)
    .addOption(jsonOption())
    .action(
      (opts: {
        data?: string[];
        unlabelled?: string[];
        promote?: boolean;
        lang: SentimentLang;
        modelDir: string;
        seed: number;
        json?: boolean;
      }) => {
        if ((opts.data === undefined) === (opts.unlabelled === undefined))
          throw new UsageError('give either --data (rated reviews) or --unlabelled (posts without ratings)');
        if (opts.promote && !opts.unlabelled)
          throw new UsageError('--promote goes with --unlabelled (rated data promote on their own figures)');
        const base = cachedModel(shippedModelPath(opts.lang));
        if (!base) throw new UsageError(`no shipped model at ${shippedModelPath(opts.lang)} (run crm sentiment train first)`);
        const target = adaptedModelPath(opts.lang, path.resolve(opts.modelDir));
        if (opts.unlabelled) {
          let files;
          try {
            files = opts.unlabelled.map((f) => readTextFile(path.resolve(f)));
          } catch (error) {
            if (error instanceof LabelledDataError) throw new UsageError(error.message);
            throw error;
          }
          const texts = files.flatMap((f) => f.texts);
          let result;
          try {
            result = selfTrainModel(base, texts, { ...DEFAULT_SELF_TRAIN, seed: opts.seed });
          } catch (error) {
            throw new UsageError((error as Error).message);
          }
          const promoted = Boolean(opts.promote);
          const written = promoted ? target : target.replace(/\.bin$/, '.candidate.bin');
          fs.mkdirSync(path.dirname(written), { recursive: true });
          fs.writeFileSync(written, result.model.encode());
          const output = {
            mode: 'self-training',
            promoted,
            version: result.model.version,
            base: base.version,
            written,
            texts: result.texts,
            pseudoLabelled: result.pseudoLabelled,
            pseudoPositive: result.pseudoPositive,
            changedShare: result.changedShare,
            skipped: files.reduce((s, f) => s + f.skipped.length, 0),
          };
          printResult(Boolean(opts.json), output, () =>
            [
              `Self-trained ${result.model.version} from ${base.version} on ${result.texts} unlabelled posts (${result.pseudoLabelled} pseudo-labelled); labels changed on ${pct(result.changedShare)} of them`,
              `written: ${written}${promoted ? ' (the default scorer from now on)' : ' (not used: no labels checked it; check it with crm sentiment eval, then rerun with --promote)'}`,
            ].join('\n'),
          );
          return;
        }
        const rows = readData(opts.data!, { preferRating: true }).flatMap((f) => f.rows);
        let result;
        try {
          result = adaptModel(base, rows, { ...DEFAULT_ADAPT, seed: opts.seed });
        } catch (error) {
          throw new UsageError((error as Error).message);
        }
        const written = result.promoted ? target : target.replace(/\.bin$/, '.candidate.bin');
        fs.mkdirSync(path.dirname(written), { recursive: true });
        fs.writeFileSync(written, result.model.encode());
        const output = {
          mode: 'rated',
          promoted: result.promoted,
          reason: result.reason,
          version: result.model.version,
          base: base.version,
          written,
          trainTexts: result.trainTexts,
          heldOutTexts: result.heldOutTexts,
          shipped: result.shipped,
          adapted: result.adapted,
        };
        printResult(Boolean(opts.json), output, () =>
          [
            `${result.promoted ? 'Promoted' : 'Not promoted'}: ${result.reason}`,
            figuresLine(`shipped ${base.version}`, result.shipped),
            figuresLine(`adapted ${result.model.version}`, result.adapted),
            ...confusionLines(result.adapted.confusion),
            `written: ${written}${result.promoted ? ' (the default scorer from now on)' : ' (not used; the shipped model stays the default)'}`,
          ].join('\n'),
        );
      },
    );

  sentiment
    .command('rescore')
    .description('Re-score stored opinion posts with the current scorer in a run (build copy, ledger, atomic publish); idempotent.')
    .addOption(new Option('--scorer <name>', 'default, linear, lexicon').argParser(scorerArg).default('default'))
    .addOption(landingOption())
    .addOption(warehouseOption())
    .addOption(configOption())
    .addOption(waitOption())
    .addOption(jsonOption())
    .action(async (opts: RunCommandOptions & { scorer: ScorerChoice }) => {
      await execute('sentiment rescore', [], opts, () => [sentimentRescoreStep(opts.scorer)]);
    });
}
