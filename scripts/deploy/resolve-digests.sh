#!/usr/bin/env bash
# Prints the --image arguments that pin every image of a release by digest, one argument per line (for
# `mapfile`), from the registry the images workflow pushes to:
#
#   bash scripts/deploy/resolve-digests.sh ghcr.io/acme/rag-system sha-<commit>
#   --image
#   gateway=ghcr.io/acme/rag-system/gateway@sha256:...
#   ...
#
# A tag can be moved; a digest cannot, so what staging tested is exactly what production gets. Needs
# `docker buildx` (logged in to the registry). Fails when an image of the release is missing.
set -euo pipefail
# shellcheck source=scripts/deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -eq 2 ]] || die "usage: resolve-digests.sh REGISTRY TAG"
registry=$1 tag=$2
[[ $tag != latest ]] || die "the latest tag is not a release"
for image in "${deploy_apps[@]}" embedding-service-cuda; do
  ref="$registry/$image:$tag"
  manifest=$(docker buildx imagetools inspect "$ref" --format '{{json .Manifest}}') || die "no image $ref"
  digest=$(node -e 'const m = JSON.parse(process.argv[1]); if (!/^sha256:[0-9a-f]{64}$/.test(m.digest)) process.exit(1); console.log(m.digest)' "$manifest") ||
    die "no digest for $ref"
  printf -- '--image\n%s=%s/%s@%s\n' "$image" "$registry" "$image" "$digest"
done
