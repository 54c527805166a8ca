import type { Command } from 'commander';
import {
  DEFAULT_ECOSYSTEMS,
  importAdvisorySources,
  OSV_EXPORT_URL,
  readAdvisoryDbStatus,
  updateAdvisories,
} from '../client/advisory-db-maintenance.js';
import type { AdvisoryDownloadEvent, EcosystemUpdate } from '../client/advisory-download.js';
import { formatBytes } from '../oci/byte-size.js';
import { BerthError } from '../oci/errors.js';
import type { AdvisoryImportResult } from '../scan/osv/advisory-import.js';
import { CommandFailure, INTERRUPTED, onAction } from './exit-status.js';
import { formatTable } from './output/table.js';

interface DbFlags {
  db?: string;
  data?: string;
  config?: string;
  json?: boolean;
}

interface UpdateFlags extends DbFlags {
  ecosystem?: string;
  mirror: string;
  quiet?: boolean;
}

// Progress lines are redrawn at most once per this many bytes: a large archive arrives in many small chunks.
const PROGRESS_STEP = 1024 * 1024;

// Past this many, skipped records are counted rather than listed: an export can hold thousands of odd ones.
const ISSUES_SHOWN = 20;

function addDbOptions(command: Command): Command {
  return command
    .option(
      '--db <file>',
      'the advisory database (default BERTH_ADVISORY_DB, else <data>/advisories/osv.sqlite with <data> the server data folder given by --data, --config or BERTH_DATA, else $XDG_DATA_HOME/berth or ~/.local/share/berth)',
    )
    .option('-d, --data <dir>', "a server's data folder, to fill that server's database (or BERTH_DATA)")
    .option('-c, --config <file>', "a server's YAML configuration file naming its data folder")
    .option('--json', 'print the result as JSON');
}

function summaryLine(r: AdvisoryImportResult): string {
  return `${r.source}: ${r.imported} imported, ${r.updated} updated, ${r.unchanged} unchanged, ${r.skipped} skipped, ${r.withdrawn} withdrawn\n`;
}

export function registerDbCommands(program: Command): void {
  const db = program
    .command('db')
    .description(
      'the offline vulnerability advisory database (OSV records) that `berth scan` matches against',
    );

  onAction(
    addDbOptions(
      db
        .command('import')
        .description(
          'load OSV advisories from zip files (as osv.dev exports them), folders of *.json or JSON files',
        )
        .argument('<path...>', 'a zip, a folder (searched recursively) or a JSON file (a record or an array)')
        .addHelpText(
          'after',
          `
Each PATH is imported in one transaction: stopped halfway, the database keeps what it had. A record replaces
the stored one with the same id only when its "modified" time is newer (or equal). Malformed records are
skipped and listed; the rest is imported.

\`berth db update\` downloads and imports the same archives in one step.

Examples:
  $ curl -fsSLO ${OSV_EXPORT_URL}Debian/all.zip
  $ berth db import all.zip
  $ berth db import ./advisories/ npm-all.zip --db /var/lib/berth/osv.sqlite
  $ BERTH_DATA=/var/lib/berth berth db import GHSA-xxxx-xxxx-xxxx.json --json`,
        ),
    ),
    async (paths: string[], flags: DbFlags) => {
      const { advisoryDbPath } = await import('../main/advisory-db-path.js');
      const file = advisoryDbPath(flags);
      const progress = !flags.json && process.stderr.isTTY;
      const results = await importAdvisorySources(file, paths, {
        onRecord: progress
          ? (path, n) => {
              if (n % 1000 === 0) process.stderr.write(`\rimporting ${path}: ${n} records`);
            }
          : undefined,
        onImported: (result) => {
          if (progress) process.stderr.write('\r\u001b[K');
          if (flags.json) return;
          process.stdout.write(summaryLine(result));
          for (const issue of result.issues.slice(0, ISSUES_SHOWN))
            process.stderr.write(`skipped ${issue.message}\n`);
          if (result.issues.length > ISSUES_SHOWN)
            process.stderr.write(`… and ${result.issues.length - ISSUES_SHOWN} more skipped records\n`);
        },
      });
      if (flags.json) process.stdout.write(`${JSON.stringify({ db: file, sources: results }, null, 2)}\n`);
      else process.stdout.write(`advisory database: ${file}\n`);
      return 0;
    },
  );

  onAction(
    addDbOptions(
      db
        .command('update')
        .description(
          "download OSV's per-ecosystem advisory archives (<mirror>/<Ecosystem>/all.zip) and import them",
        )
        .option(
          '--ecosystem <list>',
          `comma-separated OSV ecosystems (default ${DEFAULT_ECOSYSTEMS.join(',')})`,
        )
        .option(
          '--mirror <url>',
          "where the archives are, in the layout of OSV's export bucket",
          OSV_EXPORT_URL,
        )
        .option('-q, --quiet', 'no progress, only the summary')
        .addHelpText(
          'after',
          `
Each archive is downloaded next to the database (<db>.downloads/), checked against the MD5 the bucket
publishes, and imported in one transaction: the database changes only once a whole archive is verified
and imported. An interrupted download is resumed by the next run with a Range request; an archive
unchanged since it was last imported (same ETag) is not downloaded again.

Examples:
  $ berth db update
  $ berth db update --ecosystem Debian,npm
  $ berth db update --mirror https://osv-mirror.example.com/ --json`,
        ),
    ),
    async (flags: UpdateFlags) => {
      // Loaded when the command runs: the configuration's schema and the download would slow every start.
      const [{ parseEcosystemList, parseMirrorUrl }, { advisoryDbPath }] = await Promise.all([
        import('../client/advisory-download.js'),
        import('../main/advisory-db-path.js'),
      ]);
      const ecosystems = flags.ecosystem ? parseEcosystemList(flags.ecosystem) : [...DEFAULT_ECOSYSTEMS];
      const mirror = parseMirrorUrl(flags.mirror);
      const file = advisoryDbPath(flags);
      const controller = new AbortController();
      const interrupt = (): void => controller.abort();
      process.once('SIGINT', interrupt);
      const progress = !flags.json && !flags.quiet && process.stderr.isTTY;
      let shown = -PROGRESS_STEP;
      let current = '';
      const onProgress = (event: AdvisoryDownloadEvent): void => {
        if (event.ecosystem !== current) {
          current = event.ecosystem;
          shown = -PROGRESS_STEP;
        }
        if (event.phase === 'download') {
          if (event.received - shown < PROGRESS_STEP && event.received !== event.total) return;
          shown = event.received;
          const of = event.total !== undefined ? ` of ${formatBytes(event.total)}` : '';
          const resumed = event.resumedAt > 0 ? ` (resumed at ${formatBytes(event.resumedAt)})` : '';
          process.stderr.write(
            `\r\u001b[K${event.ecosystem}: downloading ${formatBytes(event.received)}${of}${resumed}`,
          );
        } else if (event.phase === 'verify') {
          shown = -PROGRESS_STEP;
          process.stderr.write(`\r\u001b[K${event.ecosystem}: checking MD5`);
        } else if (event.records % 1000 === 0) {
          process.stderr.write(`\r\u001b[K${event.ecosystem}: importing ${event.records} records`);
        }
      };
      const onImported = (update: EcosystemUpdate): void => {
        if (progress) process.stderr.write('\r\u001b[K');
        if (flags.json) return;
        if (update.notModified) {
          process.stdout.write(`${update.ecosystem}: unchanged since the last update, not downloaded\n`);
          return;
        }
        const resumed = update.resumedAt > 0 ? `, resumed at ${formatBytes(update.resumedAt)}` : '';
        const checked = update.md5Verified ? ', MD5 checked' : '';
        process.stdout.write(
          `${update.ecosystem}: ${formatBytes(update.bytes)} downloaded${resumed}${checked}; ${update.imported} imported, ${update.updated} updated, ${update.unchanged} unchanged, ${update.skipped} skipped, ${update.withdrawn} withdrawn\n`,
        );
        for (const issue of update.issues.slice(0, ISSUES_SHOWN))
          process.stderr.write(`skipped ${issue.message}\n`);
        if (update.issues.length > ISSUES_SHOWN)
          process.stderr.write(`… and ${update.issues.length - ISSUES_SHOWN} more skipped records\n`);
      };
      let updates: EcosystemUpdate[];
      try {
        updates = await updateAdvisories({
          dbPath: file,
          ecosystems,
          mirror,
          signal: controller.signal,
          onImported,
          ...(progress ? { onProgress } : {}),
        });
      } catch (error) {
        if (progress) process.stderr.write('\r\u001b[K');
        if (controller.signal.aborted) {
          throw new CommandFailure(
            INTERRUPTED,
            new BerthError(
              'INTERRUPTED',
              'interrupted: the database is unchanged for the archive in progress; run berth db update again to resume its download',
            ),
          );
        }
        throw error;
      } finally {
        process.off('SIGINT', interrupt);
      }
      if (flags.json) process.stdout.write(`${JSON.stringify({ db: file, ecosystems: updates }, null, 2)}\n`);
      else process.stdout.write(`advisory database: ${file}\n`);
      return 0;
    },
  );

  onAction(
    addDbOptions(
      db
        .command('status')
        .description('show the advisory database: ecosystems, record counts, newest modification time')
        .addHelpText(
          'after',
          `
Examples:
  $ berth db status
  $ berth db status --db /var/lib/berth/osv.sqlite --json`,
        ),
    ),
    async (flags: DbFlags) => {
      const { advisoryDbPath } = await import('../main/advisory-db-path.js');
      const file = advisoryDbPath(flags);
      const status = await readAdvisoryDbStatus(file);
      if (!status) {
        if (flags.json)
          process.stdout.write(
            `${JSON.stringify({ path: file, exists: false, records: 0, withdrawn: 0, ecosystems: [] }, null, 2)}\n`,
          );
        else
          process.stdout.write(
            `no advisory database at ${file} (download OSV's advisories with: berth db update)\n`,
          );
        return 0;
      }
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ ...status, exists: true }, null, 2)}\n`);
        return 0;
      }
      let text = `advisory database: ${status.path}\n`;
      text += `records: ${status.records} (${status.withdrawn} withdrawn)`;
      if (status.newestModified) text += `, newest modified ${status.newestModified}`;
      if (status.lastImport) text += `, last import ${status.lastImport}`;
      text += '\n';
      if (status.ecosystems.length > 0) {
        text += formatTable(
          ['ECOSYSTEM', 'RECORDS', 'WITHDRAWN', 'NEWEST MODIFIED'],
          status.ecosystems.map((e) => [
            e.ecosystem || '(none)',
            String(e.records),
            String(e.withdrawn),
            e.newestModified,
          ]),
        );
      }
      process.stdout.write(text);
      return 0;
    },
  );
}
