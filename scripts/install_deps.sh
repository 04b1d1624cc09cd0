#!/usr/bin/env bash
# Installs what glm-agent needs to build and test on Debian 12, only what is missing.
# Debian packages via apt-get (as root, or through sudo); Python packages into .venv, pinned.
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(build-essential cmake ninja-build pkg-config git
      libboost1.81-dev liblua5.4-dev nlohmann-json3-dev libcurl4-openssl-dev libre2-dev
      libgtest-dev libgmock-dev libbenchmark-dev
      python3 python3-venv python3-pip python3-torch python3-numpy)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install_deps: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The project's virtualenv: Debian's python3 with its site packages (python3-torch), plus pinned PyPI
# packages that tests and benchmarks compare against. Rebuilt when requirements.txt changes.
if [ ! -f .venv/.stamp ] || ! cmp -s requirements.txt .venv/.stamp; then
  echo "install_deps: preparing .venv" >&2
  /usr/bin/python3 -m venv --system-site-packages .venv
  if .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt; then
    cp requirements.txt .venv/.stamp
  else
    echo "install_deps: warning: PyPI packages could not be installed; peer benchmarks will be skipped" >&2
  fi
fi
