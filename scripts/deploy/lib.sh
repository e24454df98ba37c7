# shellcheck shell=bash
# Shared by scripts/deploy/{render,staging,production}.sh (source it; it sets no shell options).
#
# Rendering never edits the repository: render_overlay copies infra/ to a scratch folder and writes one
# generated kustomization there that names the overlay and layers the images (and, for production, the
# color) on top, then builds it with `kubectl kustomize`.

deploy_repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
deploy_apps=(gateway search-service embedding-service ingest-worker)

log() { echo "deploy: $*" >&2; }
die() {
  echo "deploy: error: $*" >&2
  exit 1
}

# image_entry IMAGE=REF: one kustomize `images:` entry for rag/IMAGE (an app, or embedding-service-cuda, the
# name the embedding service has in overlays with infra/components/gpu). REF is NAME@sha256:DIGEST
# (preferred) or NAME:TAG; `latest` and untagged references are refused, as the policy check refuses them.
image_entry() {
  local spec=$1 image ref name version kind
  [[ $spec == *=* ]] || die "--image wants APP=REFERENCE, got '$spec'"
  image=${spec%%=*}
  ref=${spec#*=}
  [[ " ${deploy_apps[*]} embedding-service-cuda " == *" $image "* ]] ||
    die "--image: unknown app '$image' (one of: ${deploy_apps[*]} embedding-service-cuda)"
  if [[ $ref == *@* ]]; then
    name=${ref%@*} kind=digest version=${ref#*@}
    [[ $version =~ ^sha256:[0-9a-f]{64}$ ]] || die "--image $image: '$version' is not a sha256 digest"
  else
    [[ ${ref##*/} == *:* ]] || die "--image $image: '$ref' has no tag or digest (it would mean latest)"
    name=${ref%:*} kind=newTag version=${ref##*:}
    [[ $version != latest ]] || die "--image $image: the latest tag is not a release"
  fi
  printf '  - name: rag/%s\n    newName: %s\n    %s: "%s"\n' "$image" "$name" "$kind" "$version"
}

# render_overlay OVERLAY PART COLOR OUT IMAGE_SPEC...
#   PART all:     the overlay as it is (staging, dev);
#   PART release: one color's workloads (infra/components/blue-green/release) named and labelled COLOR;
#   PART shared:  what both colors share (infra/components/blue-green/shared), the public gateway Service
#                 selecting COLOR.
render_overlay() {
  local overlay=$1 part=$2 color=$3 out=$4
  shift 4
  [[ -d "$deploy_repo_root/infra/overlays/$overlay" ]] || die "no overlay infra/overlays/$overlay"
  case $part in
  all) ;;
  release | shared) [[ $color == blue || $color == green ]] || die "color must be blue or green, got '$color'" ;;
  *) die "unknown part '$part'" ;;
  esac
  local images_yaml="" spec
  if [[ $# -gt 0 && $part != shared ]]; then
    images_yaml=$(for spec in "$@"; do image_entry "$spec" || exit 1; done) || exit 1
  fi
  local scratch
  scratch="$(mktemp -d)"
  cp -r "$deploy_repo_root/infra" "$scratch/infra"
  local k="$scratch/infra/deploy/kustomization.yaml"
  mkdir -p "$(dirname "$k")"
  {
    echo 'apiVersion: kustomize.config.k8s.io/v1beta1'
    echo 'kind: Kustomization'
    echo "resources: [../overlays/$overlay]"
    if [[ $part == release ]]; then
      echo 'components: [../components/blue-green/release]'
      echo "nameSuffix: -$color"
      echo 'labels:'
      echo "  - pairs: { app.kubernetes.io/color: $color }"
      echo '    includeSelectors: true'
      # Each color talks to its own search and embedding services, so a release is tested as a whole.
      echo 'configMapGenerator:'
      echo '  - name: rag-common'
      echo '    behavior: merge'
      echo '    literals:'
      echo "      - EMBEDDING_SERVICE_URL=http://embedding-service-$color:8081"
      echo "      - SEARCH_SERVICE_URL=http://search-service-$color:8082"
    elif [[ $part == shared ]]; then
      echo 'components: [../components/blue-green/shared]'
      echo 'patches:'
      echo '  - target: { kind: Service, name: gateway }'
      echo '    patch: |-'
      echo "      - { op: add, path: /spec/selector/app.kubernetes.io~1color, value: $color }"
    fi
    if [[ -n $images_yaml ]]; then
      echo 'images:'
      echo "$images_yaml"
    fi
  } >"$k"
  local status=0
  kubectl kustomize "$(dirname "$k")" >"$out" 2>"$scratch/err" || status=$?
  if [[ $status -ne 0 ]]; then
    sed 's/^/    /' "$scratch/err" >&2
    rm -rf "$scratch"
    die "kubectl kustomize failed for overlay $overlay ($part)"
  fi
  rm -rf "$scratch"
  # An entry whose name the overlay does not use would change nothing, silently.
  if [[ $part != shared ]]; then
    for spec in "$@"; do
      if grep -q "^ *image: rag/${spec%%=*}[:@]" "$out"; then
        die "overlay $overlay ($part): rag/${spec%%=*} was not replaced by ${spec#*=}"
      fi
    done
  fi
}

# resolve_images REGISTRY TAG IMAGE_SPEC...: sets the array `resolved` to the IMAGE=REF specs to render
# with. Explicit --image specs win; the other apps are REGISTRY/APP:TAG (none when neither is given: the
# overlay's images stay). The CUDA variant of the embedding service follows: an explicit embedding-service
# reference is used for it too (the caller names the image of the overlay it deploys), a tag gives
# REGISTRY/embedding-service-cuda:TAG.
resolve_images() {
  local registry=$1 tag=$2 image spec found
  shift 2
  [[ -z $tag || -n $registry ]] || die "--tag needs --registry"
  resolved=()
  for image in "${deploy_apps[@]}" embedding-service-cuda; do
    found=""
    for spec in "$@"; do [[ ${spec%%=*} == "$image" ]] && found=$spec; done
    if [[ -z $found && $image == embedding-service-cuda ]]; then
      for spec in "$@"; do [[ ${spec%%=*} == embedding-service ]] && found="$image=${spec#*=}"; done
    fi
    if [[ -n $found ]]; then
      resolved+=("$found")
    elif [[ -n $tag ]]; then
      resolved+=("$image=$registry/$image:$tag")
    fi
  done
}

# wait_rollouts NAMESPACE SUFFIX TIMEOUT: `kubectl rollout status` for the four Deployments (named APP and
# SUFFIX); returns 1 at the first that does not finish in time.
wait_rollouts() {
  local namespace=$1 suffix=$2 timeout=$3 app
  for app in "${deploy_apps[@]}"; do
    log "waiting for deployment/$app$suffix (up to $timeout)"
    if ! kubectl -n "$namespace" rollout status "deployment/$app$suffix" --timeout="$timeout" >&2; then
      log "deployment/$app$suffix did not become ready within $timeout"
      return 1
    fi
  done
}

# smoke_via_port_forward NAMESPACE SERVICE SMOKE_ARGS...: forwards a local port to the Service (so no
# public address is needed for a color that takes no traffic yet) and runs the smoke test through it.
smoke_via_port_forward() {
  local namespace=$1 service=$2
  shift 2
  local pf_log pf_pid port="" status=0
  pf_log="$(mktemp)"
  kubectl -n "$namespace" port-forward "service/$service" :http >"$pf_log" 2>&1 &
  pf_pid=$!
  for _ in $(seq 1 100); do
    port=$(sed -n 's/^Forwarding from 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$pf_log" | head -n 1)
    [[ -n $port ]] && break
    kill -0 "$pf_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [[ -z $port ]]; then
    log "port-forward to service/$service failed:"
    sed 's/^/    /' "$pf_log" >&2
    kill "$pf_pid" 2>/dev/null
    wait "$pf_pid" 2>/dev/null
    rm -f "$pf_log"
    return 1
  fi
  node "$deploy_repo_root/scripts/deploy/smoke.mjs" --base-url "http://127.0.0.1:$port" "$@" >&2 || status=$?
  kill "$pf_pid" 2>/dev/null
  wait "$pf_pid" 2>/dev/null
  rm -f "$pf_log"
  return "$status"
}
