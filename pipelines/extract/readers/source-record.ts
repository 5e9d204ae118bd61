/** A record as read from a source, before validation, with where it came from. */
export interface SourceRecord {
  /** Human-readable place: file and line, page, or primary key. */
  location: string;
  file: string;
  line: number;
  /** Parsed fields, or null when the line could not even be parsed. */
  fields: Record<string, unknown> | null;
  /** Exactly what the source held, kept for the quarantine. */
  rawText: string;
  parseError?: string;
  /**
   * Set by a source that already validated the record in SQL (sql-checks.ts, the bulk path's rules):
   * the normalised values in the record's field order (null for empty). The loader appends them as
   * they are instead of running zod; `fields` still holds what the source read (drift, record key).
   */
  checked?: (string | null)[];
  /** Set with `fields` when the source's SQL checks rejected the record: the reason, worded as zod's. */
  rejected?: string;
}

export interface ReadOptions {
  /** Sees every byte of the file as it is read (the file-drop source checksums while parsing). */
  onBytes?: (chunk: Buffer) => void;
  /** The file's path relative to the landing folder when `filePath` is a transcoded copy of it. */
  displayPath?: string;
  /** CSV field delimiter (default ','). */
  delimiter?: string;
}

export type RecordReader = (filePath: string, relativeTo: string, options?: ReadOptions) => AsyncIterable<SourceRecord>;
