import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RandomImage } from './random-oci-image.js';
import { runCommand, type StartedCommand, startCommand } from './run-command.js';

const COPY_TIMEOUT_MS = 15 * 60 * 1000;

/**
 * skopeo with a blob-info cache of its own. As root, containers/image always uses /var/lib/containers/cache,
 * shared with every other skopeo on the machine, and may answer a push from it (a cross-repository mount of a
 * blob it remembers) instead of uploading. Telling it it runs rootless moves the cache under XDG_DATA_HOME,
 * which the bench makes fresh for every server instance; an empty server behind a fresh port does the rest.
 */
export class Skopeo {
  constructor(private readonly home: string) {}

  private async env(): Promise<NodeJS.ProcessEnv> {
    await mkdir(join(this.home, 'tmp'), { recursive: true });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      XDG_DATA_HOME: this.home,
      TMPDIR: join(this.home, 'tmp'),
    };
    if (process.getuid?.() === 0) env._CONTAINERS_ROOTLESS_UID = '1000';
    return env;
  }

  /**
   * Pushes an OCI layout. `--preserve-digests` makes skopeo refuse rather than rewrite anything, so the bytes
   * sent are exactly the layout's: the pre-gzipped layers go up as they are, no compression on the way.
   */
  async push(image: RandomImage, hostPort: string, repo: string): Promise<number> {
    const args = [
      '--insecure-policy',
      'copy',
      '-q',
      '--preserve-digests',
      '--dest-tls-verify=false',
      '--dest-no-creds',
    ];
    args.push(`oci:${image.layout}:${image.tag}`, `docker://${hostPort}/${repo}:${image.tag}`);
    const result = await runCommand('skopeo', args, { env: await this.env(), timeoutMs: COPY_TIMEOUT_MS });
    return result.seconds;
  }

  /** Pulls into a `dir:` folder (blobs written as received) and checks the manifest is the one pushed. */
  async pull(image: RandomImage, hostPort: string, repo: string, dest: string): Promise<number> {
    const args = ['--insecure-policy', 'copy', '-q', '--src-tls-verify=false', '--src-no-creds'];
    args.push(`docker://${hostPort}/${repo}:${image.tag}`, `dir:${dest}`);
    const result = await runCommand('skopeo', args, { env: await this.env(), timeoutMs: COPY_TIMEOUT_MS });
    const manifest = await readFile(join(dest, 'manifest.json'));
    const digest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
    if (digest !== image.manifestDigest) {
      throw new Error(`pulled ${repo} has manifest ${digest}, expected ${image.manifestDigest}`);
    }
    return result.seconds;
  }

  private archiveArgs(archive: string, dest: string, debug: boolean): string[] {
    const args = ['--insecure-policy', ...(debug ? ['--debug'] : []), 'copy', '-q'];
    args.push('--dest-tls-verify=false', '--dest-no-creds', '--digestfile', join(this.home, 'digest'));
    args.push(`docker-archive:${archive}`, `docker://${dest}`);
    return args;
  }

  /**
   * Copies a `docker save` archive into a registry as a user would: skopeo gzips every uncompressed layer
   * (its default for a `docker://` destination). Returns the wall time and the manifest digest it pushed.
   */
  async pushArchive(
    archive: string,
    dest: string,
    debug = false,
  ): Promise<{ seconds: number; digest: string; stderr: string }> {
    const result = await runCommand('skopeo', this.archiveArgs(archive, dest, debug), {
      env: await this.env(),
      timeoutMs: COPY_TIMEOUT_MS,
    });
    const digest = (await readFile(join(this.home, 'digest'), 'utf8')).trim();
    return { seconds: result.seconds, digest, stderr: result.stderr };
  }

  /** The same copy, started and left to the caller (who may kill it). */
  async startPushArchive(archive: string, dest: string): Promise<StartedCommand> {
    const env = await this.env();
    return startCommand('skopeo', this.archiveArgs(archive, dest, false), {
      env,
      timeoutMs: COPY_TIMEOUT_MS,
    });
  }

  /** The digest of the manifest a tag names, as skopeo computes it from the bytes it fetches. */
  async inspectDigest(ref: string): Promise<string> {
    const args = ['--insecure-policy', 'inspect', '--tls-verify=false', '--no-creds', `docker://${ref}`];
    const result = await runCommand('skopeo', args, { env: await this.env(), timeoutMs: 60_000 });
    return (JSON.parse(result.stdout) as { Digest: string }).Digest;
  }
}
