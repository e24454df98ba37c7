import { AppError } from '@rag/contracts/app-error';
import type { RedisConnection } from '@rag/redis/redis-connection';
import type { Request, RequestHandler, Response } from 'express';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { clientAddress, type TrustedProxies } from './client-address.js';
import { principalOf } from './principal-middleware.js';

export interface RateLimitOptions {
  redis: RedisConnection;
  keyPrefix: string;
  /** Requests per minute per client address, checked before authentication (slows key guessing). */
  perAddressPerMinute: number;
  /** Requests per minute per credential. */
  perCredentialPerMinute: number;
  /** Proxies whose X-Forwarded-For names the client; without them the socket peer is the client. */
  trustedProxies?: TrustedProxies;
}

/**
 * Fixed-window limits shared by every gateway replica through Redis. While Redis is unreachable, each
 * replica falls back to an in-memory limiter of the same size instead of failing or letting all through.
 */
export interface RateLimits {
  byAddress: RequestHandler;
  byCredential: RequestHandler;
}

export function createRateLimits(options: RateLimitOptions): RateLimits {
  const limiter = (name: string, points: number) =>
    new RateLimiterRedis({
      storeClient: options.redis,
      keyPrefix: `${options.keyPrefix}:ratelimit:${name}`,
      points,
      duration: 60,
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory({ points, duration: 60 }),
    });
  const perAddress = limiter('address', options.perAddressPerMinute);
  const perCredential = limiter('credential', options.perCredentialPerMinute);

  const consume =
    (which: RateLimiterRedis, points: number, key: (req: Request) => string): RequestHandler =>
    async (req, res, next) => {
      try {
        setHeaders(res, points, await which.consume(key(req)));
        next();
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) {
          setHeaders(res, points, rejection);
          res.setHeader('retry-after', String(Math.max(1, Math.ceil(rejection.msBeforeNext / 1000))));
          next(
            new AppError('rate_limited', `Rate limit of ${points} requests per minute exceeded; retry later`),
          );
          return;
        }
        next(rejection);
      }
    };

  return {
    byAddress: consume(perAddress, options.perAddressPerMinute, (req) =>
      clientAddress(req, options.trustedProxies ?? noProxies),
    ),
    byCredential: consume(perCredential, options.perCredentialPerMinute, (req) => {
      const principal = principalOf(req);
      return principal.keyId ?? principal.subject ?? principal.tenantId;
    }),
  };
}

const noProxies: TrustedProxies = { contains: () => false };

/** The IETF RateLimit header fields, so clients can pace themselves before they hit a 429. */
function setHeaders(res: Response, limit: number, state: RateLimiterRes): void {
  res.setHeader('ratelimit-limit', String(limit));
  res.setHeader('ratelimit-remaining', String(Math.max(0, state.remainingPoints)));
  res.setHeader('ratelimit-reset', String(Math.ceil(state.msBeforeNext / 1000)));
}
