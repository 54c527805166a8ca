/**
 * The admin API's error table. Its codes are not OCI codes (the Distribution API has no "conflict" or
 * "invalid input"), so they live here rather than in `oci/errors.ts`; the same rule holds: routes throw
 * `new AdminError(kind, message)` and only the admin error handler turns a kind into a status.
 */
export const ADMIN_ERRORS = {
  INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  TOOMANYREQUESTS: 429,
  UNKNOWN: 500,
  UNAVAILABLE: 503,
} as const satisfies Record<string, number>;

export type AdminErrorKind = keyof typeof ADMIN_ERRORS;

export class AdminError extends Error {
  readonly status: number;

  constructor(
    readonly code: AdminErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'AdminError';
    this.status = ADMIN_ERRORS[code];
  }

  toJSON(): { errors: { code: string; message: string }[] } {
    return { errors: [{ code: this.code, message: this.message }] };
  }
}
