import { Router } from 'express';
import { mountRoute } from '../mount-route.js';

/** The calling credential as the gateway resolved it: what a client may show, while the server still decides. */
export function credentialRoutes(): Router {
  const router = Router();

  mountRoute(router, 'get', '/v1/credential', (_req, res, principal) => {
    res.json({
      tenant: principal.tenantId,
      role: principal.role,
      bootstrap: principal.system,
      collections: principal.collections,
      principals: principal.principals,
      key_id: principal.keyId,
      subject: principal.subject,
      expires_at: principal.expiresAt?.toISOString() ?? null,
    });
  });

  return router;
}
