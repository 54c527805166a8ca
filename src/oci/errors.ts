/**
 * The one table of registry errors. Each kind names the OCI error code a client sees and the HTTP status
 * it travels with. Code in registry/ throws `new RegistryError(kind, detail)`; only the HTTP error handler
 * turns it into a response, so no route ever picks a status by hand.
 */
export const REGISTRY_ERRORS = {
  BLOB_UNKNOWN: { code: 'BLOB_UNKNOWN', status: 404, message: 'blob unknown to registry' },
  BLOB_UPLOAD_INVALID: { code: 'BLOB_UPLOAD_INVALID', status: 400, message: 'blob upload invalid' },
  BLOB_UPLOAD_UNKNOWN: {
    code: 'BLOB_UPLOAD_UNKNOWN',
    status: 404,
    message: 'blob upload unknown to registry',
  },
  // A chunk that does not start where the upload stands (out of order, repeated) or a range that does not match.
  RANGE_INVALID: { code: 'BLOB_UPLOAD_INVALID', status: 416, message: 'requested range not satisfiable' },
  // A blob read with a Range header outside the blob.
  BLOB_RANGE_INVALID: { code: 'BLOB_UNKNOWN', status: 416, message: 'requested range not satisfiable' },
  DIGEST_INVALID: {
    code: 'DIGEST_INVALID',
    status: 400,
    message: 'provided digest did not match uploaded content',
  },
  MANIFEST_BLOB_UNKNOWN: {
    code: 'MANIFEST_BLOB_UNKNOWN',
    status: 400,
    message: 'manifest references a manifest or blob unknown to registry',
  },
  MANIFEST_INVALID: { code: 'MANIFEST_INVALID', status: 400, message: 'manifest invalid' },
  MANIFEST_TOO_LARGE: { code: 'MANIFEST_INVALID', status: 413, message: 'manifest is larger than the limit' },
  MANIFEST_UNKNOWN: { code: 'MANIFEST_UNKNOWN', status: 404, message: 'manifest unknown to registry' },
  NAME_INVALID: { code: 'NAME_INVALID', status: 400, message: 'invalid repository name' },
  NAME_UNKNOWN: { code: 'NAME_UNKNOWN', status: 404, message: 'repository name not known to registry' },
  TAG_INVALID: { code: 'TAG_INVALID', status: 400, message: 'manifest tag did not match URI' },
  SIZE_INVALID: {
    code: 'SIZE_INVALID',
    status: 400,
    message: 'provided length did not match content length',
  },
  UNAUTHORIZED: { code: 'UNAUTHORIZED', status: 401, message: 'authentication required' },
  DENIED: { code: 'DENIED', status: 403, message: 'requested access to the resource is denied' },
  UNSUPPORTED: { code: 'UNSUPPORTED', status: 405, message: 'the operation is unsupported' },
  // The OCI table has no code for a malformed request (bad URL encoding, broken headers); UNSUPPORTED is the
  // spec's "invalid set of parameters", and the status tells clients what happened.
  REQUEST_INVALID: { code: 'UNSUPPORTED', status: 400, message: 'malformed request' },
  MEDIA_TYPE_UNSUPPORTED: { code: 'UNSUPPORTED', status: 415, message: 'unsupported media type' },
  REQUEST_TIMEOUT: { code: 'UNSUPPORTED', status: 408, message: 'request timed out' },
  HEADERS_TOO_LARGE: { code: 'UNSUPPORTED', status: 431, message: 'request header fields too large' },
  // CNCF Distribution's code for a bad `n` on tag and catalog listings.
  PAGINATION_NUMBER_INVALID: {
    code: 'PAGINATION_NUMBER_INVALID',
    status: 400,
    message: 'invalid number of results requested',
  },
  TOOMANYREQUESTS: { code: 'TOOMANYREQUESTS', status: 429, message: 'too many requests' },
  NOT_FOUND: { code: 'NOT_FOUND', status: 404, message: 'no such endpoint' },
  METHOD_UNKNOWN: { code: 'UNSUPPORTED', status: 405, message: 'method not allowed on this endpoint' },
  UNAVAILABLE: { code: 'UNAVAILABLE', status: 503, message: 'service unavailable' },
  // The disk under the blobs or the database has no room: the write is refused whole, deletes and reads go on.
  STORAGE_FULL: {
    code: 'STORAGE_FULL',
    status: 507,
    message: 'storage is full: no room for new content until space is freed',
  },
  UNKNOWN: { code: 'UNKNOWN', status: 500, message: 'unknown error' },
} as const satisfies Record<string, { code: string; status: number; message: string }>;

export type RegistryErrorKind = keyof typeof REGISTRY_ERRORS;

export class RegistryError extends Error {
  readonly kind: RegistryErrorKind;
  readonly code: string;
  readonly status: number;
  readonly detail: unknown;
  /** Extra response headers the error needs (the current `Range` on a 416 for an upload, for example). */
  readonly headers: Record<string, string>;
  /** A message that says more than the table's, for the client to show (which manifest, which tag). */
  private readonly specificMessage: string | undefined;

  constructor(
    kind: RegistryErrorKind,
    detail?: unknown,
    headers: Record<string, string> = {},
    message?: string,
  ) {
    const entry = REGISTRY_ERRORS[kind];
    super(message ?? (typeof detail === 'string' ? `${entry.message}: ${detail}` : entry.message));
    this.specificMessage = message;
    this.name = 'RegistryError';
    this.kind = kind;
    this.code = entry.code;
    this.status = entry.status;
    this.detail = detail;
    this.headers = headers;
  }

  /** The OCI error JSON body. */
  toJSON(): { errors: { code: string; message: string; detail?: unknown }[] } {
    const entry = REGISTRY_ERRORS[this.kind];
    const error: { code: string; message: string; detail?: unknown } = {
      code: this.code,
      message: this.specificMessage ?? entry.message,
    };
    if (this.detail !== undefined) error.detail = this.detail;
    return { errors: [error] };
  }
}

/**
 * The one table of Berth's own error codes, outside the Distribution API: configuration, the CLI, the importer,
 * the scanner, the admin API. `new BerthError(code, message)` takes only a code listed here, so a misspelt one
 * fails the typecheck; tests check codes, never message text. `httpStatus` is the status the admin API answers
 * with for the code (only the codes it sends have one); the CLI exits 1 on any of them.
 */
export const BERTH_ERROR_CODES = {
  // Usage and configuration
  USAGE: { description: 'a command was called with a wrong flag, argument or combination' },
  CONFIG_INVALID: { description: 'the configuration file or a BERTH_* variable is invalid or unreadable' },
  TLS_CONFIG_INVALID: { description: 'a TLS certificate or key cannot be read, parsed or used' },
  DATA_MISSING: { description: 'no blob storage where the data folder or config says' },
  METADATA_MISSING: { description: 'no Berth database where the data folder or config says' },
  PASSWORD_INVALID: { description: 'a password is too short or too long' },
  USER_NOT_FOUND: { description: 'no user of that name in the database' },
  POLICY_INVALID: { description: 'an admission policy file is unreadable or invalid' },
  POLICY_REFUSED: { description: 'the admission policy refused the image, so nothing was pushed' },
  INTERRUPTED: { description: 'the work was interrupted (a signal); running it again resumes' },
  // Image locations, references and formats
  LOCATION_INVALID: { description: 'an image location (docker://, oci:, docker-archive: …) is malformed' },
  REFERENCE_INVALID: { description: 'an image reference (host/repository:tag@digest) is malformed' },
  REGISTRY_HOST_INVALID: { description: 'an address does not name a registry host' },
  PLATFORM_INVALID: { description: 'a platform is not OS/ARCH[/VARIANT]' },
  PLATFORM_NOT_FOUND: { description: 'the image has no manifest for the platform asked for' },
  FORMAT_UNSUPPORTED: { description: 'a manifest cannot be converted to the format asked for' },
  UNSUPPORTED_SOURCE: { description: 'images cannot be read from this kind of location' },
  UNSUPPORTED_DESTINATION: { description: 'images cannot be written to this kind of location' },
  UNSUPPORTED_IMAGE: { description: 'the image has a shape the importer does not handle (a nested index)' },
  UNSUPPORTED: { description: 'the registry cannot do what was asked' },
  // Image sources and destinations
  IMAGE_NOT_FOUND: { description: 'no image of that name or tag at the source' },
  IMAGE_AMBIGUOUS: { description: 'the source holds several images and none was named' },
  MANIFEST_NOT_FOUND: { description: 'a manifest the image names is not at the source' },
  MANIFEST_INVALID: { description: 'a manifest is not valid JSON or not a valid manifest' },
  BLOB_NOT_FOUND: { description: 'a blob the manifest names is not at the source' },
  BLOB_CORRUPT: { description: 'a blob does not have the digest or size its descriptor says' },
  BLOB_RANGE_INVALID: { description: 'a read asked for bytes outside a blob' },
  LAYOUT_NOT_FOUND: { description: 'no OCI image layout folder there' },
  LAYOUT_INVALID: { description: 'the OCI image layout is malformed' },
  LAYOUT_BUSY: { description: "another process holds the layout's index.json lock" },
  ARCHIVE_NOT_FOUND: { description: 'no archive file there' },
  ARCHIVE_UNREADABLE: { description: 'the archive file cannot be opened' },
  ARCHIVE_NOT_TAR: { description: 'the file is not a tar archive' },
  ARCHIVE_TRUNCATED: { description: 'the tar archive ends in the middle of an entry' },
  ARCHIVE_INVALID: { description: 'the tar archive or the image in it is malformed' },
  ARCHIVE_ENTRY_MISSING: { description: "a file the archive's manifest names is not in the archive" },
  ARCHIVE_LINK_LOOP: { description: 'links in the archive point at each other in a loop' },
  DOCKER_HOST_INVALID: { description: 'DOCKER_HOST names no supported socket or address' },
  DOCKER_UNREACHABLE: { description: 'the container engine cannot be reached' },
  DOCKER_ERROR: { description: 'the container engine answered with an error' },
  IMPORT_FAILED: { description: 'some images of an import failed' },
  // Registries and credentials
  NETWORK_ERROR: { description: 'the registry host cannot be reached, or the connection failed' },
  REGISTRY_ERROR: { description: 'the registry answered with an error or an answer that makes no sense' },
  AUTH_FAILED: { description: "the registry's authentication challenge cannot be answered" },
  LOGIN_FAILED: { description: 'the registry answered a login with an error' },
  INSECURE_SERVER: { description: 'a password would travel over plain HTTP to a host that is not loopback' },
  NO_ADMIN_API: { description: 'the server has no Berth admin API' },
  CREDENTIALS_INVALID: { description: 'credentials cannot be stored as given' },
  CREDENTIALS_CONFIG_INVALID: { description: 'a credentials file (config.json, auth.json) is malformed' },
  CREDENTIALS_FILE_UNREADABLE: { description: 'a credentials file cannot be read' },
  CREDENTIALS_WRITE_FAILED: { description: 'a credentials file cannot be written' },
  CREDENTIAL_HELPER_NOT_FOUND: { description: 'the configured credential helper is not installed' },
  CREDENTIAL_HELPER_FAILED: { description: 'the credential helper failed' },
  // Scanning and the advisory database
  SCANNER_NOT_FOUND: { description: 'the external scanner (trivy) is not installed' },
  SCANNER_FAILED: { description: 'the external scanner failed' },
  SCANNER_REPORT_INVALID: { description: "the external scanner's report is not one Berth reads" },
  ADVISORY_DB_MISSING: { description: 'no advisory database: run berth db update' },
  ADVISORY_DB_INVALID: { description: 'the advisory database cannot be used' },
  ADVISORY_SOURCE_MISSING: { description: 'the advisory file or folder to import does not exist' },
  ADVISORY_SOURCE_INVALID: { description: 'the advisory source to import is not a file or a folder' },
  ADVISORY_ARCHIVE_INVALID: { description: 'an advisory archive is not a readable zip of OSV records' },
  ADVISORY_ECOSYSTEM_UNKNOWN: { description: 'an ecosystem Berth does not match' },
  ADVISORY_DOWNLOAD_FAILED: { description: 'downloading advisories failed' },
  ADVISORY_DOWNLOAD_NOT_FOUND: { description: 'the advisory mirror has no archive for the ecosystem' },
  ADVISORY_DOWNLOAD_CORRUPT: { description: 'a downloaded advisory archive does not match its checksum' },
  ADVISORY_UPDATE_BUSY: { description: 'another process is updating the advisory database' },
  // Signing and verification (cosign's formats)
  KEY_INVALID: { description: 'a key file is not a cosign/sigstore key Berth reads (ECDSA P-256)' },
  KEY_PASSWORD_WRONG: { description: 'the private key cannot be decrypted with the passphrase given' },
  KEY_EXISTS: { description: 'a key file to write already exists' },
  SIGNATURE_INVALID: { description: 'a signature manifest or payload is malformed' },
  // The admin API's answers (and the CLI's errors for them)
  INVALID: { description: 'the request is malformed or names something invalid', httpStatus: 400 },
  UNAUTHORIZED: { description: 'no valid credentials were given, or they were refused', httpStatus: 401 },
  DENIED: { description: 'the caller may not do this', httpStatus: 403 },
  NOT_FOUND: { description: 'no such user, robot, project, role or member', httpStatus: 404 },
  CONFLICT: { description: 'it already exists, or is in use', httpStatus: 409 },
  TOOMANYREQUESTS: { description: 'too many attempts: wait and try again', httpStatus: 429 },
  UNKNOWN: { description: 'an unexpected error', httpStatus: 500 },
  UNAVAILABLE: { description: 'the service cannot answer now', httpStatus: 503 },
} as const satisfies Record<string, { description: string; httpStatus?: number }>;

export type BerthErrorCode = keyof typeof BERTH_ERROR_CODES;

/** The codes the admin API answers with: those with an HTTP status. */
export type HttpBerthErrorCode = {
  [K in BerthErrorCode]: (typeof BERTH_ERROR_CODES)[K] extends { httpStatus: number } ? K : never;
}[BerthErrorCode];

/** A code received as text (from a server's answer, say): itself when the table has it, else undefined. */
export function berthErrorCodeOf(text: string | undefined): BerthErrorCode | undefined {
  return text !== undefined && Object.hasOwn(BERTH_ERROR_CODES, text) ? (text as BerthErrorCode) : undefined;
}

/** Errors of Berth itself, outside the Distribution API: bad configuration, a CLI misuse. */
export class BerthError extends Error {
  readonly code: BerthErrorCode;
  constructor(code: BerthErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BerthError';
    this.code = code;
  }
}
