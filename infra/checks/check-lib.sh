# Shared by the check scripts (source it after `cd "$repo_root"`): one ok/FAIL line per check, a scratch
# folder for logs, and the Python tools both Kubernetes and compose checks use.

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
failed=0
pass() { echo "$1: ok"; }
# fail NAME LOG: reports the check and shows its log, indented.
fail() {
  echo "$1: FAIL"
  [[ -s "$2" ]] && sed 's/^/    /' "$2"
  failed=1
}

# kubernetes-validate (and the PyYAML it brings) in .venv/k8s-tools; prints the venv's bin folder.
k8s_tools() {
  bash scripts/python-venv.sh k8s-tools kubernetes-validate==1.37.0 >&2 || return 1
  echo "$repo_root/.venv/k8s-tools/bin"
}
