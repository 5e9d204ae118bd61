import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import type { SentimentLabel } from '../sentiment-scorer.ts';

/**
 * Labelled texts for training and evaluation, read from the formats analysts and the shared data
 * sets use:
 * - CSV or TSV with a header: a text column (text, review, sentence, content, comment), a label
 *   column (label, sentiment, polarity: 0/1, -1/0/1 or negative/neutral/positive) or a star-rating
 *   column (rating, stars, score: 1-2 negative, 3 neutral, 4-5 positive), and optionally a group
 *   column (cat, category, group, site, domain) used for cross-domain splits;
 *   reviews-zh's `cat,label,review` is this format.
 * - The UCI "Sentiment Labelled Sentences" files (`sentence<TAB>0|1`, no header): the group is the
 *   site named by the file (amazon_cells_labelled.txt -> amazon).
 * Rows with an empty text or an unreadable label are skipped and counted, never guessed.
 */
export interface LabelledText {
  text: string;
  label: SentimentLabel;
  group: string;
}

export interface LabelledFile {
  path: string;
  sha256: string;
  rows: LabelledText[];
  skipped: { line: number; reason: string }[];
}

const TEXT_COLUMNS = ['text', 'review', 'sentence', 'content', 'comment', 'post_text'];
const LABEL_COLUMNS = ['label', 'sentiment', 'polarity', 'sentiment_label'];
const RATING_COLUMNS = ['rating', 'stars', 'star', 'score'];
const GROUP_COLUMNS = ['cat', 'category', 'group', 'site', 'domain'];

export class LabelledDataError extends Error {
  override name = 'LabelledDataError';
}

function siteOf(file: string): string {
  return path
    .basename(file)
    .replace(/\.(txt|tsv|csv)$/i, '')
    .replace(/_labelled$/, '')
    .replace(/_cells$/, '');
}

function labelFromValue(raw: string, scale: 'binary' | 'ternary'): SentimentLabel | null {
  const v = raw.trim().toLowerCase();
  if (v === 'positive' || v === 'pos') return 'positive';
  if (v === 'negative' || v === 'neg') return 'negative';
  if (v === 'neutral' || v === 'neu') return 'neutral';
  if (v === '1' || v === '+1') return 'positive';
  if (v === '-1') return 'negative';
  if (v === '0') return scale === 'binary' ? 'negative' : 'neutral';
  return null;
}

/** 1-2 stars negative, 3 neutral, 4-5 positive (anything else: unreadable). */
export function labelFromRating(raw: string): SentimentLabel | null {
  const stars = Number(raw.trim());
  if (!Number.isFinite(stars) || stars < 1 || stars > 5) return null;
  if (stars < 3) return 'negative';
  if (stars > 3) return 'positive';
  return 'neutral';
}

export function readLabelledFile(file: string, options: { preferRating?: boolean } = {}): LabelledFile {
  if (!fs.existsSync(file)) throw new LabelledDataError(`data file not found: ${file}`);
  const bytes = fs.readFileSync(file);
  const sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
  const content = bytes.toString('utf8').replace(/^\uFEFF/, '');
  const firstLine = content.slice(0, content.indexOf('\n') >>> 0);
  const delimiter = firstLine.includes('\t') ? '\t' : ',';
  const headerCells = firstLine.split(delimiter).map((c) => c.trim().toLowerCase().replace(/^"|"$/g, ''));
  const hasHeader = headerCells.some((c) => TEXT_COLUMNS.includes(c));
  const rows: LabelledText[] = [];
  const skipped: { line: number; reason: string }[] = [];

  if (!hasHeader) {
    // UCI sentence<TAB>label, no header, no quoting (sentences hold quotes of their own).
    if (delimiter !== '\t') throw new LabelledDataError(`${file}: no header naming a text column (${TEXT_COLUMNS.join(', ')})`);
    const group = siteOf(file);
    content.split(/\r?\n/).forEach((line, index) => {
      if (line.trim() === '') return;
      const tab = line.lastIndexOf('\t');
      const text = line.slice(0, tab).trim();
      const label = tab > 0 ? labelFromValue(line.slice(tab + 1), 'binary') : null;
      if (text === '' || label === null) skipped.push({ line: index + 1, reason: text === '' ? 'empty text' : 'unreadable label' });
      else rows.push({ text, label, group });
    });
    return { path: file, sha256, rows, skipped };
  }

  const records = parse(content, {
    delimiter,
    columns: (h: string[]) => h.map((c) => c.trim().toLowerCase()),
    relax_quotes: true,
    relax_column_count: true,
    skip_empty_lines: true,
    quote: delimiter === '\t' ? false : '"',
  }) as Record<string, string | undefined>[];
  const columns = headerCells;
  const textColumn = TEXT_COLUMNS.find((c) => columns.includes(c))!;
  const labelColumn = LABEL_COLUMNS.find((c) => columns.includes(c));
  const ratingColumn = RATING_COLUMNS.find((c) => columns.includes(c));
  const groupColumn = GROUP_COLUMNS.find((c) => columns.includes(c));
  const useRating = ratingColumn !== undefined && (options.preferRating || labelColumn === undefined);
  if (!useRating && labelColumn === undefined)
    throw new LabelledDataError(
      `${file}: no label column (${LABEL_COLUMNS.join(', ')}) and no rating column (${RATING_COLUMNS.join(', ')})`,
    );
  const values = new Set(records.map((r) => (useRating ? '' : (r[labelColumn!] ?? '').trim())));
  const scale = [...values].every((v) => v === '0' || v === '1' || v === '') ? 'binary' : 'ternary';
  const defaultGroup = siteOf(file);
  records.forEach((record, index) => {
    const text = (record[textColumn] ?? '').replace(/^\uFEFF/, '').trim();
    const label = useRating ? labelFromRating(record[ratingColumn!] ?? '') : labelFromValue(record[labelColumn!] ?? '', scale);
    if (text === '') skipped.push({ line: index + 2, reason: 'empty text' });
    else if (label === null) skipped.push({ line: index + 2, reason: useRating ? 'rating not 1-5' : 'unreadable label' });
    else rows.push({ text, label, group: groupColumn ? (record[groupColumn] ?? '').trim() || defaultGroup : defaultGroup });
  });
  return { path: file, sha256, rows, skipped };
}

export interface TextFile {
  path: string;
  sha256: string;
  texts: string[];
  skipped: { line: number; reason: string }[];
}

/**
 * Unlabelled texts (a shop's posts without ratings, for `crm sentiment adapt --unlabelled`): a CSV
 * or TSV whose header names a text column (text, review, ...; other columns ignored), or plain text
 * with one post per line. Empty texts are skipped and counted with their line.
 */
export function readTextFile(file: string): TextFile {
  if (!fs.existsSync(file)) throw new LabelledDataError(`data file not found: ${file}`);
  const bytes = fs.readFileSync(file);
  const sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
  const content = bytes.toString('utf8').replace(/^\uFEFF/, '');
  const firstLine = content.slice(0, content.indexOf('\n') >>> 0);
  const delimiter = firstLine.includes('\t') ? '\t' : ',';
  const headerCells = firstLine.split(delimiter).map((c) => c.trim().toLowerCase().replace(/^"|"$/g, ''));
  const textColumn = TEXT_COLUMNS.find((c) => headerCells.includes(c));
  const texts: string[] = [];
  const skipped: { line: number; reason: string }[] = [];
  if (textColumn === undefined) {
    const lines = content.split(/\r?\n/);
    lines.forEach((line, index) => {
      if (line.trim() !== '') texts.push(line.trim());
      else if (index < lines.length - 1) skipped.push({ line: index + 1, reason: 'empty text' });
    });
    return { path: file, sha256, texts, skipped };
  }
  const records = parse(content, {
    delimiter,
    columns: (h: string[]) => h.map((c) => c.trim().toLowerCase()),
    relax_quotes: true,
    relax_column_count: true,
    skip_empty_lines: true,
    quote: delimiter === '\t' ? false : '"',
  }) as Record<string, string | undefined>[];
  records.forEach((record, index) => {
    const text = (record[textColumn] ?? '').trim();
    if (text === '') skipped.push({ line: index + 2, reason: 'empty text' });
    else texts.push(text);
  });
  return { path: file, sha256, texts, skipped };
}
