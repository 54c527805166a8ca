import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { z } from 'zod';
import { BerthError } from '../oci/errors.js';
import type { PushResult } from './push.js';

const entrySchema = z
  .object({
    source: z.string().min(1),
    destination: z.string().min(1),
    /** More tags for the same image at the destination. */
    tags: z.array(z.string().regex(/^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/, 'not a valid tag')).default([]),
    all: z.boolean().optional(),
    platform: z.string().optional(),
  })
  .strict();

const fileSchema = z.union([z.array(entrySchema), z.object({ images: z.array(entrySchema) }).strict()]);

export type ImportEntry = z.infer<typeof entrySchema>;

/** The images an import file lists: `[{source, destination, tags?, all?, platform?}]` or `{images: [...]}`. */
export function readImportFile(path: string): ImportEntry[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new BerthError('USAGE', `cannot read ${path}: ${(error as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = YAML.parse(text);
  } catch (error) {
    throw new BerthError('USAGE', `${path} is not valid YAML: ${(error as Error).message}`);
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BerthError(
      'USAGE',
      `${path}: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return Array.isArray(parsed.data) ? parsed.data : parsed.data.images;
}

/** One image of a batch: its push, or why it failed. */
export interface ImportOutcome {
  entry: ImportEntry;
  run?: PushResult;
  error?: string;
}

export interface ImportResult {
  outcomes: ImportOutcome[];
  failed: number;
  /** Bytes of the blobs uploaded, resumed ones whole. */
  uploadedBytes: number;
  /** Bytes this run sent. */
  sentBytes: number;
}

/**
 * Pushes every image of a batch, one after the other, and reports them all: a failed image does not stop
 * the rest. `push` is the push of one entry (the caller's flags with the entry's own `all`, `platform` and
 * tags).
 */
export async function importImages(
  entries: ImportEntry[],
  push: (entry: ImportEntry) => Promise<PushResult>,
  events: {
    onStart?: (entry: ImportEntry) => void;
    onFailure?: (entry: ImportEntry, message: string) => void;
  } = {},
): Promise<ImportResult> {
  const outcomes: ImportOutcome[] = [];
  for (const entry of entries) {
    try {
      events.onStart?.(entry);
      outcomes.push({ entry, run: await push(entry) });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      outcomes.push({ entry, error: message });
      events.onFailure?.(entry, message);
    }
  }
  return {
    outcomes,
    failed: outcomes.filter((o) => o.error).length,
    uploadedBytes: outcomes.reduce((sum, o) => sum + (o.run?.result.uploadedBytes ?? 0), 0),
    sentBytes: outcomes.reduce((sum, o) => sum + (o.run?.result.sentBytes ?? 0), 0),
  };
}
