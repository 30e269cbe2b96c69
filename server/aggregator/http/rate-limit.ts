/**
 * The upload route's rate limit: uploads per client address per window, counted in this
 * process with the verifier's {@link MemoryRateLimiter} (one aggregator process per
 * deployment: nothing to share between instances). Answers 429 `ERR_RATE_LIMITED` with
 * `Retry-After`.
 *
 * Only uploads count: they are the one route whose refusal costs a signature check and a call
 * to the verifier; reads are cheap and cacheable.
 *
 * @module
 */
import type { MiddlewareHandler } from 'hono';
import {
  MemoryRateLimiter,
  clientAddress,
  type RateLimiter,
} from '../../src/http/middleware/rate-limit';
import { AggregatorError } from '../errors';

/** Settings of {@link uploadRateLimit}. */
export interface UploadRateLimitOptions {
  /** Uploads per address per window; 0 turns the limit off. */
  perWindow: number;
  /** Window length (ms), default one minute. */
  windowMs?: number;
  now: () => number;
  limiter?: RateLimiter;
}

/** The middleware (module description). */
export function uploadRateLimit(o: UploadRateLimitOptions): MiddlewareHandler {
  const limiter = o.limiter ?? new MemoryRateLimiter();
  const windowMs = o.windowMs ?? 60_000;
  return async (c, next) => {
    if (o.perWindow > 0) {
      // No proxy is trusted: behind one, every device would share the proxy's address, so
      // deploy the aggregator where it sees its clients (docs/federated.md "Aggregator").
      const address = clientAddress(c, false);
      const now = o.now();
      const r = await limiter.hit(`upload:${address}`, o.perWindow, windowMs, now);
      if (!r.allowed) {
        c.header('Retry-After', String(Math.max(1, Math.ceil((r.resetAt - now) / 1000))));
        throw new AggregatorError('ERR_RATE_LIMITED', { cause: 'upload limit' });
      }
    }
    await next();
  };
}
