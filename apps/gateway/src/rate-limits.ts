import { AppError } from '@rag/contracts/app-error';
import type { RedisConnection } from '@rag/redis/redis-connection';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
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
  /**
   * The id the per-credential limit will count a request under, when it can be told before authentication
   * (an API key the request cache holds). `startByCredential` then starts that count alongside the per-address
   * one, in the same Redis round trip, instead of one round trip later, after authentication.
   */
  credentialHint?: (req: Request) => string | undefined;
}

/**
 * Fixed-window limits shared by every gateway replica through Redis. While Redis is unreachable, each
 * replica falls back to an in-memory limiter of the same size instead of failing or letting all through.
 */
export interface RateLimits {
  byAddress: RequestHandler;
  /**
   * Mounted before `byAddress`: starts the per-credential count of the credential the hint names, without
   * waiting for it. `byCredential` uses that count when authentication names the same credential, and counts
   * anew otherwise (a hint is never trusted for who the caller is). A request refused by the per-address limit
   * or by authentication may so have counted one point against the hinted credential.
   */
  startByCredential: RequestHandler;
  byCredential: RequestHandler;
}

type Outcome = { ok: true; state: RateLimiterRes } | { ok: false; rejection: unknown };

const settle = (consumed: Promise<RateLimiterRes>): Promise<Outcome> =>
  consumed.then(
    (state) => ({ ok: true, state }),
    (rejection: unknown) => ({ ok: false, rejection }),
  );

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

  const answer = (res: Response, next: NextFunction, points: number, outcome: Outcome): void => {
    if (outcome.ok) {
      setHeaders(res, points, outcome.state);
      next();
      return;
    }
    const { rejection } = outcome;
    if (rejection instanceof RateLimiterRes) {
      setHeaders(res, points, rejection);
      res.setHeader('retry-after', String(Math.max(1, Math.ceil(rejection.msBeforeNext / 1000))));
      next(new AppError('rate_limited', `Rate limit of ${points} requests per minute exceeded; retry later`));
      return;
    }
    next(rejection);
  };

  /** Per-credential counts started before authentication, by request. */
  const started = new WeakMap<Request, { id: string; outcome: Promise<Outcome> }>();

  return {
    byAddress: async (req, res, next) => {
      const address = clientAddress(req, options.trustedProxies ?? noProxies);
      answer(res, next, options.perAddressPerMinute, await settle(perAddress.consume(address)));
    },
    startByCredential: (req, _res, next) => {
      const id = options.credentialHint?.(req);
      if (id !== undefined) started.set(req, { id, outcome: settle(perCredential.consume(id)) });
      next();
    },
    byCredential: async (req, res, next) => {
      const early = started.get(req);
      started.delete(req);
      let id: string;
      try {
        const principal = principalOf(req);
        id = principal.keyId ?? principal.subject ?? principal.tenantId;
      } catch (error) {
        next(error);
        return;
      }
      const outcome = early?.id === id ? early.outcome : settle(perCredential.consume(id));
      answer(res, next, options.perCredentialPerMinute, await outcome);
    },
  };
}

const noProxies: TrustedProxies = { contains: () => false };

/** The IETF RateLimit header fields, so clients can pace themselves before they hit a 429. */
function setHeaders(res: Response, limit: number, state: RateLimiterRes): void {
  res.setHeader('ratelimit-limit', String(limit));
  res.setHeader('ratelimit-remaining', String(Math.max(0, state.remainingPoints)));
  res.setHeader('ratelimit-reset', String(Math.ceil(state.msBeforeNext / 1000)));
}
