#!/usr/bin/env bash
# Deploys an overlay (staging by default) with a rolling update, waits for every rollout, then smoke-tests
# the gateway. Exits non-zero when the apply, a rollout or the smoke test fails; a failed rollout is undone
# (`kubectl rollout undo`), so staging keeps serving the previous release.
#
#   SMOKE_API_KEY=... bash scripts/deploy/staging.sh --registry ghcr.io/acme/rag-system --tag sha-<commit> \
#     --base-url https://rag.staging.example.com
#
# Options:
#   --overlay NAME          infra/overlays/NAME (default staging)
#   --namespace NS          default rag-NAME
#   --registry REG --tag T  every image as REG/<app>:T
#   --image APP=REF         one app's image, REF = NAME@sha256:... (preferred) or NAME:TAG; wins over --tag
#   --base-url URL          the gateway for the smoke test; without it the test goes through a port-forward
#   --rollout-timeout DUR   per Deployment (default 300s)
#   --smoke-collection C    the collection the smoke test writes to (default smoke)
set -euo pipefail
# shellcheck source=scripts/deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

overlay=staging namespace="" registry="" tag="" base_url="" rollout_timeout=300s collection=smoke
images=()
while [[ $# -gt 0 ]]; do
  case $1 in
  --overlay) overlay=${2:?} && shift 2 ;;
  --namespace) namespace=${2:?} && shift 2 ;;
  --registry) registry=${2:?} && shift 2 ;;
  --tag) tag=${2:?} && shift 2 ;;
  --image) images+=("${2:?}") && shift 2 ;;
  --base-url) base_url=${2:?} && shift 2 ;;
  --rollout-timeout) rollout_timeout=${2:?} && shift 2 ;;
  --smoke-collection) collection=${2:?} && shift 2 ;;
  *) die "unknown argument '$1' (see the header of $0)" ;;
  esac
done
namespace=${namespace:-rag-$overlay}
[[ -n ${SMOKE_API_KEY:-} ]] || die "SMOKE_API_KEY is not set (an editor key for the smoke collection)"

resolve_images "$registry" "$tag" ${images[@]+"${images[@]}"}
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
render_overlay "$overlay" all "" "$work/manifests.yaml" ${resolved[@]+"${resolved[@]}"}

log "applying overlay $overlay to namespace $namespace"
kubectl apply -f "$work/manifests.yaml" >&2 || die "kubectl apply failed; nothing was rolled back"

if ! wait_rollouts "$namespace" "" "$rollout_timeout"; then
  for app in "${deploy_apps[@]}"; do
    kubectl -n "$namespace" rollout undo "deployment/$app" >&2 || log "rollout undo deployment/$app failed"
  done
  die "rollout failed; undone to the previous ReplicaSets"
fi

smoke_args=(--collection "$collection")
if [[ -n $base_url ]]; then
  node "$deploy_repo_root/scripts/deploy/smoke.mjs" --base-url "$base_url" "${smoke_args[@]}" >&2 ||
    die "smoke test against $base_url failed"
else
  smoke_via_port_forward "$namespace" gateway "${smoke_args[@]}" || die "smoke test through service/gateway failed"
fi
log "overlay $overlay deployed to $namespace and smoke-tested"
