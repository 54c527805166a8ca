import type { Command } from 'commander';
import { parseImageLocation } from '../client/image-location.js';
import { addClientOptions, type ClientFlags, sessionSettings } from './client-options.js';
import { onAction } from './exit-status.js';
import { formatHistory } from './output/history-table.js';
import { formatInspection } from './output/inspection.js';

interface InspectFlags extends ClientFlags {
  platform?: string;
  json?: boolean;
  raw?: boolean;
  config?: boolean;
}

export function registerInspectCommands(program: Command): void {
  const inspect = program
    .command('inspect')
    .argument('<image>', 'docker://HOST/REPO:TAG (or HOST/REPO:TAG), oci:DIR[:TAG], docker-archive:PATH, …')
    .description('show an image: manifest, platforms, config, labels, layers and sizes')
    .option(
      '--platform <os/arch[/variant]>',
      "which image of a multi-platform index (default: this machine's)",
    )
    .option('--raw', 'print the manifest bytes as stored')
    .option('--config', 'print the image config JSON')
    .option('--json', 'print as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  $ berth inspect registry.example.com/team/app:1.4\n  $ berth inspect --raw docker-archive:app.tar\n  $ berth inspect --json --platform linux/arm64 oci:./layout:v1',
    );
  onAction(addClientOptions(inspect), async (raw: string, flags: InspectFlags) => {
    // Loaded when the command runs, not at the top: every other command would pay for it at start.
    const { inspectImage, readConfigOf, readRawManifest } = await import('../client/image-inspection.js');
    const location = parseImageLocation(raw);
    const session = sessionSettings(flags);
    if (flags.raw) {
      process.stdout.write(await readRawManifest(location, session));
      return 0;
    }
    if (flags.config) {
      const config = await readConfigOf({ location, session, platform: flags.platform });
      process.stdout.write(`${JSON.stringify(config, null, 2)}\n`);
      return 0;
    }
    const result = await inspectImage({ location, session, platform: flags.platform });
    process.stdout.write(flags.json ? `${JSON.stringify(result, null, 2)}\n` : formatInspection(result));
    return 0;
  });

  const history = program
    .command('history')
    .argument('<image>', 'an image reference, as for inspect')
    .description('show how the image was built, layer by layer (like `docker history --no-trunc`)')
    .option('--platform <os/arch[/variant]>', 'which image of a multi-platform index')
    .option('--json', 'print as JSON')
    .addHelpText('after', '\nExample:\n  $ berth history registry.example.com/team/app:1.4');
  onAction(addClientOptions(history), async (raw: string, flags: InspectFlags) => {
    const { imageHistory } = await import('../client/image-inspection.js');
    const rows = await imageHistory({
      location: parseImageLocation(raw),
      session: sessionSettings(flags),
      platform: flags.platform,
    });
    process.stdout.write(
      flags.json
        ? `${JSON.stringify(rows, null, 2)}\n`
        : formatHistory(rows, { terminal: process.stdout.isTTY === true }),
    );
    return 0;
  });
}
