#!/usr/bin/env bash
# Validates docker/compose.yaml without a container engine:
#   1. `docker-compose config -q` (Debian's docker-compose 1.29, installed with apt-get when missing; the
#      `docker compose` plugin is used instead where it exists) with the placeholders of docker/.env.example;
#   2. the same without any env file must fail: every secret is required from docker/.env;
#   3. policy on the resolved file: pinned image tags, a health check on every long-running service, start
#      order through `condition: service_healthy` (`service_completed_successfully` for one-shot services,
#      `restart: "no"`), the apps built from docker/<app>.Dockerfile with the repository root as context, no
#      secret written into compose.yaml itself; the gateway and the worker on the same object storage, not
#      local disk, in a bucket that a one-shot service both wait for creates;
#   4. infra/prometheus/prometheus.yml scrapes the four services and loads rules/*.yml (and passes
#      `promtool check config` where promtool is installed); the Grafana provisioning files parse and point
#      at the dashboards folder.
# One line per check; exits 1 if any fails.
set -uo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"

compose_file=docker/compose.yaml
env_example=docker/.env.example

if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
  compose=(docker-compose)
else
  echo "compose: installing Debian's docker-compose" >&2
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq >/dev/null &&
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq docker-compose >/dev/null ||
    { echo "compose: could not install docker-compose" >&2; exit 1; }
  compose=(docker-compose)
fi

# shellcheck source=infra/checks/check-lib.sh
source infra/checks/check-lib.sh
# PyYAML for the policy checks, from the same virtual environment as infra/checks/kustomize.sh.
python="$(k8s_tools)/python" || exit 1


version="$("${compose[@]}" version --short 2>/dev/null || "${compose[@]}" version 2>/dev/null | head -1)"
if "${compose[@]}" --env-file "$env_example" -f "$compose_file" config -q >"$out/config.log" 2>&1; then
  pass "compose config ($(echo "${compose[*]}" | tr -d '\n') $version)"
else
  fail "compose config" "$out/config.log"
fi

# An empty env file stands in for a missing docker/.env (a real one on this machine must not mask the check).
: >"$out/empty.env"
if "${compose[@]}" --env-file "$out/empty.env" -f "$compose_file" config -q >"$out/no-env.log" 2>&1; then
  echo "the file resolved although no secret was set" >"$out/no-env.log"
  fail "compose secrets required" "$out/no-env.log"
elif grep -q 'docker/.env' "$out/no-env.log"; then
  pass "compose secrets required"
else
  fail "compose secrets required" "$out/no-env.log"
fi

"${compose[@]}" --env-file "$env_example" -f "$compose_file" config >"$out/resolved.yaml" 2>/dev/null
if "$python" - "$out/resolved.yaml" "$compose_file" >"$out/policy.log" 2>&1 <<'PY'
import re, sys, yaml

resolved = yaml.safe_load(open(sys.argv[1]))
raw_text = open(sys.argv[2]).read()
problems = []
services = resolved.get("services") or {}
apps = {"gateway", "embedding-service", "search-service", "ingest-worker"}
expected = apps | {"postgres", "redis", "etcd", "minio", "milvus", "prometheus", "grafana"}
for name in sorted(expected - services.keys()):
    problems.append(f"service {name} is missing")
# One-shot services (bucket creation and the like) run to completion: no health check, and whoever needs them
# waits for their success rather than their health.
one_shot = {name for name, svc in services.items() if str(svc.get("restart")) == "no"}
for name, svc in sorted(services.items()):
    image = svc.get("image", "")
    last = image.rsplit("/", 1)[-1]
    if "@sha256:" not in image and (":" not in last or last.endswith(":latest")):
        problems.append(f"{name}: image {image!r} is not pinned to a tag")
    if name not in one_shot and not (svc.get("healthcheck") or {}).get("test"):
        problems.append(f"{name}: no healthcheck")
    depends = svc.get("depends_on") or {}
    if isinstance(depends, list):
        problems.append(f"{name}: depends_on without conditions")
    else:
        for dep, spec in depends.items():
            wanted = "service_completed_successfully" if dep in one_shot else "service_healthy"
            if (spec or {}).get("condition") != wanted:
                problems.append(f"{name}: depends_on {dep} is not condition: {wanted}")
    if name in apps:
        build = svc.get("build") or {}
        if build.get("dockerfile") != f"docker/{name}.Dockerfile":
            problems.append(f"{name}: not built from docker/{name}.Dockerfile")
        if not image.startswith(f"rag/{name}:"):
            problems.append(f"{name}: image is not rag/{name}:<tag>")
        if not svc.get("read_only") or "ALL" not in (svc.get("cap_drop") or []):
            problems.append(f"{name}: not read_only with cap_drop ALL")
# Uploads go from the gateway to the worker through object storage: both need the same settings, and local disk
# is neither shared between the two containers nor writable on their read-only root filesystems.
storage = {}
for name in ("gateway", "ingest-worker"):
    env = (services.get(name) or {}).get("environment") or {}
    storage[name] = {k: str(v) for k, v in env.items() if k == "STORAGE_DRIVER" or k == "STORAGE_ROOT" or k.startswith("S3_")}
    if storage[name].get("STORAGE_DRIVER", "local") == "local":
        problems.append(f"{name}: STORAGE_DRIVER is local; uploads must go to object storage (s3)")
if storage["gateway"] != storage["ingest-worker"]:
    keys = sorted(k for k in storage["gateway"].keys() | storage["ingest-worker"].keys()
                  if storage["gateway"].get(k) != storage["ingest-worker"].get(k))
    problems.append(f"gateway and ingest-worker differ in their storage settings: {', '.join(keys)}")
def words(value):
    return [value] if isinstance(value, str) else list(value or [])
bucket = storage["gateway"].get("S3_BUCKET")
for name in ("gateway", "ingest-worker"):
    depends = (services.get(name) or {}).get("depends_on") or {}
    creators = [d for d in depends if d in one_shot and any(
        bucket in part for part in words(services[d].get("entrypoint")) + words(services[d].get("command")))]
    if bucket and not creators:
        problems.append(f"{name}: no one-shot service it waits for creates the bucket {bucket}")
# The web console ships in the gateway image; the gateway serves it when CONSOLE_DIR names it.
console_dir = ((services.get("gateway") or {}).get("environment") or {}).get("CONSOLE_DIR")
if console_dir != "/app/console":
    problems.append(f"gateway: CONSOLE_DIR is {console_dir!r}, not /app/console (the console in its image)")
# Secrets in compose.yaml itself must be ${...} references to docker/.env.
secretish = re.compile(r"(PASSWORD|SECRET|TOKEN|API_KEY|PEPPER|_AUTH)\b")
for number, line in enumerate(raw_text.splitlines(), 1):
    match = re.match(r"\s*([A-Z][A-Z0-9_]*):\s*(\S.*)$", line)
    if match and secretish.search(match.group(1)) and not match.group(2).startswith("${"):
        problems.append(f"compose.yaml:{number}: {match.group(1)} has a literal value")
for url in re.findall(r"\w+://[^\s'\"]*@", raw_text):
    if not re.search(r":\$\{[A-Z_]+:\?", url):
        problems.append(f"compose.yaml: URL with a literal credential: {url}")
for problem in problems:
    print(problem)
sys.exit(1 if problems else 0)
PY
then
  pass "compose policy"
else
  fail "compose policy" "$out/policy.log"
fi

# The build context must be the repository root (Dockerfiles copy the whole workspace).
context="$("$python" -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["services"]["gateway"]["build"]["context"])' "$out/resolved.yaml" 2>/dev/null)"
if [[ "$context" == "$repo_root" ]]; then
  pass "compose build context"
else
  echo "gateway build context is ${context:-unset}, expected $repo_root" >"$out/context.log"
  fail "compose build context" "$out/context.log"
fi

if "$python" - >"$out/monitoring.log" 2>&1 <<'PY'
import yaml
problems = []
prom = yaml.safe_load(open("infra/prometheus/prometheus.yml"))
if "rules/*.yml" not in (prom.get("rule_files") or []):
    problems.append("prometheus.yml does not load rules/*.yml")
targets = {t for job in prom.get("scrape_configs", []) for sc in job.get("static_configs", []) for t in sc.get("targets", [])}
# /metrics is served on each service's management port (PORT + 1000) only.
for target in ("gateway:9080", "embedding-service:9081", "search-service:9082", "ingest-worker:9083"):
    if target not in targets:
        problems.append(f"prometheus.yml does not scrape {target}")
ds = yaml.safe_load(open("infra/grafana/provisioning/datasources/prometheus.yaml"))
if not any(d.get("type") == "prometheus" and d.get("url") == "http://prometheus:9090" for d in ds.get("datasources", [])):
    problems.append("no Grafana data source for http://prometheus:9090")
dash = yaml.safe_load(open("infra/grafana/provisioning/dashboards/rag-system.yaml"))
if not any(p.get("options", {}).get("path") == "/var/lib/grafana/dashboards" for p in dash.get("providers", [])):
    problems.append("no Grafana dashboard provider for /var/lib/grafana/dashboards")
for problem in problems:
    print(problem)
raise SystemExit(1 if problems else 0)
PY
then
  pass "prometheus and grafana provisioning"
else
  fail "prometheus and grafana provisioning" "$out/monitoring.log"
fi

# promtool also loads rules/*.yml through prometheus.yml; infra/checks/alerts.sh installs it.
PATH="$PATH:$HOME/.local/bin"
if ! command -v promtool >/dev/null 2>&1; then
  echo "promtool check config: skipped (no promtool; bash infra/checks/alerts.sh installs it)"
elif promtool check config infra/prometheus/prometheus.yml >"$out/promtool.log" 2>&1; then
  pass "promtool check config"
else
  fail "promtool check config" "$out/promtool.log"
fi

exit "$failed"
