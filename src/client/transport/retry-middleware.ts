import { setTimeout as sleep } from 'node:timers/promises';
import { NetworkError } from './http-transport.js';
import { header, isReplayable, type TransportMiddleware } from './transport.js';

export interface RetryOptions {
  /** Attempts in all, the first one included. */
  attempts?: number;
  /** First backoff in milliseconds; doubles each time, with jitter. */
  baseDelay?: number;
  onRetry?: (info: { url: URL; attempt: number; reason: string; delay: number }) => void;
}

const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/**
 * Retries what can safely be sent again (no body, or a body that can be reopened) after a connection reset
 * or a 5xx/429, with exponential backoff and the server's Retry-After when it gives one.
 */
export function retryMiddleware(options: RetryOptions = {}): TransportMiddleware {
  const attempts = options.attempts ?? 4;
  const base = options.baseDelay ?? 250;
  return (next) => async (request) => {
    const replayable = isReplayable(request.body);
    for (let attempt = 1; ; attempt++) {
      const last = attempt >= attempts || !replayable;
      let reason: string;
      let retryAfter: number | undefined;
      try {
        const response = await next(request);
        if (last || !RETRY_STATUS.has(response.status)) return response;
        reason = `status ${response.status}`;
        const after = Number(header(response, 'retry-after'));
        if (Number.isFinite(after) && after > 0) retryAfter = Math.min(after, 30) * 1000;
        await response.body.dump().catch(() => {});
      } catch (error) {
        if (last || !(error instanceof NetworkError) || !error.retryable) throw error;
        reason = error.message;
      }
      const delay = retryAfter ?? base * 2 ** (attempt - 1) * (0.75 + Math.random() / 2);
      options.onRetry?.({ url: request.url, attempt, reason, delay });
      await sleep(delay, undefined, request.signal ? { signal: request.signal } : undefined);
    }
  };
}
