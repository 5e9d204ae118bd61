import { z } from 'zod';

/**
 * What a shop declares about one of its file sources (crm.config.json / crm.config.yaml,
 * `sources.<name>`): whether it may be absent, and how its files are written. Every field has the
 * documented default (docs/sources.md), so a source with no entry behaves as before.
 */
export const FILE_ENCODINGS = ['auto', 'utf-8', 'gb18030', 'utf-16le', 'utf-16be'] as const;

export const fileSourceSettingsSchema = z
  .object({
    /** An optional source whose folder is absent is skipped and reported; a required one fails its step. */
    optional: z.boolean().optional(),
    /** Text encoding of its files; 'auto' detects a BOM, UTF-8, UTF-16 and GB18030 (GBK's superset). */
    encoding: z.enum(FILE_ENCODINGS).default('auto'),
    /** CSV field delimiter (one character). Files with another delimiter than ',' take the row path. */
    delimiter: z.string().length(1).default(','),
    /** A file not ending with a newline is being written: leave it for the next run (off when readyMarker is set). */
    requireFinalNewline: z.boolean().default(true),
    /** A file (e.g. "_SUCCESS") whose presence in the folder says the export is complete; until then nothing is read. */
    readyMarker: z.string().min(1).optional(),
    /**
     * A source of the shop's own exports read through a mapping: `preset:<name>` (cdnow, order-lines, ...)
     * or the path of a mapping file (YAML), relative to the config file. Only for sources the config adds.
     */
    mapping: z.string().min(1).optional(),
    /** Folder under the landing folder a mapped source reads (default: the source's name). */
    folder: z
      .string()
      .min(1)
      .regex(/^[^/\\.][^\\]*$/, 'a folder under the landing folder')
      .optional(),
  })
  .strict();

export type FileSourceSettings = z.infer<typeof fileSourceSettingsSchema>;
export type FileEncoding = (typeof FILE_ENCODINGS)[number];

export const DEFAULT_FILE_SOURCE_SETTINGS: FileSourceSettings = fileSourceSettingsSchema.parse({});
