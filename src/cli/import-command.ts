import type { Command } from 'commander';
import { BerthError } from '../oci/errors.js';
import { onAction } from './exit-status.js';
import { importJson, importTable } from './output/import-report.js';
import { addCopyOptions, type PushFlags, progressMode, pushOptions, runPush } from './push-command.js';

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
  onAction(addCopyOptions(command), async (flags: PushFlags & { file: string }) => {
    // Loaded when the command runs: the importer would slow every other command's start.
    const { importImages, readImportFile } = await import('../client/import-batch.js');
    const entries = readImportFile(flags.file);
    const result = await importImages(
      entries,
      async (entry) => {
        const perEntry: PushFlags = {
          ...flags,
          ...(entry.all !== undefined ? { all: entry.all } : {}),
          ...(entry.platform ? { platform: entry.platform } : {}),
        };
        return runPush(
          await pushOptions(entry.source, entry.destination, perEntry, entry.tags),
          progressMode(flags),
        );
      },
      {
        onStart: (entry) => {
          if (!flags.json && !flags.quiet)
            process.stderr.write(`==> ${entry.source} -> ${entry.destination}\n`);
        },
        onFailure: (_entry, message) => {
          if (!flags.json) process.stderr.write(`berth: ${message}\n`);
        },
      },
    );
    process.stdout.write(flags.json ? importJson(result) : importTable(result));
    if (result.failed > 0)
      throw new BerthError('IMPORT_FAILED', `${result.failed} of ${result.outcomes.length} images failed`);
    return 0;
  });
}
