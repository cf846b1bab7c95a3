#!/bin/sh
# Installs Debian's chromium for the browser tests (tests/e2e/browser), and a CJK font so that
# screenshots of the Chinese pages are legible; each only when missing. Playwright drives
# chromium through executable_path; no browser is ever downloaded by Playwright itself.
set -eu
missing=""
[ -x /usr/bin/chromium ] || missing="chromium"
[ -d /usr/share/fonts/opentype/noto ] || missing="$missing fonts-noto-cjk"
[ -z "$missing" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-browser: missing $missing and apt-get is not available; install them by hand" >&2
    exit 1
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
# shellcheck disable=SC2086  # the list is meant to split
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
