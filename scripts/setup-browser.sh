#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (/usr/bin/chromium) with Playwright: never a
# downloaded browser. Installed here when missing (needs root and apt-get); one clear line otherwise.
set -euo pipefail
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
[ -x "$CHROMIUM" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "setup: installing Debian's chromium for the browser tests"
  mkdir -p .cache
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >.cache/setup-apt.log 2>&1 \
    || { echo "setup: apt-get could not install chromium (see .cache/setup-apt.log): is the Debian mirror reachable?" >&2; exit 1; }
  exit 0
fi
echo "setup: $CHROMIUM not found: install Debian's chromium (sudo apt-get install chromium) or set CHROMIUM=/path/to/chromium" >&2
exit 1
