# syntax=docker/dockerfile:1
# Image of one app of the monorepo. The four docker/*.Dockerfile are the same file but for the two ARG
# defaults below (infra/checks/images.sh fails when they drift apart); each also builds any other app
# with --build-arg APP=<app> --build-arg APP_PORT=<port>.
#   docker build -f docker/<app>.Dockerfile -t rag/<app> .   (the context is the repository root)
ARG APP=gateway
ARG APP_PORT=8080
# Debian (glibc) base: onnxruntime-node ships no musl build. Pinned by tag; on a real registry pin the
# digest as well (node:20-bookworm-slim@sha256:...) and let a bot bump it.
ARG NODE_IMAGE=docker.io/library/node:20-bookworm-slim

# pnpm and turbo at the versions the repository pins (packageManager, the turbo catalog entry).
FROM ${NODE_IMAGE} AS tools
ENV CI=true TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1 ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json pnpm-workspace.yaml /tmp/versions/
RUN pnpm_version=$(node -p 'require("/tmp/versions/package.json").packageManager.split("@")[1]') \
 && turbo_version=$(sed -n 's/^ *turbo: *//p' /tmp/versions/pnpm-workspace.yaml) \
 && npm install -g --no-audit --no-fund "pnpm@${pnpm_version}" "turbo@${turbo_version}" \
 && rm -rf /root/.npm \
 && rm -rf /tmp/versions

# Only the app, the workspace packages it depends on and a lockfile cut down to them.
FROM tools AS prune
ARG APP
WORKDIR /src
COPY . .
RUN turbo prune "@rag/${APP}" --docker --out-dir /out

FROM tools AS build
ARG APP
WORKDIR /repo
# Manifests and lockfile first: the install layer is reused until a dependency changes.
COPY --from=prune /out/json/ ./
RUN --mount=type=cache,id=rag-pnpm-store,target=/pnpm/store \
    pnpm install --frozen-lockfile --store-dir /pnpm/store
COPY --from=prune /out/full/ ./
COPY tsconfig.base.json ./
# turbo's cache is shared by the four builds: the workspace packages compile once.
RUN --mount=type=cache,id=rag-turbo-cache,target=/repo/.turbo/cache \
    turbo run build --filter "@rag/${APP}" --output-logs=errors-only
# The gateway serves the web console (apps/console, built as its dependency) from console/ (CONSOLE_DIR).
# pnpm 10 deploys without --legacy only with inject-workspace-packages=true, which would change the
# lockfile; the legacy deploy copies each workspace package (package.json "exports" -> dist/) as it is.
# Then drop the native binaries of other platforms (onnxruntime-node, tokenizers: about 250 MB).
RUN --mount=type=cache,id=rag-pnpm-store,target=/pnpm/store \
    pnpm deploy --legacy --prod --filter "@rag/${APP}" --store-dir /pnpm/store "/prod/${APP}" \
 && if [ -f apps/console/dist/index.html ]; then cp -r apps/console/dist "/prod/${APP}/console"; fi \
 && arch=$(node -p process.arch) \
 && for bin in "/prod/${APP}"/node_modules/.pnpm/onnxruntime-node@*/node_modules/onnxruntime-node/bin/napi-v*; do \
      [ -d "$bin" ] || continue; \
      find "$bin" -mindepth 2 -maxdepth 2 -type d ! -path "$bin/linux/$arch" -exec rm -rf {} +; \
    done \
 && for lib in "/prod/${APP}"/node_modules/.pnpm/tokenizers@*/node_modules/tokenizers/*.node; do \
      case "$lib" in *"linux-$arch-gnu.node"|*"/*.node") ;; *) rm -f "$lib" ;; esac; \
    done

# Development: the pruned workspace with every dependency (dev ones included) and the sources built once;
# turbo rebuilds the app and the workspace packages it uses when a source changes, and node restarts on
# the new output. Bind-mount the src folders you edit (README.md "Container images"). Not a production
# image: it runs as root to write dist/ next to the mounted sources. Build it with --target development;
# the default target is the runtime stage below, which stays last.
FROM build AS development
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
ARG APP
ARG APP_PORT
ENV NODE_ENV=development HOST=0.0.0.0 PORT=${APP_PORT} RAG_APP=${APP}
WORKDIR /repo/apps/${APP}
EXPOSE ${APP_PORT}
# -g: SIGTERM reaches the watcher and the app alike.
ENTRYPOINT ["/usr/bin/tini", "-g", "--"]
CMD ["sh", "-c", "turbo watch build --filter \"@rag/${RAG_APP}...\" --output-logs=errors-only & exec node --watch --enable-source-maps --import @rag/telemetry/register dist/main.js"]

FROM ${NODE_IMAGE} AS runtime
# tini as PID 1: forwards SIGTERM to node (the apps drain and exit cleanly) and reaps zombies.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 app \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin app
ARG APP
ARG APP_PORT
LABEL org.opencontainers.image.title="rag-${APP}"
# HOST: listen on every interface of the container (the apps default to 127.0.0.1).
ENV NODE_ENV=production HOST=0.0.0.0 PORT=${APP_PORT}
WORKDIR /app
# Owned by root and read-only for the app user.
COPY --from=build /prod/${APP}/ ./
USER 10001:10001
EXPOSE ${APP_PORT}
# Liveness through node's fetch (the slim image has no curl); /health/ready is for the orchestrator, on
# MANAGEMENT_PORT (PORT + 1000).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "const h=process.env.HOST||'';const host=h===''||h==='0.0.0.0'||h==='::'?'127.0.0.1':h.includes(':')?'['+h+']':h;fetch('http://'+host+':'+process.env.PORT+'/health',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--enable-source-maps", "--import", "@rag/telemetry/register", "dist/main.js"]
