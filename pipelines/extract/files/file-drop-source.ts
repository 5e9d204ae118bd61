import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { DefinedRecord } from '../record-schema.ts';
import type { RecordReader, SourceRecord } from '../readers/source-record.ts';
import { readCsvRecords } from '../readers/csv-records.ts';
import { readNdjsonRecords } from '../readers/ndjson-records.ts';
import {
  SourceUnavailableError,
  type BatchPart,
  type BulkPlan,
  type FileManifestEntry,
  type SourceContext,
  type SourceDefinition,
  type SourceFamily,
} from '../source-contract.ts';

/** Which files in the drop folder feed which raw tables: by file-name prefix, CSV or NDJSON. */
export interface FileDropRule {
  /** File-name prefix, e.g. "orders" matches orders.csv, orders_2025-06.ndjson, orders-part1.csv. */
  prefix: string;
  /** Raw tables fed by these files (more than one: the same file read once per table). */
  records: readonly DefinedRecord[];
  /**
   * Load these files through the bulk path (DuckDB reads and validates them, see
   * pipelines/raw/bulk-stage.ts). Only for plain records whose every field has a SQL form; records
   * that need per-record TypeScript work (e.g. sentiment scoring) keep the row path.
   */
  bulk?: boolean;
}

export interface FileDropConfig {
  name: string;
  family: SourceFamily;
  description: string;
  /** Folder under the landing folder the shop drops exports into. */
  folder: string;
  rules: readonly FileDropRule[];
}

const READERS: Record<string, RecordReader> = { '.csv': readCsvRecords, '.ndjson': readNdjsonRecords, '.jsonl': readNdjsonRecords };

export function matchesRule(fileName: string, rule: FileDropRule): boolean {
  const ext = path.extname(fileName).toLowerCase();
  if (!(ext in READERS)) return false;
  const stem = fileName.slice(0, -ext.length);
  // "orders" matches orders.csv and orders_2025.csv, but not order_items.csv or ordersx.csv.
  return stem === rule.prefix || (stem.startsWith(rule.prefix) && /^[._-]/.test(stem.slice(rule.prefix.length)));
}

async function sha256OfFile(filePath: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(filePath)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

interface PlannedFile {
  absolute: string;
  relative: string;
  sizeBytes: number;
  modifiedAt: string;
  /** Checksum measured before loading (only when size and mtime matched the manifest). */
  knownSha?: string;
}

/**
 * A folder of file drops. New files are read once; a file already in the manifest is skipped
 * unless its SHA-256 differs, in which case it is read again in full and the natural-key upsert
 * makes the reload an update, never a second copy. The checksum stored is the one computed while
 * parsing, so a file rewritten during the load fails the batch instead of being half-recorded.
 */
export function fileDropSource(config: FileDropConfig): SourceDefinition {
  const records = [...new Set(config.rules.flatMap((r) => r.records))];
  return {
    name: config.name,
    family: config.family,
    kind: 'files',
    description: config.description,
    records,
    async open(context: SourceContext) {
      const folder = path.join(context.landingDir, config.folder);
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(folder, { withFileTypes: true });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') throw new SourceUnavailableError(config.name, `landing folder not found: ${folder}`);
        if (code === 'ENOTDIR') throw new SourceUnavailableError(config.name, `landing path is not a folder: ${folder}`);
        throw new SourceUnavailableError(config.name, `cannot read landing folder ${folder}: ${(error as Error).message}`);
      }
      const names = entries
        .filter((e) => e.isFile() && !e.name.startsWith('.') && !e.name.endsWith('.partial'))
        .map((e) => e.name)
        .sort();
      const loaded: FileManifestEntry[] = [];
      let skipped = 0;
      const ignored = names.filter((n) => !config.rules.some((rule) => matchesRule(n, rule)));
      const plan = new Map<FileDropRule, PlannedFile[]>();
      for (const rule of config.rules) {
        const files: PlannedFile[] = [];
        for (const name of names.filter((n) => matchesRule(n, rule))) {
          const absolute = path.join(folder, name);
          const relative = path.relative(context.landingDir, absolute).split(path.sep).join('/');
          const stat = fs.statSync(absolute);
          const file: PlannedFile = { absolute, relative, sizeBytes: stat.size, modifiedAt: stat.mtime.toISOString() };
          const previous = context.state.files.get(relative);
          if (previous && previous.sizeBytes === stat.size) {
            // Same size: only the checksum can tell (mtime alone is not trusted either way).
            file.knownSha = await sha256OfFile(absolute);
            if (file.knownSha === previous.sha256) {
              skipped += 1;
              continue;
            }
          }
          files.push(file);
        }
        plan.set(rule, files);
      }

      const manifestDone = new Set<string>();
      const parts: BatchPart[] = [];
      for (const rule of config.rules) {
        const files = plan.get(rule)!;
        rule.records.forEach((record, index) => {
          // Only the first table a file feeds records it in the manifest (the others re-read it).
          const manifest = index === 0 ? loaded : null;
          const part: BatchPart = { record, records: readFiles(files, context.landingDir, manifest, manifestDone) };
          if (rule.bulk) part.bulk = bulkPlan(files, context.landingDir, manifest, manifestDone);
          parts.push(part);
        });
      }
      return {
        parts,
        finish: () => ({ files: loaded }),
        close: async () => undefined,
        notes: () => [
          `${loaded.length} file(s) loaded${skipped > 0 ? `, ${skipped} unchanged file(s) skipped` : ''}`,
          ...(ignored.length > 0 ? [`ignored (no rule matches): ${ignored.join(', ')}`] : []),
        ],
      };
    },
  };
}

async function* readFiles(
  files: PlannedFile[],
  landingDir: string,
  manifest: FileManifestEntry[] | null,
  done: Set<string>,
): AsyncGenerator<SourceRecord> {
  for (const file of files) {
    const read = READERS[path.extname(file.absolute).toLowerCase()]!;
    const hash = crypto.createHash('sha256');
    let count = 0;
    for await (const record of read(file.absolute, landingDir, { onBytes: (chunk) => hash.update(chunk) })) {
      count += 1;
      yield record;
    }
    const sha256 = hash.digest('hex');
    if (file.knownSha !== undefined && file.knownSha !== sha256) {
      throw new Error(`${file.relative} changed while it was being loaded; the batch is rolled back, re-run when the file is complete`);
    }
    if (manifest && !done.has(file.relative)) {
      done.add(file.relative);
      manifest.push({ path: file.relative, sha256, sizeBytes: file.sizeBytes, modifiedAt: file.modifiedAt, records: count });
    }
  }
}

function bulkPlan(files: PlannedFile[], landingDir: string, manifest: FileManifestEntry[] | null, done: Set<string>): BulkPlan {
  const planned = new Map<string, PlannedFile>(files.map((f) => [f.relative, f]));
  return {
    files: files.map((f) => ({
      absolute: f.absolute,
      relative: f.relative,
      format: path.extname(f.absolute).toLowerCase() === '.csv' ? 'csv' : 'ndjson',
      ...(f.knownSha !== undefined ? { knownSha: f.knownSha } : {}),
    })),
    rowRecords: (file) => readFiles([planned.get(file.relative)!], landingDir, manifest, done),
    loaded(file, sha256, records) {
      const f = planned.get(file.relative)!;
      if (manifest && !done.has(f.relative)) {
        done.add(f.relative);
        manifest.push({ path: f.relative, sha256, sizeBytes: f.sizeBytes, modifiedAt: f.modifiedAt, records });
      }
    },
  };
}
