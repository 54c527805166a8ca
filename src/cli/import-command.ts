import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import YAML from 'yaml';
import { z } from 'zod';
import { formatBytes } from '../oci/byte-size.js';
import { BerthError } from '../oci/errors.js';
import {
  addCopyOptions,
  type CopyRun,
  type PushFlags,
  progressMode,
  runCopy,
  runJson,
} from './push-command.js';

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

interface Outcome {
  entry: ImportEntry;
  run?: CopyRun;
  error?: string;
}

export function registerImportCommand(program: Command): void {
  const command = program
    .command('import')
    .description('copy a batch of images listed in a YAML file; tries them all, then reports')
    .requiredOption(
      '-f, --file <images.yaml>',
      'the list: [{source, destination, tags?, all?, platform?}] or {images: [...]}',
    )
    .addHelpText(
      'after',
      `
images.yaml:
  images:
    - source: docker-archive:build/api.tar
      destination: registry.example.com/team/api:1.4.2
      tags: [1.4, latest]
    - source: oci:build/web-layout:1.4.2
      destination: registry.example.com/team/web:1.4.2
      all: true

Example:
  $ berth import --file images.yaml --json > import-report.json
A second run uploads nothing (blobs are found in place) and says so. The exit code is 1 when any image failed.`,
    );
  addCopyOptions(command).action(async (flags: PushFlags & { file: string }) => {
    const entries = readImportFile(flags.file);
    const outcomes: Outcome[] = [];
    for (const entry of entries) {
      try {
        const perEntry: PushFlags = {
          ...flags,
          ...(entry.all !== undefined ? { all: entry.all } : {}),
          ...(entry.platform ? { platform: entry.platform } : {}),
        };
        if (!flags.json && !flags.quiet)
          process.stderr.write(`==> ${entry.source} -> ${entry.destination}\n`);
        const run = await runCopy(entry.source, entry.destination, perEntry, progressMode(flags), entry.tags);
        outcomes.push({ entry, run });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        outcomes.push({ entry, error: message });
        if (!flags.json) process.stderr.write(`berth: ${message}\n`);
      }
    }
    const failed = outcomes.filter((o) => o.error).length;
    const uploaded = outcomes.reduce((sum, o) => sum + (o.run?.result.uploadedBytes ?? 0), 0);
    const sent = outcomes.reduce((sum, o) => sum + (o.run?.result.sentBytes ?? 0), 0);
    if (flags.json) {
      process.stdout.write(
        `${JSON.stringify(
          {
            images: outcomes.map((o) =>
              o.run
                ? { status: 'ok', ...runJson(o.run), tags: o.entry.tags }
                : {
                    status: 'failed',
                    source: o.entry.source,
                    destination: o.entry.destination,
                    error: o.error,
                  },
            ),
            failed,
            uploadedBytes: uploaded,
          },
          null,
          2,
        )}\n`,
      );
    } else {
      const rows = outcomes.map((o) => [
        o.entry.destination,
        o.run ? 'ok' : 'FAILED',
        o.run ? o.run.result.digest.slice(0, 19) : '-',
        // Bytes this run sent: a layer an interrupted run had partly uploaded counts only its rest.
        o.run ? (o.run.result.uploadedBytes > 0 ? formatBytes(o.run.result.sentBytes) : 'nothing') : '-',
        o.run ? `${o.run.seconds.toFixed(1)} s` : (o.error ?? ''),
      ]);
      const head = ['IMAGE', 'RESULT', 'DIGEST', 'UPLOADED', 'TIME'];
      const widths = head.map((h, i) =>
        Math.max(h.length, ...rows.map((r) => (i < 4 ? (r[i] ?? '').length : 0))),
      );
      const line = (cells: string[]) =>
        cells.map((c, i) => (i < 4 ? c.padEnd(widths[i] ?? 0) : c)).join('  ');
      process.stdout.write(`${[line(head), ...rows.map(line)].join('\n')}\n`);
      process.stdout.write(
        uploaded === 0 && failed === 0
          ? `${outcomes.length} images, all already in place: nothing uploaded\n`
          : `${outcomes.length - failed} of ${outcomes.length} images copied, ${formatBytes(sent)} uploaded\n`,
      );
    }
    if (failed > 0) throw new BerthError('IMPORT_FAILED', `${failed} of ${outcomes.length} images failed`);
  });
}
