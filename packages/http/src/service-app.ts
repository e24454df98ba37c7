import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { AppError, toAppError } from '@rag/contracts/app-error';
import type { Logger } from '@rag/telemetry/logger';
import type { ServiceMetrics } from '@rag/telemetry/metrics-registry';
import { isProbePath } from '@rag/telemetry/probe-paths';
import express, { type ErrorRequestHandler, type Express, type Request, type RequestHandler } from 'express';
import { dependencyFailure } from './dependency-failure.js';
import { problemContentType, problemFromError } from './problem.js';
import { type ReadinessCheck, runReadinessChecks } from './readiness.js';

export interface Lifecycle {
  /** Set when shutdown starts: readiness turns 503 at once so the load balancer stops sending traffic. */
  shuttingDown: boolean;
}

export interface ServiceAppOptions {
  logger: Logger;
  metrics: ServiceMetrics;
  readiness: ReadinessCheck[];
  /** Largest accepted JSON body, e.g. "1mb". */
  bodyLimit: string;
  readinessTimeoutMs?: number;
  /**
   * Refuse JSON bodies that are not valid UTF-8 (400) instead of decoding bad bytes to U+FFFD, for services that
   * must not act on silently altered text.
   */
  strictUtf8?: boolean;
  /** Extra fields for the /health/ready answer, e.g. where inference runs. */
  readinessDetails?: () => Record<string, unknown>;
  /** Mounts the service's own routes between the common middleware and the error handler. */
  routes: (app: Express) => void;
}

export interface ServiceApp {
  /** The public listener: the service's routes and liveness (`/health`). */
  app: Express;
  /**
   * The management listener: liveness, readiness (`/health/ready`, which names failing dependencies) and
   * Prometheus metrics, kept off the public port so that callers see neither internals nor dependency errors.
   */
  management: Express;
  lifecycle: Lifecycle;
}

declare global {
  // biome-ignore lint/suspicious/noRedeclare: augmenting Express's global namespace is how its types are extended
  namespace Express {
    interface Request {
      /** Set by the request-context middleware on every request. */
      id: string;
      log: Logger;
    }
  }
}

const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The HTTP shell shared by every service: request ids, access logs, Prometheus metrics, JSON bodies with a
 * size limit, a liveness probe, and one error handler answering RFC 9457 problem+json; readiness and metrics
 * on a separate management app.
 */
export function createServiceApp(options: ServiceAppOptions): ServiceApp {
  const { logger, metrics } = options;
  const lifecycle: Lifecycle = { shuttingDown: false };
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);

  app.use(requestContext(logger));
  app.use(requestMetrics(metrics));
  app.use(
    express.json({
      limit: options.bodyLimit,
      strict: false,
      type: ['application/json', 'application/*+json'],
      ...(options.strictUtf8 ? { verify: rejectInvalidUtf8 } : {}),
    }),
  );

  app.get('/health', liveness);

  options.routes(app);

  app.use(noRoute);
  app.use(problemHandler());
  return { app, management: createManagementApp(options, lifecycle), lifecycle };
}

const liveness: RequestHandler = (_req, res) => {
  res.json({ status: 'ok' });
};

const noRoute: RequestHandler = (req, _res, next) => {
  next(new AppError('not_found', `No route for ${req.method} ${req.path}`));
};

function createManagementApp(options: ServiceAppOptions, lifecycle: Lifecycle): Express {
  const { metrics } = options;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(requestContext(options.logger));
  app.get('/health', liveness);
  app.get('/health/ready', async (_req, res) => {
    if (lifecycle.shuttingDown) {
      res.status(503).json({ ready: false, reason: 'shutting down' });
      return;
    }
    const report = await runReadinessChecks(options.readiness, options.readinessTimeoutMs ?? 3000);
    res.status(report.ready ? 200 : 503).json({ ...options.readinessDetails?.(), ...report });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  app.use(noRoute);
  app.use(problemHandler());
  return app;
}

function requestContext(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get('x-request-id');
    req.id = incoming && requestIdPattern.test(incoming) ? incoming : randomUUID();
    req.log = logger.child({ request_id: req.id });
    res.setHeader('x-request-id', req.id);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      const entry = { method: req.method, path: req.path, status: res.statusCode, duration_ms: durationMs };
      if (req.path.startsWith('/health') || req.path === '/metrics') req.log.debug(entry, 'request');
      else req.log.info(entry, 'request');
    });
    next();
  };
}

function requestMetrics(metrics: ServiceMetrics): RequestHandler {
  return (req, res, next) => {
    const stop = metrics.httpRequestDuration.startTimer();
    if (!isProbePath(req.path)) {
      metrics.httpRequestsInFlight.inc();
      res.once('close', () => metrics.httpRequestsInFlight.dec());
    }
    res.on('finish', () => {
      // The route template, never the raw path: ids in paths would explode the label cardinality.
      const route = req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      const labels = { method: req.method, route, status: String(res.statusCode) };
      metrics.httpRequestsTotal.inc(labels);
      stop(labels);
    });
    next();
  };
}

/**
 * Whatever a handler or middleware threw, as the AppError it answers: body-parser failures and dependency
 * failures get their codes. For routes that answer errors in another shape than problem+json.
 */
export function requestError(error: unknown): AppError {
  return fromBodyParserError(error) ?? dependencyFailure(error) ?? toAppError(error);
}

function problemHandler(): ErrorRequestHandler {
  return (error: unknown, req: Request, res, _next) => {
    const appError = requestError(error);
    if (appError.status >= 500) {
      req.log.error({ err: error, code: appError.code, context: appError.context }, 'request failed');
    }
    if (res.headersSent) return;
    // A dependency that is down or a shutdown: the caller may try again, and is told when.
    if (appError.status === 503 && appError.retryable && !res.getHeader('retry-after')) {
      res.setHeader('retry-after', String(appError.context.retryAfterSeconds ?? 5));
    }
    res
      .status(appError.status)
      .type(problemContentType)
      .send(JSON.stringify(problemFromError(appError, req.id, req.originalUrl)));
  };
}

function rejectInvalidUtf8(_req: unknown, _res: unknown, body: Buffer): void {
  if (isUtf8(body)) return;
  // A plain Error with a type: body-parser decorates what verify throws with a status, which an AppError refuses.
  throw Object.assign(new Error('Request body is not valid UTF-8; send JSON encoded as UTF-8'), {
    type: 'encoding.invalid_utf8',
  });
}

/** body-parser reports its failures with a `type`; turn them into errors that name the problem. */
function fromBodyParserError(error: unknown): AppError | undefined {
  const type = (error as { type?: unknown } | null)?.type;
  if (type === 'encoding.invalid_utf8') return new AppError('bad_request', (error as Error).message);
  if (type === 'entity.too.large') {
    const limit = (error as { limit?: number }).limit;
    return new AppError('payload_too_large', `Request body exceeds the limit of ${limit} bytes`);
  }
  if (type === 'entity.parse.failed') {
    return new AppError('bad_request', `Malformed JSON body: ${(error as Error).message}`);
  }
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    return new AppError('unsupported_media_type', (error as Error).message);
  }
  return undefined;
}

/** Requires a JSON body: a request with another content type gets 415 instead of an empty body. */
export const requireJson: RequestHandler = (req, _res, next) => {
  if (!req.is(['application/json', 'application/*+json'])) {
    next(new AppError('unsupported_media_type', 'Send the body as application/json'));
    return;
  }
  next();
};
