#!/usr/bin/env bash
# The browser test drives Debian's chromium: install it when it is absent (a fresh machine), as
# .ci/run installs what it needs. Never `playwright install` (no browser downloads here).
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
echo "== installing chromium (Debian package) for the browser test"
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
command -v chromium
