#!/usr/bin/env bash
# Install the Debian packages the tests drive (Xvfb, xdotool...) when they are missing and we may.
set -euo pipefail
list="${1:-$(dirname "$0")/../requirements/apt.txt}"
[ -f "$list" ] || exit 0
missing=()
while read -r pkg; do
  case "$pkg" in ""|"#"*) continue ;; esac
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done < "$list"
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing system packages: ${missing[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "note: missing system packages (${missing[*]}); the desktop tests that need them will skip" >&2
fi
