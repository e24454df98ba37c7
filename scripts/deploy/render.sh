#!/usr/bin/env bash
# Prints the manifests a deploy would apply, without a cluster (what infra/checks/deploy.sh validates).
#
#   bash scripts/deploy/render.sh staging                          # the overlay, images as committed
#   bash scripts/deploy/render.sh prod release green --image gateway=ghcr.io/o/r/gateway@sha256:...
#   bash scripts/deploy/render.sh prod shared blue
set -euo pipefail
# shellcheck source=scripts/deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -ge 1 ]] || die "usage: render.sh OVERLAY [all|release|shared] [blue|green] [--image APP=REF]..."
overlay=$1
part=${2:-all}
color=${3:-}
shift $(($# < 3 ? $# : 3))
images=()
while [[ $# -gt 0 ]]; do
  case $1 in
  --image) images+=("${2:?--image needs APP=REF}") && shift 2 ;;
  *) die "unknown argument '$1'" ;;
  esac
done
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
resolve_images "" "" ${images[@]+"${images[@]}"}
render_overlay "$overlay" "$part" "$color" "$out" ${resolved[@]+"${resolved[@]}"}
cat "$out"
