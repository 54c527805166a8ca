import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

const require = createRequire(import.meta.url);
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
export const cdxSchemaDir = `${require.resolve('@cyclonedx/cyclonedx-library/package.json').replace(/package\.json$/, '')}res/schema/`;
export const readJson = (path: string): Record<string, unknown> => JSON.parse(readFileSync(path, 'utf8'));

/** CycloneDX 1.5 with the SPDX id list and JSF schemas it refers to, under the names it refers to them by. */
export function cycloneDxValidator(): ValidateFunction {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  for (const name of ['spdx', 'jsf-0.82']) {
    const schema = readJson(`${cdxSchemaDir}${name}.SNAPSHOT.schema.json`);
    ajv.addSchema({ ...schema, $id: `http://cyclonedx.org/schema/${name}.SNAPSHOT.schema.json` });
  }
  return ajv.compile(readJson(`${cdxSchemaDir}bom-1.5.SNAPSHOT.schema.json`));
}

/**
 * The published SPDX 2.3 JSON schema (spdx-spec, tag v2.3, schemas/spdx-schema.json). No npm or Debian
 * package ships it and the project does not vendor other projects' files, so the check runs where
 * BERTH_TEST_SPDX_SCHEMA names a copy (and fails when it names a missing file); elsewhere it is skipped and
 * the field checks below still run.
 */
export function spdxValidator(): ValidateFunction | string {
  const path = process.env.BERTH_TEST_SPDX_SCHEMA;
  if (!path)
    return 'optional: BERTH_TEST_SPDX_SCHEMA is not set (the SPDX 2.3 JSON schema is not on this machine)';
  if (!existsSync(path)) throw new Error(`BERTH_TEST_SPDX_SCHEMA=${path}: no such file`);
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  return ajv.compile(readJson(path));
}

export function errorsOf(validate: ValidateFunction): string {
  return JSON.stringify(validate.errors?.slice(0, 10), null, 2);
}
