#!/usr/bin/env bash
# Install the two peers locally, pinned; safe to run again (does nothing when up to date).
#   - @cloud-copilot/iam-simulate 0.1.173 into benches/peers/node_modules (package.json +
#     package-lock.json in this directory pin the exact version)
#   - principalmapper 1.1.5 into the virtualenv benches/peers/.venv
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
IAM_SIMULATE_VERSION="0.1.173"
PMAPPER_VERSION="1.1.5"
PYTHON="${PYTHON:-python3}"

cd "$HERE"

# ---- npm peer ---------------------------------------------------------------------------
installed_npm_version() {
  local pkg="$HERE/node_modules/@cloud-copilot/iam-simulate/package.json"
  [ -f "$pkg" ] && node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).version)' "$pkg"
}

if [ "$(installed_npm_version || true)" = "$IAM_SIMULATE_VERSION" ]; then
  echo "install.sh: @cloud-copilot/iam-simulate $IAM_SIMULATE_VERSION already installed"
else
  if [ -f "$HERE/package-lock.json" ]; then
    # Reproducible install from the lock file.
    npm ci --prefix "$HERE" --no-audit --no-fund
  else
    npm install --prefix "$HERE" --save-exact --no-audit --no-fund \
      "@cloud-copilot/iam-simulate@$IAM_SIMULATE_VERSION"
  fi
  [ "$(installed_npm_version)" = "$IAM_SIMULATE_VERSION" ] || {
    echo "install.sh: expected @cloud-copilot/iam-simulate $IAM_SIMULATE_VERSION, got $(installed_npm_version)" >&2
    exit 1
  }
fi

# ---- PyPI peer --------------------------------------------------------------------------
installed_pmapper_version() {
  [ -x "$HERE/.venv/bin/python" ] &&
    "$HERE/.venv/bin/python" -c 'import importlib.metadata as m; print(m.version("principalmapper"))' 2>/dev/null
}

if [ "$(installed_pmapper_version || true)" = "$PMAPPER_VERSION" ]; then
  echo "install.sh: principalmapper $PMAPPER_VERSION already installed in .venv"
else
  [ -x "$HERE/.venv/bin/python" ] || "$PYTHON" -m venv "$HERE/.venv"
  "$HERE/.venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "principalmapper==$PMAPPER_VERSION"
  [ "$(installed_pmapper_version)" = "$PMAPPER_VERSION" ] || {
    echo "install.sh: expected principalmapper $PMAPPER_VERSION" >&2
    exit 1
  }
fi

echo "install.sh: peers ready"
