# syntax=docker/dockerfile:1
# The embedding service for NVIDIA GPUs (linux/amd64 only: onnxruntime-node's CUDA execution provider
# exists for linux/x64 alone). Deploy it with infra/components/gpu, which sets EMBED_EXECUTION_PROVIDER=cuda,
# asks for a GPU and schedules onto GPU nodes.
#   docker build --platform linux/amd64 -f docker/embedding-service-cuda.Dockerfile -t rag/embedding-service:<tag>-cuda .
#
# The tools, prune and build stages are those of docker/embedding-service.Dockerfile (infra/checks/deploy.sh
# fails when they drift apart); the differences are the CUDA provider libraries fetched at build time and a
# CUDA runtime base image.
ARG APP=embedding-service
ARG APP_PORT=8081
ARG NODE_IMAGE=docker.io/library/node:20-bookworm-slim
# CUDA 12 and cuDNN 9: what the CUDA provider of onnxruntime-node 1.2x/1.3x is built against (any CUDA 12.x
# runtime works, by CUDA minor version compatibility; the node's driver must support it: 525.60 or newer).
ARG CUDA_IMAGE=docker.io/nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04

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
# The CUDA provider libraries (libonnxruntime_providers_cuda.so and the shared provider bridge) are too big
# for the npm package; its own install script fetches them, pinned to the package's version, from the
# Microsoft.ML.OnnxRuntime.Gpu.Linux NuGet package. Then only linux/x64 binaries are kept.
RUN --mount=type=cache,id=rag-pnpm-store,target=/pnpm/store \
    pnpm deploy --legacy --prod --filter "@rag/${APP}" --store-dir /pnpm/store "/prod/${APP}" \
 && if [ "$(node -p process.arch)" != x64 ]; then echo "the CUDA image is linux/amd64 only" >&2; exit 1; fi \
 && for ort in "/prod/${APP}"/node_modules/.pnpm/onnxruntime-node@*/node_modules/onnxruntime-node; do \
      ONNXRUNTIME_NODE_INSTALL=cuda12 node "$ort/script/install.js" || exit 1; \
      test -f "$ort/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so" || exit 1; \
      find "$ort/bin" -mindepth 3 -maxdepth 3 -type d ! -path "*/linux/x64" -exec rm -rf {} +; \
    done \
 && for lib in "/prod/${APP}"/node_modules/.pnpm/tokenizers@*/node_modules/tokenizers/*.node; do \
      case "$lib" in *"linux-x64-gnu.node") ;; *) rm -f "$lib" ;; esac; \
    done

# Node itself comes from the official image: the CUDA base has none, and Ubuntu 24.04's glibc is newer than
# the bookworm one node is built against.
FROM ${NODE_IMAGE} AS node

FROM ${CUDA_IMAGE} AS runtime
# tini as PID 1: forwards SIGTERM to node (the service drains and exits cleanly) and reaps zombies.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 app \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin app
COPY --from=node /usr/local/bin/node /usr/local/bin/node
ARG APP
ARG APP_PORT
LABEL org.opencontainers.image.title="rag-${APP}-cuda"
# HOST: listen on every interface of the container (the service defaults to 127.0.0.1). The CUDA base image
# already sets NVIDIA_VISIBLE_DEVICES and NVIDIA_DRIVER_CAPABILITIES for the NVIDIA container runtime.
ENV NODE_ENV=production HOST=0.0.0.0 PORT=${APP_PORT}
WORKDIR /app
# Owned by root and read-only for the app user.
COPY --from=build /prod/${APP}/ ./
USER 10001:10001
EXPOSE ${APP_PORT}
# Liveness through node's fetch (the image has no curl); /health/ready is for the orchestrator, on
# MANAGEMENT_PORT (PORT + 1000).
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
  CMD ["node", "-e", "const h=process.env.HOST||'';const host=h===''||h==='0.0.0.0'||h==='::'?'127.0.0.1':h.includes(':')?'['+h+']':h;fetch('http://'+host+':'+process.env.PORT+'/health',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--enable-source-maps", "--import", "@rag/telemetry/register", "dist/main.js"]
