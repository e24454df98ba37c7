import { hashApiKey, looksLikeApiKey } from '@rag/auth/api-key';
import type { Authenticator } from '@rag/auth/authenticate';
import type { Principal } from '@rag/auth/principal';
import { AppError } from '@rag/contracts/app-error';
import type { Request, RequestHandler } from 'express';
import type { RequestCache } from './request-cache.js';

declare global {
  namespace Express {
    interface Request {
      principal?: Principal;
    }
  }
}

/** Resolves the caller's credential on every /v1 route; health and metrics stay open. */
export function authenticateRequests(authenticate: Authenticator): RequestHandler {
  return async (req, res, next) => {
    try {
      req.principal = await authenticate(req.get('authorization'));
      next();
    } catch (error) {
      res.setHeader('www-authenticate', 'Bearer');
      next(error);
    }
  };
}

export function principalOf(req: Request): Principal {
  if (!req.principal) throw new AppError('unauthenticated', 'Missing credential');
  return req.principal;
}

/**
 * Before authentication, the id of the API key a request presents, if the request cache holds it: what the
 * per-credential limit will count the request under once authentication confirms it (rate-limits.ts).
 */
export function apiKeyCredentialHint(
  cache: RequestCache,
  pepper: string,
): (req: Request) => string | undefined {
  return (req) => {
    const token = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '')?.[1];
    if (token === undefined || !looksLikeApiKey(token)) return undefined;
    return cache.peekKeyId(hashApiKey(token, pepper));
  };
}
