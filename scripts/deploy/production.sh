#!/usr/bin/env bash
# Production blue-green release of the whole system (all four services move together), gated on health,
# with automatic rollback. docs/runbook.md explains the model; in short:
#
#   - Two colors, blue and green, each a full set of Deployments, HPAs, PDBs and Services suffixed -<color>
#     (infra/components/blue-green/release). The live color is the selector of the public Service `gateway`
#     (infra/components/blue-green/shared); each color's gateway calls its own search and embedding services.
#   - deploy: apply the release to the idle color, scale it up, wait for every rollout, smoke-test it through
#     its own Service (gateway-<color>, no traffic yet), then switch the public Service and smoke-test (and,
#     with --prometheus, watch the error rate) again. Any failed gate rolls back by itself: before the switch
#     the new color is scaled to zero and nothing else changed; after it the Service goes back to the old
#     color first. The old color keeps running (all but its ingest worker, so that old code stops taking
#     jobs) for a quick `rollback`, until `retire` scales it to zero.
#   - rollback: the previous color takes the traffic back. retire: scale the idle color to zero.
#   - status: which color is live and what each runs.
#
#   SMOKE_API_KEY=... bash scripts/deploy/production.sh deploy --registry ghcr.io/acme/rag-system \
#       --image gateway=ghcr.io/acme/rag-system/gateway@sha256:... (one per app, or --tag T) \
#       [--overlay prod-gpu] [--public-url https://rag.example.com] [--prometheus http://prometheus:9090]
#   bash scripts/deploy/production.sh rollback | retire | status
#
# Options: --overlay (default prod), --namespace (default rag-prod), --registry/--tag/--image as in
# staging.sh, --rollout-timeout (default 600s), --smoke-collection (default smoke), --public-url (smoke
# test through the public address after the switch), --prometheus URL with --max-error-ratio (default 0.02)
# and --watch-seconds (default 300): the gateway's 5xx share must stay under the ratio for that long.
set -euo pipefail
# shellcheck source=scripts/deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command=${1:-}
[[ $command =~ ^(deploy|rollback|retire|status)$ ]] || die "usage: production.sh deploy|rollback|retire|status [options]"
shift
overlay=prod namespace=rag-prod registry="" tag="" rollout_timeout=600s collection=smoke public_url=""
prometheus="" max_error_ratio=0.02 watch_seconds=300
images=()
while [[ $# -gt 0 ]]; do
  case $1 in
  --overlay) overlay=${2:?} && shift 2 ;;
  --namespace) namespace=${2:?} && shift 2 ;;
  --registry) registry=${2:?} && shift 2 ;;
  --tag) tag=${2:?} && shift 2 ;;
  --image) images+=("${2:?}") && shift 2 ;;
  --rollout-timeout) rollout_timeout=${2:?} && shift 2 ;;
  --smoke-collection) collection=${2:?} && shift 2 ;;
  --public-url) public_url=${2:?} && shift 2 ;;
  --prometheus) prometheus=${2:?} && shift 2 ;;
  --max-error-ratio) max_error_ratio=${2:?} && shift 2 ;;
  --watch-seconds) watch_seconds=${2:?} && shift 2 ;;
  *) die "unknown argument '$1' (see the header of $0)" ;;
  esac
done
color_label='app.kubernetes.io/color'
k() { kubectl -n "$namespace" "$@"; }
other() { [[ $1 == blue ]] && echo green || echo blue; }

live_color() {
  k get service gateway --ignore-not-found -o "jsonpath={.spec.selector.app\.kubernetes\.io/color}"
}

deployment_exists() { [[ -n "$(k get deployment "$1" --ignore-not-found -o name)" ]]; }

replicas_of() { k get deployment "$1" -o 'jsonpath={.spec.replicas}'; }

# The replica count a color's Deployment should start from: its HPA's minimum.
min_replicas_of() {
  local min
  min=$(k get hpa "$1" --ignore-not-found -o 'jsonpath={.spec.minReplicas}')
  echo "${min:-1}"
}

# scale_up COLOR [APP...]: Deployments at zero go to their HPA minimum (an HPA leaves a Deployment at zero
# alone, and the manifests carry no replicas, so apply does not do it either).
scale_up() {
  local color=$1 app
  shift
  for app in "${@:-${deploy_apps[@]}}"; do
    if [[ "$(replicas_of "$app-$color")" == 0 ]]; then
      k scale "deployment/$app-$color" --replicas="$(min_replicas_of "$app-$color")" >&2
    fi
  done
}

# scale_down COLOR [APP...]: to zero, which also pauses the color's HPAs.
scale_down() {
  local color=$1 app
  shift
  for app in "${@:-${deploy_apps[@]}}"; do
    if deployment_exists "$app-$color"; then k scale "deployment/$app-$color" --replicas=0 >&2 || true; fi
  done
}

switch_to() {
  local color=$1 previous=$2
  log "switching service/gateway to $color"
  k patch service gateway --type=merge -p "{\"metadata\":{\"annotations\":{\"rag-system/previous-color\":\"$previous\"}},\"spec\":{\"selector\":{\"$color_label\":\"$color\"}}}" >&2
}

# error_ratio_gate COLOR: the share of 5xx answers of the color's gateway pods, from Prometheus, must stay
# at or under --max-error-ratio for --watch-seconds (checked every 30 s). No traffic counts as healthy.
error_ratio_gate() {
  local color=$1 query deadline ratio
  query="sum(rate(http_requests_total{namespace=\"$namespace\",pod=~\"gateway-$color-.*\",status=~\"5..\",route!~\"/health.*|/metrics\"}[2m])) / sum(rate(http_requests_total{namespace=\"$namespace\",pod=~\"gateway-$color-.*\",route!~\"/health.*|/metrics\"}[2m]))"
  deadline=$((SECONDS + watch_seconds))
  while :; do
    # shellcheck disable=SC2016 # JavaScript, not shell
    ratio=$(node -e '
      const [url, query] = process.argv.slice(1);
      fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}`, { signal: AbortSignal.timeout(10000) })
        .then((r) => r.json())
        .then((b) => {
          if (b.status !== "success") throw new Error(b.error ?? "query failed");
          console.log(b.data.result[0]?.value[1] ?? "0");
        })
        .catch((e) => { console.error(e.message); process.exit(1); });
    ' "$prometheus" "$query") || {
      log "Prometheus at $prometheus did not answer the error-ratio query"
      return 1
    }
    if node -e 'process.exit(Number(process.argv[1]) > Number(process.argv[2]) ? 0 : 1)' "$ratio" "$max_error_ratio"; then
      log "gateway-$color answers 5xx to a share of $ratio of requests (limit $max_error_ratio)"
      return 1
    fi
    ((SECONDS < deadline)) || return 0
    sleep 30
  done
}

status() {
  local live
  live=$(live_color)
  echo "live color: ${live:-none}"
  local color app
  for color in blue green; do
    for app in "${deploy_apps[@]}"; do
      deployment_exists "$app-$color" || continue
      echo "$app-$color: replicas $(replicas_of "$app-$color"), image $(k get deployment "$app-$color" -o 'jsonpath={.spec.template.spec.containers[0].image}')"
    done
  done
}

deploy() {
  [[ -n ${SMOKE_API_KEY:-} ]] || die "SMOKE_API_KEY is not set (an editor key for the smoke collection)"
  local live new work
  live=$(live_color)
  new=$(other "${live:-green}")
  log "live color: ${live:-none}; deploying to $new"
  resolve_images "$registry" "$tag" ${images[@]+"${images[@]}"}
  # A production release names its images; the overlay's committed tags are only a floor for plain applies.
  [[ ${#resolved[@]} -gt 0 ]] || die "name the release's images: --registry REG --tag TAG, or --image APP=REF"
  work="$(mktemp -d)"
  # shellcheck disable=SC2064 # expand now: the folder is local to this function
  trap "rm -rf '$work'" EXIT
  render_overlay "$overlay" release "$new" "$work/release.yaml" ${resolved[@]+"${resolved[@]}"}
  # The shared part keeps the live selector: applying it never moves traffic (first release: the new color).
  render_overlay "$overlay" shared "${live:-$new}" "$work/shared.yaml"

  kubectl apply -f "$work/shared.yaml" >&2 || die "kubectl apply of the shared objects failed; traffic unchanged"
  if ! kubectl apply -f "$work/release.yaml" >&2; then
    scale_down "$new"
    die "kubectl apply of the $new release failed; $new scaled to zero, traffic unchanged on ${live:-nothing}"
  fi
  scale_up "$new"

  if ! wait_rollouts "$namespace" "-$new" "$rollout_timeout"; then
    scale_down "$new"
    die "rollback: $new did not become ready; $new scaled to zero, traffic unchanged on ${live:-nothing}"
  fi
  log "smoke test of $new through service/gateway-$new (no traffic yet)"
  if ! smoke_via_port_forward "$namespace" "gateway-$new" --collection "$collection"; then
    scale_down "$new"
    die "rollback: smoke test of $new failed; $new scaled to zero, traffic unchanged on ${live:-nothing}"
  fi

  switch_to "$new" "${live:-none}"
  local post_ok=true
  if [[ -n $public_url ]]; then
    log "smoke test through $public_url"
    node "$deploy_repo_root/scripts/deploy/smoke.mjs" --base-url "$public_url" --collection "$collection" >&2 ||
      post_ok=false
  fi
  if $post_ok && [[ -n $prometheus ]]; then
    log "watching the error ratio of gateway-$new for ${watch_seconds}s"
    error_ratio_gate "$new" || post_ok=false
  fi
  if ! $post_ok; then
    if [[ -n $live ]]; then
      scale_up "$live" ingest-worker
      switch_to "$live" "$new"
      scale_down "$new"
      die "rollback: $new failed after the switch; traffic back on $live, $new scaled to zero"
    fi
    die "$new failed after the switch and there is no previous color to go back to"
  fi

  # Old code stops taking ingest jobs; the old color's other services stay up for a quick rollback.
  [[ -z $live ]] || scale_down "$live" ingest-worker
  log "released to $new${live:+; $live kept for rollback (production.sh rollback), retire it with production.sh retire}"
}

rollback() {
  local live previous
  live=$(live_color)
  [[ -n $live ]] || die "no live color: nothing to roll back"
  previous=$(other "$live")
  deployment_exists "gateway-$previous" || die "no $previous release to roll back to"
  log "rolling back from $live to $previous"
  scale_up "$previous"
  wait_rollouts "$namespace" "-$previous" "$rollout_timeout" || die "$previous is not ready; traffic stays on $live"
  switch_to "$previous" "$live"
  scale_down "$live" ingest-worker
  log "traffic on $previous; $live kept (retire it with production.sh retire)"
}

retire() {
  local live
  live=$(live_color)
  [[ -n $live ]] || die "no live color"
  log "scaling the idle color $(other "$live") to zero"
  scale_down "$(other "$live")"
}

"$command"
