import type { Command } from 'commander';
import { addClientOptions, type ClientFlags, sessionSettings } from './client-options.js';
import { onAction } from './exit-status.js';
import { registryImage } from './sign-command.js';

interface ReferrersFlags extends ClientFlags {
  json?: boolean;
}

export function registerReferrersCommand(program: Command): void {
  const referrers = program
    .command('referrers')
    .argument('<image>', 'HOST/REPO:TAG or HOST/REPO@DIGEST')
    .description(
      'list what is attached to an image: OCI referrers (SBOMs, reports; the referrers API, else the sha256-<hex> tag schema) and cosign signatures',
    )
    .option('--json', 'print as JSON')
    .addHelpText('after', '\nExample:\n  $ berth referrers registry.example.com/team/app:1.4');
  onAction(addClientOptions(referrers), async (raw: string, flags: ReferrersFlags) => {
    const { listReferrers } = await import('../client/image-referrers.js');
    const listing = await listReferrers({ ref: registryImage(raw), session: sessionSettings(flags) });
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(listing, null, 2)}\n`);
      return 0;
    }
    const lines = [
      `${listing.image}@${listing.digest}: ${listing.referrers.length} referrer(s) (${listing.via === 'api' ? 'referrers API' : 'tag schema'}), ${listing.cosignSignatures} cosign signature(s)`,
    ];
    for (const r of listing.referrers)
      lines.push(`  ${r.digest}  ${r.artifactType ?? r.mediaType}  ${r.size} B`);
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  });
}
