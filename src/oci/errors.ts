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

/** Errors of Berth itself, outside the Distribution API: bad configuration, a CLI misuse. */
export class BerthError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BerthError';
    this.code = code;
  }
}
