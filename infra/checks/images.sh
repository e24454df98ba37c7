#!/usr/bin/env bash
# Builds the four app images from docker/<app>.Dockerfile with buildah and runs them with podman against
# the local PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) and a private Milvus Lite, each app in
# its own schema, key prefix and collection prefix. For every image it checks: the build, /health/ready (on
# the management port) answering 200, the process running as uid 10001, the HEALTHCHECK being defined and
# passing, and a clean exit (code 0) on SIGTERM; the gateway serves the web console from its image; through
# the gateway it creates a collection with the admin key, ingests a document until it is ready and finds it
# by search. Prints `image <app>: ok` or `image <app>: FAILED <reason>` per image and exits with 1 when any
# failed.
#
# Needs root (rootful podman), the Debian mirror and the npm registry. Without Docker Hub access the base
# image is a local stand-in built by make-base-image.sh. READY_TIMEOUT (s, default 120) bounds the wait.
set -euo pipefail
cd "$(dirname "$0")/../.."
export TURBO_TELEMETRY_DISABLED=1 ONNXRUNTIME_NODE_INSTALL=skip

apps=(gateway ingest-worker embedding-service search-service)
ready_timeout=${READY_TIMEOUT:-120}
uid_expected=10001

declare -A result=() port=() management_port=() container=() built=()
timings=()
log() { printf '[images] %s\n' "$*" >&2; }
fail() { # app reason: keeps the first reason of each app
  if [ -z "${result[$1]:-}" ]; then result[$1]="FAILED $2"; fi
  log "$1: $2"
}
timed() { # name command...: runs the command and records how long it took
  local name=$1 start=$SECONDS status=0
  shift
  "$@" || status=$?
  timings+=("$name $((SECONDS - start))s")
  return "$status"
}
free_port() {
  node -e 'const s=require("node:net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}
pod() { # podman without the systemd noise of health-check timers (no systemd here): stderr to the log
  podman "$@" 2>>"$work/podman.log"
}

work=$(mktemp -d /var/tmp/rag-images.XXXXXX)
chmod 755 "$work"
suffix="$(date +%s)_$$"
schema="img_$suffix"
redis_prefix="rag-img-$suffix"
milvus_pid= milvus_port=

cleanup() {
  set +e
  for app in "${apps[@]}"; do
    [ -n "${container[$app]:-}" ] && podman rm -f -t 5 "${container[$app]}" >/dev/null 2>&1
  done
  if [ -n "$milvus_pid" ]; then
    kill -TERM "$milvus_pid" 2>/dev/null
    wait "$milvus_pid" 2>/dev/null
  fi
  psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP SCHEMA IF EXISTS \"$schema\" CASCADE" >/dev/null 2>&1
  redis-cli -h 127.0.0.1 -p 6379 --scan --pattern "$redis_prefix*" 2>/dev/null |
    xargs -r redis-cli -h 127.0.0.1 -p 6379 del >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

total_start=$SECONDS

# 1. The four Dockerfiles are one file with two different ARG defaults.
for app in "${apps[@]}"; do
  file=docker/$app.Dockerfile
  if [ ! -f "$file" ]; then
    fail "$app" "$file is missing"
  elif ! grep -qx "ARG APP=$app" "$file"; then
    fail "$app" "$file does not default ARG APP to $app"
  elif ! diff -q <(grep -v '^ARG APP\(_PORT\)\?=' "$file") <(grep -v '^ARG APP\(_PORT\)\?=' docker/gateway.Dockerfile) >/dev/null; then
    fail "$app" "$file drifted from docker/gateway.Dockerfile (only ARG APP and APP_PORT may differ)"
  fi
done

# 2. The base image (a local stand-in where Docker Hub cannot be reached).
if ! timed base-image bash infra/checks/make-base-image.sh; then
  for app in "${apps[@]}"; do fail "$app" "the base image could not be built (infra/checks/make-base-image.sh)"; done
fi

# 3. Build. --layers reuses the stages the four share (tools, the runtime's tini layer) and earlier runs;
# --format=docker keeps HEALTHCHECK, which the OCI image format has no field for.
for app in "${apps[@]}"; do
  [ -z "${result[$app]:-}" ] || continue
  log "building rag/$app:ci"
  if ! timed "build-$app" buildah bud --isolation=chroot --pull=never --network=host --layers --format=docker \
    -f "docker/$app.Dockerfile" -t "rag/$app:ci" . >"$work/build-$app.log" 2>&1; then
    tail -30 "$work/build-$app.log" >&2
    fail "$app" "build failed: $(grep -v '^\s*$' "$work/build-$app.log" | tail -1 | cut -c1-200)"
  else
    built[$app]=1
  fi
done

# 4. What the containers run against.
prepare() {
  if [ ! -d node_modules/.pnpm ]; then
    pnpm install --frozen-lockfile >"$work/install.log" 2>&1 || { tail -20 "$work/install.log" >&2; return 1; }
  fi
  pnpm exec turbo run build --filter @rag/models --output-logs=errors-only >"$work/models-build.log" 2>&1 ||
    { tail -20 "$work/models-build.log" >&2; return 1; }
  node packages/models/dist/models-cli.js tiny "$work/model" >/dev/null && chmod -R a+rX "$work/model" || return 1
  pg_isready -q -h 127.0.0.1 -p 5432 || { log "PostgreSQL is not running on 127.0.0.1:5432"; return 1; }
  redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || { log "Redis is not running on 127.0.0.1:6379"; return 1; }
  bash scripts/milvus-venv.sh >"$work/milvus-venv.log" 2>&1 || { tail -20 "$work/milvus-venv.log" >&2; return 1; }
  milvus_port=$(free_port)
  mkdir -p "$work/milvus"
  .venv/milvus/bin/python scripts/milvus-lite-server.py --data-dir "$work/milvus" --host 127.0.0.1 \
    --port "$milvus_port" >"$work/milvus.log" 2>&1 &
  milvus_pid=$!
  local deadline=$((SECONDS + 60))
  until (exec 3<>"/dev/tcp/127.0.0.1/$milvus_port") 2>/dev/null; do
    if ! kill -0 "$milvus_pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
      tail -20 "$work/milvus.log" >&2
      log "Milvus Lite did not start on port $milvus_port"
      return 1
    fi
    sleep 0.5
  done
}
if ! timed prepare prepare; then
  for app in "${apps[@]}"; do fail "$app" "test services could not be prepared (PostgreSQL, Redis, Milvus Lite or the model)"; done
fi

# 5. Run every image that built.
service_token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')   # 48 characters
admin_key="admin-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
for app in "${apps[@]}"; do port[$app]=$(free_port); management_port[$app]=$(free_port); done
database_url=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
redis_url=${REDIS_URL:-redis://127.0.0.1:6379}

run_app() { # app extra-podman-args...
  local app=$1 name="rag-ci-$1-$suffix"
  shift
  if pod run -d --name "$name" --runtime=runc --network host \
    --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
    -e HOST=127.0.0.1 -e PORT="${port[$app]}" -e MANAGEMENT_PORT="${management_port[$app]}" -e LOG_LEVEL=info -e SERVICE_TOKEN="$service_token" \
    "$@" "rag/$app:ci" >/dev/null; then
    container[$app]=$name
  else
    fail "$app" "podman run failed: $(tail -1 "$work/podman.log")"
  fi
}
start_all() {
  local db=(-e DATABASE_URL="$database_url" -e DATABASE_SCHEMA="$schema")
  local milvus=(-e MILVUS_ADDRESS="127.0.0.1:$milvus_port" -e MILVUS_COLLECTION_PREFIX="img_${suffix}_")
  local embedding=(-e EMBEDDING_SERVICE_URL="http://127.0.0.1:${port[embedding-service]}")
  local redis=(-e REDIS_URL="$redis_url" -e REDIS_KEY_PREFIX="$redis_prefix")
  # Uploads go from the gateway to the worker through object storage: here one local volume both mount.
  mkdir -p "$work/storage" && chmod 0777 "$work/storage"
  local storage=(-e STORAGE_ROOT=/var/lib/rag/storage -v "$work/storage:/var/lib/rag/storage")
  [ -n "${result[embedding-service]:-}" ] ||
    run_app embedding-service -e MODEL_DIR=/models/tiny -v "$work/model:/models/tiny:ro"
  [ -n "${result[search-service]:-}" ] || run_app search-service "${db[@]}" "${milvus[@]}" "${embedding[@]}"
  [ -n "${result[gateway]:-}" ] || run_app gateway "${db[@]}" "${redis[@]}" "${storage[@]}" -e ADMIN_API_KEY="$admin_key" \
    -e SEARCH_SERVICE_URL="http://127.0.0.1:${port[search-service]}" -e CONSOLE_DIR=/app/console
  [ -n "${result[ingest-worker]:-}" ] || run_app ingest-worker "${db[@]}" "${redis[@]}" "${storage[@]}" "${milvus[@]}" "${embedding[@]}"
}
wait_ready() {
  local deadline=$((SECONDS + ready_timeout)) pending app code
  while :; do
    pending=0
    for app in "${apps[@]}"; do
      [ -n "${container[$app]:-}" ] && [ -z "${result[$app]:-}" ] && [ -z "${ready[$app]:-}" ] || continue
      code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:${management_port[$app]}/health/ready" || true)
      if [ "$code" = 200 ]; then
        ready[$app]=$((SECONDS - run_start))
        log "$app ready after ${ready[$app]}s"
      elif [ "$(podman inspect -f '{{.State.Running}}' "${container[$app]}" 2>/dev/null)" != true ]; then
        podman logs --tail 20 "${container[$app]}" >&2 2>&1 || true
        fail "$app" "container exited (code $(podman inspect -f '{{.State.ExitCode}}' "${container[$app]}" 2>/dev/null)) before /health/ready"
      elif [ $SECONDS -ge $deadline ]; then
        podman logs --tail 20 "${container[$app]}" >&2 2>&1 || true
        fail "$app" "/health/ready answered ${code} after ${ready_timeout}s"
      else
        pending=1
      fi
    done
    [ "$pending" = 1 ] || break
    sleep 1
  done
}
declare -A ready=()
run_start=$SECONDS
timed start-and-ready eval 'start_all; wait_ready'

# 6. Inside each running container: the user, the HEALTHCHECK (defined, and passing when run).
for app in "${apps[@]}"; do
  [ -n "${ready[$app]:-}" ] && [ -z "${result[$app]:-}" ] || continue
  uid=$(pod exec "${container[$app]}" id -u || true)
  [ "$uid" = "$uid_expected" ] || fail "$app" "process runs as uid '${uid}', expected $uid_expected"
  healthcheck=$(podman image inspect -f '{{json .HealthCheck}}' "rag/$app:ci" 2>/dev/null || true)
  case "$healthcheck" in
    *'"Test":["CMD"'*) pod healthcheck run "${container[$app]}" >/dev/null || fail "$app" "HEALTHCHECK is defined but fails" ;;
    *) fail "$app" "image defines no HEALTHCHECK (got: ${healthcheck:-nothing})" ;;
  esac
done

# 7. Real requests through the gateway: a collection (admin key), a document through the queue, worker,
# embedding service and Milvus, and a search through the search service.
api() { # method path [body]: prints the HTTP status on the first line, then the body
  local url="http://127.0.0.1:${port[gateway]}$2"
  local out
  out=$(curl -s --max-time 15 -X "$1" -H "Authorization: Bearer $admin_key" -H 'Content-Type: application/json' \
    ${3:+--data "$3"} -w '\n%{http_code}' "$url" || true)
  printf '%s\n%s\n' "${out##*$'\n'}" "${out%$'\n'*}"
}
json_field() { # field: one top-level field of the JSON on stdin (empty when absent or not JSON)
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{let v;try{v=JSON.parse(s)[process.argv[1]]}catch{}
    console.log(v===undefined||v===null?"":typeof v==="object"?JSON.stringify(v):v)})' "$1"
}
through_gateway() {
  [ -n "${ready[gateway]:-}" ] && [ -z "${result[gateway]:-}" ] || return 0
  local out status body id doc_status deadline
  # The web console ships in the gateway image: its page and the script it loads.
  body=$(curl -s --max-time 15 "http://127.0.0.1:${port[gateway]}/console/" || true)
  local script=${body#*<script type=\"module\" crossorigin src=\"}
  script=${script%%\"*}
  if [[ "$body" != *'<div id="app">'* || "$script" != /console/assets/*.js ]]; then
    fail gateway "GET /console/ is not the console: ${body:0:200}"; return 0
  fi
  status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 15 "http://127.0.0.1:${port[gateway]}$script" || true)
  if [ "$status" != 200 ]; then fail gateway "GET $script answered $status"; return 0; fi
  log "gateway: the console is served (/console/ and $script)"
  out=$(api POST /v1/collections '{"name": "images-ci"}')
  status=${out%%$'\n'*} body=${out#*$'\n'}
  if [ "$status" != 201 ]; then fail gateway "POST /v1/collections answered $status: ${body:0:200}"; return 0; fi
  log "gateway: collection created (201)"
  [ -n "${ready[ingest-worker]:-}" ] && [ -n "${ready[embedding-service]:-}" ] || return 0
  out=$(api POST /v1/collections/images-ci/documents \
    '{"external_id": "containers", "title": "Containers", "text": "Every service runs in its own container image as an unprivileged user."}')
  status=${out%%$'\n'*} body=${out#*$'\n'}
  if [ "$status" != 202 ]; then fail gateway "POST /v1/collections/images-ci/documents answered $status: ${body:0:200}"; return 0; fi
  id=$(json_field id <<<"$body")
  deadline=$((SECONDS + 60))
  while :; do
    out=$(api GET "/v1/documents/$id")
    doc_status=$(json_field status <<<"${out#*$'\n'}" 2>/dev/null || true)
    case "$doc_status" in
      ready) log "ingest-worker: document ready"; break ;;
      failed) fail ingest-worker "document failed: $(json_field error <<<"${out#*$'\n'}" | cut -c1-200)"; return 0 ;;
    esac
    if [ $SECONDS -ge $deadline ]; then fail ingest-worker "document still '${doc_status}' after 60s"; return 0; fi
    sleep 0.5
  done
  [ -n "${ready[search-service]:-}" ] || return 0
  out=$(api POST /v1/search '{"collection": "images-ci", "query": "unprivileged container user", "top_k": 3}')
  status=${out%%$'\n'*} body=${out#*$'\n'}
  if [ "$status" != 200 ]; then fail search-service "POST /v1/search answered $status: ${body:0:200}"; return 0; fi
  case "$body" in
    *"\"document_id\":\"$id\""*) log "search-service: the document is found" ;;
    *) fail search-service "search did not find the document: ${body:0:200}" ;;
  esac
}
timed requests through_gateway

# 8. SIGTERM through tini: each app drains and exits with 0.
stop_all() {
  for app in "${apps[@]}"; do
    [ -n "${container[$app]:-}" ] && [ -n "${ready[$app]:-}" ] || continue
    pod stop -t 20 "${container[$app]}" >/dev/null || true
    code=$(podman inspect -f '{{.State.ExitCode}}' "${container[$app]}" 2>/dev/null || echo '?')
    [ "$code" = 0 ] || fail "$app" "exit code $code after SIGTERM"
  done
}
timed stop stop_all

status=0
for app in "${apps[@]}"; do
  if [ -z "${result[$app]:-}" ] && [ -z "${ready[$app]:-}" ]; then fail "$app" "was not run"; fi
  echo "image $app: ${result[$app]:-ok}"
  [ -z "${result[$app]:-}" ] || status=1
done
for app in "${apps[@]}"; do
  [ -n "${built[$app]:-}" ] || continue
  size=$(podman image inspect -f '{{.Size}}' "rag/$app:ci" 2>/dev/null || true)
  [ -z "$size" ] || timings+=("size-$app $((size / 1000000))MB")
done
echo "timings: ${timings[*]} total $((SECONDS - total_start))s"
exit "$status"
