#!/usr/bin/env bash
# Make sure Debian's Chromium is installed for the browser tests (make test calls this).
# Playwright drives it via /usr/bin/chromium; its own browser download is not used.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium is missing: install Debian's 'chromium' package (the browser tests need it)" >&2
  exit 1
fi
echo "installing Debian's chromium for the browser tests ..."
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
command -v chromium
