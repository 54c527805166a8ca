import type { Command } from 'commander';
import { parseImageLocation } from '../client/image-location.js';
import { BerthError } from '../oci/errors.js';
import { addClientOptions, type ClientFlags, sessionSettings } from './client-options.js';
import { onAction } from './exit-status.js';
import { formatAnalysis } from './output/analysis.js';
import { withLayerProgress } from './output/layer-progress.js';

interface AnalyzeFlags extends ClientFlags {
  platform?: string;
  json?: boolean;
  top?: string;
}

function parseTop(raw: string | undefined): number {
  if (raw === undefined) return 20;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 10000)
    throw new BerthError('USAGE', `--top: "${raw}" is not a whole number from 0 to 10000`);
  return n;
}

export function registerAnalyzeCommand(program: Command): void {
  const analyze = program
    .command('analyze')
    .argument(
      '<image>',
      'docker-archive:PATH, oci:DIR[:TAG], oci-archive:PATH, docker-daemon:NAME, HOST/REPO:TAG',
    )
    .description(
      'read every layer once: history, per-layer changes, wasted bytes, efficiency, largest files and folders, base image',
    )
    .option(
      '--platform <os/arch[/variant]>',
      "which image of a multi-platform index (default: this machine's)",
    )
    .option('--top <n>', 'how many entries the largest and wasted lists show', '20')
    .option('--json', 'print the analysis as JSON')
    .addHelpText(
      'after',
      `
The efficiency is the share of the file bytes shipped in all layers that reach the final filesystem.
Wasted bytes are files a later layer overwrites or deletes (they still ship in the lower layer) plus
identical content shipped in more than one layer. Exit status: 0, or 1 when the image cannot be read
(a layer that cannot be read is reported and the rest analyzed; the exit status is then 1).

Examples:
  $ berth analyze docker-archive:app.tar
  $ berth analyze --json oci:./layout:v1 | jq .totals
  $ berth analyze --platform linux/arm64 registry.example.com/team/app:1.4`,
    );
  onAction(addClientOptions(analyze), async (raw: string, flags: AnalyzeFlags) => {
    const top = parseTop(flags.top);
    // Loaded when the command runs, not at the top: every other command would pay for it at start.
    const { analyzeImage } = await import('../client/image-analysis.js');
    const analysis = await withLayerProgress((onLayer) =>
      analyzeImage({
        location: parseImageLocation(raw),
        session: sessionSettings(flags),
        platform: flags.platform,
        top,
        onLayer,
      }),
    );
    const { report, incomplete, ...image } = analysis;
    if (flags.json) process.stdout.write(`${JSON.stringify({ ...image, ...report }, null, 2)}\n`);
    else
      process.stdout.write(
        formatAnalysis(report, {
          name: image.name,
          digest: image.digest,
          ...(image.platform ? { platform: image.platform } : {}),
        }),
      );
    return incomplete ? 1 : 0;
  });
}
