#!/usr/bin/env bash
# Installs the Debian packages the test suite uses for real: Chromium (dashboard tests, driven by Playwright
# without downloading a browser), CUPS (the cups:// transport against a private cupsd), socat, a monospace
# font for the receipt emulator, a CJK font for text no code page has, and Mosquitto (the MQTT tests start a
# private broker on a free 127.0.0.1 port). Only what is missing is installed;
# without root or apt it says what to install.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v cupsd >/dev/null 2>&1 || [ -x /usr/sbin/cupsd ] || need+=(cups)
command -v lp >/dev/null 2>&1 || need+=(cups-client)
command -v socat >/dev/null 2>&1 || need+=(socat)
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
# systemd-analyze verifies the generated unit (tests/service); Debian ships it in the systemd package.
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf ] || need+=(fonts-dejavu-core)
[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need+=(fonts-wqy-microhei)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-system-deps: please install: ${need[*]} (tests that need them will be skipped)" >&2
  exit 0
fi
echo "install-system-deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
