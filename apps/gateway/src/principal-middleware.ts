import type { Authenticator } from '@rag/auth/authenticate';
import type { Principal } from '@rag/auth/principal';
import { AppError } from '@rag/contracts/app-error';
import type { Request, RequestHandler } from 'express';

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
