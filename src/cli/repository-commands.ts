import type { Command } from 'commander';
import { RegistryResponseError } from '../client/registry-client.js';
import { isDigest } from '../oci/digest.js';
import { BerthError } from '../oci/errors.js';
import { parseImageReference } from '../oci/reference.js';
import { chooseServer } from './admin-client.js';
import { addClientOptions, type ClientFlags, openSession, parseBool } from './client-options.js';
import { verifyCredentials } from './login-command.js';
import { addCopyOptions, type PushFlags, progressMode, runCopy, runJson, summary } from './push-command.js';

/** HOST[:PORT] of `berth repos [SERVER]`: the argument, else the admin commands' server (a URL gives its host). */
async function reposHost(raw: string | undefined): Promise<string> {
  const chosen = raw ?? (await chooseServer({}));
  const host = /^[a-z][a-z0-9+.-]*:\/\//i.test(chosen)
    ? URL.canParse(chosen) && new URL(chosen).host
    : chosen;
  if (!host || /[/\s@]/.test(host))
    throw new BerthError('USAGE', `"${chosen}" is not a registry HOST[:PORT] or URL`);
  return host;
}

/** `repos`, `tags`, `rm` and `tag`: small commands on a registry and its repositories. */
export function registerRepositoryCommands(program: Command): void {
  const repos = program
    .command('repos')
    .argument(
      '[server]',
      'registry HOST[:PORT] (default: $BERTH_SERVER, else the Berth of the last `berth login`, else 127.0.0.1:5000)',
    )
    .description("list the registry's repositories that you may pull from (its catalog)")
    .option('--json', 'print as JSON')
    .addHelpText(
      'after',
      "\nExamples:\n  $ berth repos registry.example.com\n  $ berth repos --json | jq -r '.repositories[]'\nA registry lists only what the caller may see: without a login, often nothing.",
    );
  addClientOptions(repos).action(async (raw: string | undefined, flags: ClientFlags & { json?: boolean }) => {
    const host = await reposHost(raw);
    const session = await openSession(flags, [host]);
    try {
      session.setTlsVerify(host, parseBool(flags.tlsVerify, '--tls-verify'));
      const login = flags.creds !== undefined || (await session.credentials.get(host).catch(() => undefined));
      // A catalog answers an anonymous caller without a challenge (an empty list), so a caller with a login
      // shows it first: the ping meets the challenge, and the catalog request then carries a token.
      if (login) await verifyCredentials(session, host);
      const list = await session.registry.listRepositories(host);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ server: host, repositories: list }, null, 2)}\n`);
        return;
      }
      for (const name of list) process.stdout.write(`${name}\n`);
      if (list.length === 0 && !login)
        process.stderr.write(
          `no repositories visible to an anonymous caller: \`berth login ${host}\` first\n`,
        );
    } finally {
      await session.close();
    }
  });

  const tags = program
    .command('tags')
    .argument('<repository>', 'HOST/PROJECT/IMAGE')
    .description('list the tags of a repository')
    .option('--json', 'print as JSON')
    .addHelpText('after', '\nExample:\n  $ berth tags registry.example.com/team/app');
  addClientOptions(tags).action(async (raw: string, flags: ClientFlags & { json?: boolean }) => {
    const ref = parseImageReference(raw.replace(/^docker:\/\//, ''));
    const session = await openSession(flags, [ref.host]);
    try {
      session.setTlsVerify(ref.host, parseBool(flags.tlsVerify, '--tls-verify'));
      const list = await session.repository(ref).listTags();
      if (flags.json)
        process.stdout.write(
          `${JSON.stringify({ repository: `${ref.host}/${ref.repository}`, tags: list }, null, 2)}\n`,
        );
      else for (const tag of list) process.stdout.write(`${tag}\n`);
    } finally {
      await session.close();
    }
  });

  const rm = program
    .command('rm')
    .argument(
      '<image>',
      'HOST/REPO:TAG (removes the tag) or HOST/REPO@DIGEST (removes the manifest and its tags)',
    )
    .description('delete a tag or a manifest from a registry')
    .option('--manifest', 'with a tag: delete the manifest it points at, and so every tag of it')
    .addHelpText(
      'after',
      '\nExamples:\n  $ berth rm registry.example.com/team/app:old\n  $ berth rm registry.example.com/team/app@sha256:…',
    );
  addClientOptions(rm).action(async (raw: string, flags: ClientFlags & { manifest?: boolean }) => {
    const ref = parseImageReference(raw.replace(/^docker:\/\//, ''));
    const session = await openSession(flags, [ref.host]);
    try {
      session.setTlsVerify(ref.host, parseBool(flags.tlsVerify, '--tls-verify'));
      const repo = session.repository(ref);
      let target = ref.digest ?? ref.tag;
      if (!target) throw new BerthError('USAGE', `${raw}: name a tag or a digest to delete`);
      if (flags.manifest && ref.tag && !ref.digest) {
        const head = await repo.headManifest(ref.tag);
        if (!head?.digest) throw new BerthError('IMAGE_NOT_FOUND', `${repo.where}:${ref.tag}: no such tag`);
        target = head.digest;
      }
      try {
        await repo.deleteManifest(target);
      } catch (error) {
        // Registries without tag deletion answer UNSUPPORTED (405), or parse the tag as a digest (Distribution).
        const refused =
          error instanceof RegistryResponseError &&
          (error.status === 405 || (error.status === 400 && error.ociCode !== 'NAME_INVALID'));
        if (refused && !isDigest(target)) {
          throw new BerthError(
            'UNSUPPORTED',
            `${repo.where}: the registry cannot delete a tag alone; --manifest deletes the manifest and all its tags`,
          );
        }
        throw error;
      }
      process.stdout.write(`Deleted ${repo.where}${isDigest(target) ? `@${target}` : `:${target}`}\n`);
    } finally {
      await session.close();
    }
  });

  const tag = program
    .command('tag')
    .argument('<source>', 'HOST/REPO:TAG or HOST/REPO@DIGEST already in a registry')
    .argument('<target>', 'HOST/REPO:NEWTAG')
    .description(
      'add a tag in a registry without moving layers (blobs are mounted when the repository differs)',
    )
    .addHelpText(
      'after',
      '\nExample:\n  $ berth tag registry.example.com/team/app:1.4.2 registry.example.com/team/app:stable',
    );
  addCopyOptions(tag).action(async (sourceRaw: string, targetRaw: string, flags: PushFlags) => {
    const source = sourceRaw.startsWith('docker://') ? sourceRaw : `docker://${sourceRaw}`;
    const target = targetRaw.startsWith('docker://') ? targetRaw : `docker://${targetRaw}`;
    const run = await runCopy(
      source,
      target,
      { ...flags, all: true, compression: 'none' },
      progressMode(flags),
    );
    if (flags.json) process.stdout.write(`${JSON.stringify(runJson(run), null, 2)}\n`);
    else if (flags.quiet) process.stdout.write(`${run.result.digest}\n`);
    else process.stdout.write(`${summary(run)}\n`);
  });
}
