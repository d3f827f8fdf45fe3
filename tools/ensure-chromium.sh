#!/usr/bin/env sh
# The console's browser tests drive Debian's Chromium (/usr/bin/chromium) with Playwright;
# nothing downloads a browser of its own. `make test` (and so CI) installs it when missing.
set -eu
[ -x /usr/bin/chromium ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing chromium from the system packages (the console's browser tests) ..."
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
