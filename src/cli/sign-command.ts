import type { Command } from 'commander';
import { parseImageLocation } from '../client/image-location.js';
import { BerthError } from '../oci/errors.js';
import type { ImageReference } from '../oci/reference.js';
import { addClientOptions, type ClientFlags, sessionSettings } from './client-options.js';
import { asGateCommand, GATE_REFUSED, onAction } from './exit-status.js';
import { keyPassword } from './key-command.js';

interface SignFlags extends ClientFlags {
  key: string;
  annotations: string[];
  json?: boolean;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function registryImage(raw: string): ImageReference {
  const location = parseImageLocation(raw);
  if (location.transport !== 'docker')
    throw new BerthError(
      'LOCATION_INVALID',
      `${raw}: signatures live in a registry: give HOST/REPO:TAG or @DIGEST`,
    );
  return location.ref;
}

export function registerSignCommands(program: Command): void {
  const sign = program
    .command('sign')
    .argument('<image>', 'HOST/REPO:TAG or HOST/REPO@DIGEST')
    .description(
      "sign an image's manifest digest with a cosign key; the signature is stored as cosign stores it (the sha256-<hex>.sig tag), next to those already there",
    )
    .requiredOption(
      '--key <file>',
      'the encrypted private key (from berth key generate or cosign generate-key-pair)',
    )
    .option('-a, --annotations <key=value>', 'a claim to sign along (repeatable)', collect, [])
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExample:\n  $ berth sign --key cosign.key -a release=v1.0 registry.example.com/app:v1.0',
    );
  onAction(addClientOptions(sign), async (raw: string, flags: SignFlags) => {
    const { parseAnnotationFlags, signImage } = await import('../client/image-signing.js');
    const ref = registryImage(raw);
    const annotations = parseAnnotationFlags(flags.annotations);
    const result = await signImage({
      ref,
      session: sessionSettings(flags),
      keyPath: flags.key,
      password: await keyPassword('read'),
      annotations,
    });
    if (flags.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else
      process.stdout.write(
        `${result.added ? 'Signed' : 'Already signed'} ${result.image}@${result.digest}: ${result.signatures} signature(s) at ${result.image}:${result.signatureTag}\n`,
      );
    return 0;
  });

  const verify = program
    .command('verify')
    .argument('<image>', 'HOST/REPO:TAG or HOST/REPO@DIGEST')
    .description(
      'check every cosign signature of an image against a public key; exits 1 when none verifies, 2 when it cannot check. Claims given with -a must be among the signed ones',
    )
    .requiredOption('--key <file>', 'the public key PEM (PREFIX.pub)')
    .option(
      '-a, --annotations <key=value>',
      'a claim every accepted signature must carry (repeatable)',
      collect,
      [],
    )
    .option('--json', 'print every signature and its verdict as JSON')
    .addHelpText(
      'after',
      '\nExample:\n  $ berth verify --key cosign.pub -a release=v1.0 registry.example.com/app:v1.0',
    );
  // A gate command: 0 verified, 1 no signature verified, 2 it could not be checked (no image, bad key, network).
  onAction(addClientOptions(verify), (raw: string, flags: SignFlags) =>
    asGateCommand(async () => {
      const { parseAnnotationFlags, verifyImage } = await import('../client/image-signing.js');
      const ref = registryImage(raw);
      const result = await verifyImage({
        ref,
        session: sessionSettings(flags),
        keyPath: flags.key,
        required: parseAnnotationFlags(flags.annotations),
      });
      if (flags.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      else {
        const lines = [
          `${result.image}@${result.digest}: ${result.signatures.length} signature(s) at ${result.signatureTag}, ${result.verified} verified`,
        ];
        for (const s of result.signatures)
          lines.push(
            s.verified
              ? `  verified   #${s.index} ${s.payloadDigest}${Object.keys(s.annotations ?? {}).length ? ` ${JSON.stringify(s.annotations)}` : ''}`
              : `  rejected   #${s.index} ${s.payloadDigest}: ${s.reason}`,
          );
        process.stdout.write(`${lines.join('\n')}\n`);
      }
      if (result.verified === 0) {
        process.stderr.write(
          `berth: ${result.image}@${result.digest}: no signature verified with ${flags.key}\n`,
        );
        return GATE_REFUSED;
      }
      return 0;
    }),
  );
}
