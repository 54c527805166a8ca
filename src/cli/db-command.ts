import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { BerthError } from '../oci/errors.js';
import type { AdvisoryImportResult } from '../scan/osv/advisory-import.js';
import { formatTable } from './admin-client.js';
import { advisoryDbPath } from './gate-command.js';

interface DbFlags {
  db?: string;
  data?: string;
  config?: string;
  json?: boolean;
}

// Past this many, skipped records are counted rather than listed: an export can hold thousands of odd ones.
const ISSUES_SHOWN = 20;

function addDbOptions(command: Command): Command {
  return command
    .option(
      '--db <file>',
      'the advisory database (default <data>/advisories/osv.sqlite, or BERTH_ADVISORY_DB)',
    )
    .option('-d, --data <dir>', 'the Berth data folder (default ./berth-data, or BERTH_DATA)')
    .option('-c, --config <file>', 'YAML configuration file naming the data folder')
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

Examples:
  $ curl -fsSLO https://osv-vulnerabilities.storage.googleapis.com/Debian/all.zip
  $ berth db import all.zip
  $ berth db import ./advisories/ npm-all.zip --db /var/lib/berth/osv.sqlite
  $ BERTH_DATA=/var/lib/berth berth db import GHSA-xxxx-xxxx-xxxx.json --json`,
      ),
  ).action(async (paths: string[], flags: DbFlags) => {
    for (const path of paths) {
      // Every source is checked before any is imported, so a typo does not leave half the sources loaded.
      try {
        await stat(path);
      } catch {
        throw new BerthError('ADVISORY_SOURCE_MISSING', `${path}: no such file or folder`);
      }
    }
    const file = advisoryDbPath(flags);
    const [{ openAdvisoryDb }, { importAdvisories }] = await Promise.all([
      import('../scan/osv/advisory-db.js'),
      import('../scan/osv/advisory-import.js'),
    ]);
    const store = openAdvisoryDb(file);
    const results: AdvisoryImportResult[] = [];
    const progress = !flags.json && process.stderr.isTTY;
    try {
      for (const path of paths) {
        const result = await importAdvisories(store, path, {
          onRecord: progress
            ? (n) => {
                if (n % 1000 === 0) process.stderr.write(`\rimporting ${path}: ${n} records`);
              }
            : undefined,
        });
        if (progress) process.stderr.write('\r\u001b[K');
        results.push(result);
        if (!flags.json) {
          process.stdout.write(summaryLine(result));
          for (const issue of result.issues.slice(0, ISSUES_SHOWN))
            process.stderr.write(`skipped ${issue.message}\n`);
          if (result.issues.length > ISSUES_SHOWN)
            process.stderr.write(`… and ${result.issues.length - ISSUES_SHOWN} more skipped records\n`);
        }
      }
    } finally {
      store.close();
    }
    if (flags.json) process.stdout.write(`${JSON.stringify({ db: file, sources: results }, null, 2)}\n`);
    else process.stdout.write(`advisory database: ${file}\n`);
  });

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
  ).action(async (flags: DbFlags) => {
    const file = advisoryDbPath(flags);
    const { openAdvisoryDb } = await import('../scan/osv/advisory-db.js');
    const exists = await stat(file).then(
      () => true,
      () => false,
    );
    if (!exists) {
      if (flags.json)
        process.stdout.write(
          `${JSON.stringify({ path: file, exists: false, records: 0, withdrawn: 0, ecosystems: [] }, null, 2)}\n`,
        );
      else
        process.stdout.write(
          `no advisory database at ${file} (load advisories with: berth db import PATH)\n`,
        );
      return;
    }
    const store = openAdvisoryDb(file, { mustExist: true });
    let status: ReturnType<typeof store.status>;
    try {
      status = store.status();
    } finally {
      store.close();
    }
    if (flags.json) {
      process.stdout.write(`${JSON.stringify({ ...status, exists: true }, null, 2)}\n`);
      return;
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
  });
}
