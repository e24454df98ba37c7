import { createHash, timingSafeEqual } from 'node:crypto';
import { AppError } from '@rag/contracts/app-error';
import type { RequestHandler } from 'express';

/** The header that carries the shared service token on calls between our services. */
export const serviceTokenHeader = 'x-service-token';

/**
 * Guards an internal service's API: only callers holding the shared service token (our other services)
 * get through, so reaching an internal port does not bypass the gateway's authentication. Probes and
 * metrics are mounted outside this guard.
 */
export function requireServiceToken(token: string): RequestHandler {
  const expected = digest(token);
  return (req, _res, next) => {
    const presented = req.get(serviceTokenHeader);
    if (!presented || !timingSafeEqual(digest(presented), expected)) {
      next(new AppError('unauthenticated', `Internal API: missing or wrong ${serviceTokenHeader} header`));
      return;
    }
    next();
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
