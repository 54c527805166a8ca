import { z } from 'zod';
import { type Digest, parseDigest } from './digest.js';
import { RegistryError } from './errors.js';
import { findDuplicateKey } from './manifest-duplicate-keys.js';
import {
  bareMediaType,
  isImageManifestMediaType,
  isIndexMediaType,
  isNondistributable,
  MANIFEST_MEDIA_TYPES,
  MediaType,
} from './media-types.js';

const mediaTypeString = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/);
const digestString = z.string().transform((value, ctx) => {
  try {
    return parseDigest(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: `invalid digest ${value}` });
    return z.NEVER;
  }
});
const annotations = z.record(z.string(), z.string());

export const descriptorSchema = z.object({
  mediaType: mediaTypeString,
  digest: digestString,
  size: z.number().int().nonnegative(),
  urls: z.array(z.string()).optional(),
  annotations: annotations.optional(),
  data: z.string().optional(),
  artifactType: mediaTypeString.optional(),
  platform: z
    .object({
      architecture: z.string(),
      os: z.string(),
      'os.version': z.string().optional(),
      'os.features': z.array(z.string()).optional(),
      variant: z.string().optional(),
      features: z.array(z.string()).optional(),
    })
    .optional(),
});
export type Descriptor = z.infer<typeof descriptorSchema>;

export const imageManifestSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: mediaTypeString.optional(),
  config: descriptorSchema,
  layers: z.array(descriptorSchema),
  subject: descriptorSchema.optional(),
  annotations: annotations.optional(),
});
export type ImageManifest = z.infer<typeof imageManifestSchema>;

export const imageIndexSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: mediaTypeString.optional(),
  manifests: z.array(descriptorSchema),
  subject: descriptorSchema.optional(),
  annotations: annotations.optional(),
});
export type ImageIndex = z.infer<typeof imageIndexSchema>;

/** What the registry needs to know of a manifest to store it and check it. */
export interface ParsedManifest {
  mediaType: string;
  /** Blobs the manifest references (config and layers) that must be present in the repository. */
  blobs: Digest[];
  /** The descriptors of those blobs, whose sizes must match the stored ones. */
  blobDescriptors: Descriptor[];
  /** Child manifests (an index's entries) that must be present in the repository. */
  manifests: Digest[];
  subject?: Descriptor;
  artifactType?: string;
  /** The `artifactType` a referrers listing reports: the manifest's own, else its config media type. */
  referrerArtifactType?: string;
  annotations?: Record<string, string>;
  /** The config descriptor of an image manifest. */
  config?: Descriptor;
  layers?: Descriptor[];
  children?: Descriptor[];
}

// Invalid UTF-8 would be replaced here and refused or read otherwise elsewhere; a byte order mark is kept, so
// that JSON.parse refuses it as Go's parser does.
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function invalid(reason: string, extra: Record<string, unknown> = {}): RegistryError {
  return new RegistryError('MANIFEST_INVALID', { reason, ...extra });
}

function describeZodError(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'does not match the schema';
  const path = issue.path.length > 0 ? issue.path.join('.') : '(root)';
  return `${path}: ${issue.message}`;
}

/**
 * Parses manifest bytes as pushed. The media type comes from the manifest's `mediaType` field or, when the
 * field is absent (umoci and podman leave it out), from the Content-Type the client sent.
 */
export function parseManifest(bytes: Uint8Array, contentType: string | undefined): ParsedManifest {
  let text: string;
  try {
    text = STRICT_UTF8.decode(bytes);
  } catch {
    throw invalid('manifest is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw invalid('manifest is not valid JSON');
  }
  // Two parsers must not read two different manifests from the same bytes.
  const duplicate = findDuplicateKey(text);
  if (duplicate !== undefined) throw invalid('manifest has a duplicate key', { key: duplicate });
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw invalid('manifest is not a JSON object');
  const record = json as Record<string, unknown>;
  const declared = typeof record.mediaType === 'string' ? record.mediaType : undefined;
  const header = bareMediaType(contentType);
  let mediaType = declared;
  if (!mediaType) {
    if (header && MANIFEST_MEDIA_TYPES.includes(header)) mediaType = header;
    else if (Array.isArray(record.manifests)) mediaType = MediaType.ociIndex;
    else if (record.config !== undefined) mediaType = MediaType.ociManifest;
  }
  if (!mediaType)
    throw invalid('cannot tell the manifest media type: no mediaType field and no Content-Type');
  if (declared && header && MANIFEST_MEDIA_TYPES.includes(header) && header !== declared) {
    throw invalid('mediaType field does not match Content-Type', {
      mediaType: declared,
      contentType: header,
    });
  }
  if (mediaType === MediaType.dockerSchema1 || mediaType === MediaType.dockerSchema1Signed) {
    throw invalid('Docker schema 1 manifests are not supported', { mediaType });
  }
  if (isImageManifestMediaType(mediaType)) {
    const parsed = imageManifestSchema.safeParse(json);
    if (!parsed.success) throw invalid(describeZodError(parsed.error), { mediaType });
    const m = parsed.data;
    if (mediaType === MediaType.dockerManifest && (m.subject || m.artifactType)) {
      throw invalid('Docker manifests cannot carry subject or artifactType', { mediaType });
    }
    const required = [m.config, ...m.layers].filter(
      (d) => !(isNondistributable(d.mediaType) && d.urls?.length),
    );
    return {
      mediaType,
      blobs: unique(required.map((d) => d.digest)),
      blobDescriptors: required,
      manifests: [],
      ...(m.subject ? { subject: m.subject } : {}),
      ...(m.artifactType ? { artifactType: m.artifactType } : {}),
      referrerArtifactType: m.artifactType ?? m.config.mediaType,
      ...(m.annotations ? { annotations: m.annotations } : {}),
      config: m.config,
      layers: m.layers,
    };
  }
  if (isIndexMediaType(mediaType)) {
    const parsed = imageIndexSchema.safeParse(json);
    if (!parsed.success) throw invalid(describeZodError(parsed.error), { mediaType });
    const m = parsed.data;
    return {
      mediaType,
      blobs: [],
      blobDescriptors: [],
      manifests: unique(m.manifests.map((d) => d.digest)),
      ...(m.subject ? { subject: m.subject } : {}),
      ...(m.artifactType ? { artifactType: m.artifactType, referrerArtifactType: m.artifactType } : {}),
      ...(m.annotations ? { annotations: m.annotations } : {}),
      children: m.manifests,
    };
  }
  throw invalid('unsupported manifest media type', { mediaType });
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}
