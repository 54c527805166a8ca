import type { Command } from 'commander';
import { BerthError } from '../oci/errors.js';
import { isRepoName } from '../oci/names.js';
import { parseImageReference } from '../oci/reference.js';
import { type AdminFlags, addAdminOptions, print, withAdminFlags } from './admin-options.js';
import { addClientOptions, type ClientFlags, sessionSettings } from './client-options.js';
import { onAction } from './exit-status.js';
import { pushOutput } from './output/push-result.js';
import { addCopyOptions, type PushFlags, progressMode, pushOptions, runPush } from './push-command.js';

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
  onAction(
    addClientOptions(repos),
    async (raw: string | undefined, flags: ClientFlags & { json?: boolean }) => {
      // Each command loads its use case when it runs: the client's transport would slow every start.
      const { catalogHost, listRepositories } = await import('../client/registry-catalog.js');
      const host = await catalogHost(raw);
      const { repositories, loggedIn } = await listRepositories(host, sessionSettings(flags));
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ server: host, repositories }, null, 2)}\n`);
        return 0;
      }
      for (const name of repositories) process.stdout.write(`${name}\n`);
      if (repositories.length === 0 && !loggedIn)
        process.stderr.write(
          `no repositories visible to an anonymous caller: \`berth login ${host}\` first\n`,
        );
      return 0;
    },
  );

  const tags = program
    .command('tags')
    .argument('<repository>', 'HOST/PROJECT/IMAGE')
    .description('list the tags of a repository')
    .option('--json', 'print as JSON')
    .addHelpText('after', '\nExample:\n  $ berth tags registry.example.com/team/app');
  onAction(addClientOptions(tags), async (raw: string, flags: ClientFlags & { json?: boolean }) => {
    const { listTags } = await import('../client/registry-catalog.js');
    const ref = parseImageReference(raw.replace(/^docker:\/\//, ''));
    const list = await listTags(ref, sessionSettings(flags));
    if (flags.json)
      process.stdout.write(
        `${JSON.stringify({ repository: `${ref.host}/${ref.repository}`, tags: list }, null, 2)}\n`,
      );
    else for (const tag of list) process.stdout.write(`${tag}\n`);
    return 0;
  });

  const rm = program
    .command('rm')
    .argument(
      '[image]',
      'HOST/REPO:TAG (removes the tag) or HOST/REPO@DIGEST (removes the manifest and its tags)',
    )
    .description('delete a tag or a manifest from a registry, or a whole repository from a Berth server')
    .option('--manifest', 'with a tag: delete the manifest it points at, and so every tag of it')
    .option(
      '--repository <name>',
      'delete the whole repository PROJECT/IMAGE (tags, manifests, blob links) on the Berth server; `berth gc` frees the bytes',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  $ berth rm registry.example.com/team/app:old\n  $ berth rm registry.example.com/team/app@sha256:…\n  $ berth rm --repository team/app --server registry.example.com',
    );
  onAction(
    addAdminOptions(rm),
    async (raw: string | undefined, flags: AdminFlags & { manifest?: boolean; repository?: string }) => {
      if (flags.repository !== undefined) {
        if (raw !== undefined || flags.manifest)
          throw new BerthError('USAGE', '--repository goes alone: no image, no --manifest');
        const repository = flags.repository;
        if (!isRepoName(repository))
          throw new BerthError('USAGE', `--repository ${repository}: a repository name such as team/app`);
        const { removeRepository } = await import('../client/storage-admin.js');
        return withAdminFlags(flags, async (api) => {
          const removed = await removeRepository(api, repository);
          print(
            flags,
            removed,
            (r) =>
              `Deleted repository ${r.repository}: ${r.tags} tags, ${r.manifests} manifests, ${r.blobLinks} blob links (\`berth gc\` frees the bytes)\n`,
          );
        });
      }
      if (raw === undefined) throw new BerthError('USAGE', 'name an image to delete, or give --repository');
      const { deleteImage } = await import('../client/registry-catalog.js');
      const ref = parseImageReference(raw.replace(/^docker:\/\//, ''));
      const settings = sessionSettings(flags);
      if (!ref.digest && !ref.tag) throw new BerthError('USAGE', `${raw}: name a tag or a digest to delete`);
      const deleted = await deleteImage(ref, { manifest: flags.manifest === true }, settings);
      process.stdout.write(`Deleted ${deleted}\n`);
      return 0;
    },
  );

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
  onAction(addCopyOptions(tag), async (sourceRaw: string, targetRaw: string, flags: PushFlags) => {
    const source = sourceRaw.startsWith('docker://') ? sourceRaw : `docker://${sourceRaw}`;
    const target = targetRaw.startsWith('docker://') ? targetRaw : `docker://${targetRaw}`;
    const run = await runPush(
      await pushOptions(source, target, { ...flags, all: true, compression: 'none' }),
      progressMode(flags),
    );
    process.stdout.write(pushOutput(run, flags));
    return 0;
  });
}
