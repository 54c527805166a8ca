import { BERTH_ERROR_CODES, type HttpBerthErrorCode } from '../oci/errors.js';

/**
 * The admin API's errors. Their codes are Berth's own (the Distribution API has no "conflict" or "invalid
 * input"), with their status in the one table of `oci/errors.ts`; the same rule holds: routes throw
 * `new AdminError(kind, message)` and only the admin error handler turns a kind into a status.
 */
export type AdminErrorKind = HttpBerthErrorCode;

export class AdminError extends Error {
  readonly status: number;

  constructor(
    readonly code: AdminErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'AdminError';
    this.status = BERTH_ERROR_CODES[code].httpStatus;
  }

  toJSON(): { errors: { code: string; message: string }[] } {
    return { errors: [{ code: this.code, message: this.message }] };
  }
}
