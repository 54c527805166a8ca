import { z } from 'zod';

/**
 * An OSV vulnerability record, schema 1.x as osv.dev publishes it (https://ossf.github.io/osv-schema/).
 * Fields we do not read are kept (loose objects) so a stored record is the record as received.
 */

// RFC 3339 in UTC as the spec asks; sub-second digits of any length (osv.dev writes microseconds).
const timestamp = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/, 'not an RFC 3339 timestamp')
  .refine((value) => !Number.isNaN(Date.parse(value)), 'not a real date');

const freeObject = z.record(z.string(), z.unknown());

export const osvSeveritySchema = z.looseObject({ type: z.string().min(1), score: z.string() });

/** Exactly one of `introduced`, `fixed`, `last_affected`, `limit`, as the spec requires. */
export const osvEventSchema = z
  .looseObject({
    introduced: z.string().min(1).optional(),
    fixed: z.string().min(1).optional(),
    last_affected: z.string().min(1).optional(),
    limit: z.string().min(1).optional(),
  })
  .refine(
    (event) =>
      [event.introduced, event.fixed, event.last_affected, event.limit].filter((v) => v !== undefined)
        .length === 1,
    'an event holds exactly one of introduced, fixed, last_affected, limit',
  );

export const osvRangeSchema = z.looseObject({
  type: z.enum(['ECOSYSTEM', 'SEMVER', 'GIT']),
  repo: z.string().optional(),
  events: z.array(osvEventSchema).min(1),
  database_specific: freeObject.optional(),
});

export const osvAffectedSchema = z.looseObject({
  package: z
    .looseObject({ ecosystem: z.string().min(1), name: z.string().min(1), purl: z.string().optional() })
    .optional(),
  severity: z.array(osvSeveritySchema).optional(),
  ranges: z.array(osvRangeSchema).optional(),
  versions: z.array(z.string()).optional(),
  ecosystem_specific: freeObject.optional(),
  database_specific: freeObject.optional(),
});

export const osvReferenceSchema = z.looseObject({ type: z.string(), url: z.string() });

export const osvRecordSchema = z.looseObject({
  schema_version: z.string().optional(),
  id: z.string().min(1).max(200),
  modified: timestamp,
  published: timestamp.optional(),
  withdrawn: timestamp.optional(),
  aliases: z.array(z.string()).optional(),
  upstream: z.array(z.string()).optional(),
  related: z.array(z.string()).optional(),
  summary: z.string().optional(),
  details: z.string().optional(),
  severity: z.array(osvSeveritySchema).optional(),
  affected: z.array(osvAffectedSchema).optional(),
  references: z.array(osvReferenceSchema).optional(),
  credits: z.array(z.unknown()).optional(),
  database_specific: freeObject.optional(),
});

export type OsvRecord = z.infer<typeof osvRecordSchema>;
export type OsvAffected = z.infer<typeof osvAffectedSchema>;
export type OsvRange = z.infer<typeof osvRangeSchema>;
export type OsvEvent = z.infer<typeof osvEventSchema>;
export type OsvSeverity = z.infer<typeof osvSeveritySchema>;

/** A record checked against the schema, or the first problem in one line (`affected.0.ranges.0.type: …`). */
export function parseOsvRecord(value: unknown): { record: OsvRecord } | { error: string } {
  const parsed = osvRecordSchema.safeParse(value);
  if (parsed.success) return { record: parsed.data };
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
  return { error: `${where}${issue?.message ?? 'invalid'}`.replace(/\s+/g, ' ') };
}
