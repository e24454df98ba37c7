#!/usr/bin/env bash
# Renders every overlay with `kubectl kustomize`, validates each object offline against the Kubernetes
# OpenAPI schemas (PyPI's kubernetes-validate, strict: unknown fields fail) for the oldest and newest
# Kubernetes versions we support, then runs the policy checks (infra/checks/k8s-policy.py) and the quota check
# (infra/checks/k8s-quota.py: each namespace's ResourceQuota covers its pods at HPA maximum) and the autoscaling
# check (infra/checks/k8s-autoscaling.py: a recommending VPA for every Deployment) on the output.
# One line per check; exits 1 if any fails. Needs kubectl and python3; creates .venv/k8s-tools on first run.
#
#   bash infra/checks/kustomize.sh
#   K8S_VERSIONS="1.31.0" bash infra/checks/kustomize.sh
set -uo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"

# 1.30 is the floor: the manifests use the preStop `sleep` action and topology spread `matchLabelKeys`.
versions=(${K8S_VERSIONS:-1.30.0 1.37.0})
overlays=(dev staging prod prod-gpu)

command -v kubectl >/dev/null 2>&1 || { echo "kustomize: kubectl not found" >&2; exit 1; }
# shellcheck source=infra/checks/check-lib.sh
source infra/checks/check-lib.sh
venv="$(k8s_tools)" || exit 1


if "$venv/python" infra/checks/k8s-policy.py --self-test >"$out/self-test.log" 2>&1; then
  pass "policy self-test"
else
  fail "policy self-test" "$out/self-test.log"
fi

if "$venv/python" infra/checks/k8s-autoscaling.py --self-test >"$out/autoscaling-self-test.log" 2>&1; then
  pass "autoscaling self-test"
else
  fail "autoscaling self-test" "$out/autoscaling-self-test.log"
fi
if "$venv/python" infra/checks/k8s-quota.py --self-test >"$out/quota-self-test.log" 2>&1; then
  pass "quota self-test"
else
  fail "quota self-test" "$out/quota-self-test.log"
fi

for overlay in "${overlays[@]}"; do
  rendered="$out/$overlay.yaml"
  if ! kubectl kustomize "infra/overlays/$overlay" >"$rendered" 2>"$out/$overlay.err"; then
    fail "kustomize $overlay" "$out/$overlay.err"
    continue
  fi
  pass "kustomize $overlay ($(grep -c '^kind:' "$rendered") objects)"

  for version in "${versions[@]}"; do
    if "$venv/kubernetes-validate" --kubernetes-version "$version" --strict --quiet "$rendered" \
      >"$out/$overlay-$version.log" 2>&1; then
      pass "schema $overlay (Kubernetes $version)"
    else
      fail "schema $overlay (Kubernetes $version)" "$out/$overlay-$version.log"
    fi
  done

  if "$venv/python" infra/checks/k8s-policy.py "$rendered" >"$out/$overlay-policy.log" 2>&1; then
    pass "policy $overlay"
  else
    grep -v ': ok$' "$out/$overlay-policy.log" | sed "s|$out/||" >"$out/$overlay-policy.fail" || true
    fail "policy $overlay" "$out/$overlay-policy.fail"
  fi

  if "$venv/python" infra/checks/k8s-autoscaling.py "$rendered" >"$out/$overlay-autoscaling.log" 2>&1; then
    pass "autoscaling $overlay"
  else
    fail "autoscaling $overlay" "$out/$overlay-autoscaling.log"
  fi

  if "$venv/python" infra/checks/k8s-quota.py "$rendered" >"$out/$overlay-quota.log" 2>&1; then
    pass "quota $overlay"
  else
    grep FAIL "$out/$overlay-quota.log" | sed "s|$out/||" >"$out/$overlay-quota.fail" || true
    fail "quota $overlay" "$out/$overlay-quota.fail"
  fi

  # The web console ships in the gateway image (/app/console); the gateway serves it when CONSOLE_DIR says so.
  if "$venv/python" - "$rendered" >"$out/$overlay-console.log" 2>&1 <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
maps = {d["metadata"]["name"]: d.get("data") or {} for d in docs if d["kind"] == "ConfigMap"}
env = {}
for d in docs:
    if d["kind"] == "Deployment" and d["metadata"]["name"] == "gateway":
        for c in d["spec"]["template"]["spec"]["containers"]:
            if c["name"] != "gateway":
                continue
            for source in c.get("envFrom") or []:
                env.update(maps.get((source.get("configMapRef") or {}).get("name"), {}))
            env.update({e["name"]: e.get("value") for e in c.get("env") or [] if "value" in e})
if env.get("CONSOLE_DIR") != "/app/console":
    sys.exit(f"the gateway's CONSOLE_DIR is {env.get('CONSOLE_DIR')!r}, not /app/console (the console in its image)")
PY
  then
    pass "console $overlay"
  else
    fail "console $overlay" "$out/$overlay-console.log"
  fi
done

# The data layer of staging and production (infra/data/<env>): operator custom resources, which the schema
# check only warns about, checked for what the environment relies on by infra/checks/k8s-data.py.
if "$venv/python" infra/checks/k8s-data.py --self-test >"$out/data-self-test.log" 2>&1; then
  pass "data self-test"
else
  fail "data self-test" "$out/data-self-test.log"
fi
for env in staging prod; do
  if ! kubectl kustomize "infra/data/$env" >"$out/data-$env.yaml" 2>"$out/data-$env.err"; then
    fail "kustomize data/$env" "$out/data-$env.err"
    continue
  fi
  pass "kustomize data/$env ($(grep -c '^kind:' "$out/data-$env.yaml") objects)"
  if "$venv/kubernetes-validate" --kubernetes-version "${versions[-1]}" --strict --quiet "$out/data-$env.yaml" \
    >"$out/data-$env-schema.log" 2>&1 && "$venv/python" infra/checks/k8s-data.py "$out/data-$env.yaml" \
    >>"$out/data-$env-schema.log" 2>&1; then
    pass "data/$env custom resources"
  else
    grep -v 'WARN\|: ok$' "$out/data-$env-schema.log" >"$out/data-$env.fail" || true
    fail "data/$env custom resources" "$out/data-$env.fail"
  fi
done

# The log shipper (one per cluster, namespace logging): renders and matches the schemas. The policy check is
# for our services; Fluent Bit runs as root to read the node's log files. What its configuration does to our
# log lines is tested by tests/e2e/log-shipping.e2e.test.ts.
if kubectl kustomize infra/logging/fluent-bit >"$out/logging.yaml" 2>"$out/logging.err"; then
  pass "kustomize logging/fluent-bit ($(grep -c '^kind:' "$out/logging.yaml") objects)"
  for version in "${versions[@]}"; do
    if "$venv/kubernetes-validate" --kubernetes-version "$version" --strict --quiet "$out/logging.yaml" \
      >"$out/logging-$version.log" 2>&1; then
      pass "schema logging/fluent-bit (Kubernetes $version)"
    else
      fail "schema logging/fluent-bit (Kubernetes $version)" "$out/logging-$version.log"
    fi
  done
else
  fail "kustomize logging/fluent-bit" "$out/logging.err"
fi

# The prometheus-adapter values are Helm input, not Kubernetes objects: check that they parse and name the
# metrics the HPAs ask for.
adapter=infra/monitoring/prometheus-adapter-values.yaml
if "$venv/python" - "$adapter" >"$out/adapter.log" 2>&1 <<'PY'
import sys, yaml
rules = yaml.safe_load(open(sys.argv[1]))["rules"]
names = {r["name"]["as"] for r in rules.get("custom", []) + rules.get("external", [])}
missing = {"http_requests_per_second", "ingest_queue_depth"} - names
sys.exit(f"no adapter rule for {sorted(missing)}" if missing else 0)
PY
then
  pass "prometheus-adapter rules"
else
  fail "prometheus-adapter rules" "$out/adapter.log"
fi

exit "$failed"
