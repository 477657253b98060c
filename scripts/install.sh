#!/usr/bin/env bash
# Installs everything Lumen needs on a fresh Debian 12 or Ubuntu 26.04 box: system
# packages, npm packages, FFmpeg 8 where the system lacks it, the native shim, and the
# compiled TypeScript. Safe to run again: every step skips itself when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."

# bold only on a terminal: a CI log or a file gets the plain text
if [ -t 2 ]; then log() { printf '\033[1minstall:\033[0m %s\n' "$*" >&2; }; else log() { printf 'install: %s\n' "$*" >&2; }; fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "install: run as root, or install sudo" >&2; exit 1; }
  SUDO="sudo"
fi

# Build tools, the libraries the shim links, and the real parts the tests use
# (Xvfb, PipeWire + GStreamer for capture, Mesa's software GL for the GPU pattern check, nftables + iproute2 for emulated links, systemd-analyze for the user unit, setpriv for the second-user test).
APT_PACKAGES=(
  build-essential pkg-config nasm dpkg-dev xz-utils ca-certificates debian-archive-keyring
  libx264-dev libx265-dev libopus-dev libaom-dev libdav1d-dev
  libenet-dev libegl-dev libgl-dev libgles-dev libgbm-dev libdrm-dev
  libx11-dev libxext-dev libxtst-dev libpipewire-0.3-dev
  xvfb x11-utils pipewire wireplumber gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-pipewire
  nftables iproute2 librsvg2-bin libssl-dev util-linux systemd
  libdbus-1-dev sway xdg-desktop-portal weston meson ninja-build libinih-dev libwayland-dev wayland-protocols libsystemd-dev
  libxkbcommon-dev libegl-mesa0 libgl1-mesa-dri
)

stamp_dir="${XDG_CACHE_HOME:-$HOME/.cache}/lumen"
mkdir -p "$stamp_dir"
apt_stamp="$stamp_dir/apt-$(printf '%s\n' "${APT_PACKAGES[@]}" | sha256sum | cut -c1-12)"
if [ ! -f "$apt_stamp" ] || ! dpkg -s "${APT_PACKAGES[@]}" >/dev/null 2>&1; then
  log "system packages"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${APT_PACKAGES[@]}" >/dev/null
  # Where the distribution already ships FFmpeg 8 (libavcodec 62), use its packages.
  if apt-cache policy libavcodec62 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    log "the distribution ships libavcodec 62: installing its development packages"
    $SUDO apt-get install -y -qq --no-install-recommends \
      libavcodec-dev libavutil-dev libswscale-dev libswresample-dev libffmpeg-nvenc-dev >/dev/null
  fi
  touch "$apt_stamp"
else
  log "system packages: up to date"
fi

log "npm packages"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

log "FFmpeg 8"
ffmpeg_path=$(bash scripts/ffmpeg.sh)
mkdir -p libs/build
config="FFMPEG_PKG_CONFIG_PATH := $ffmpeg_path"
[ "$(cat libs/build/config.mk 2>/dev/null)" = "$config" ] || echo "$config" > libs/build/config.mk

log "xdg-desktop-portal-wlr for the ScreenCast portal test"
bash scripts/xdpw.sh >/dev/null || log "xdg-desktop-portal-wlr not built (the reason is above): the portal test will skip"

log "native shim"
make -s -C libs -j"$(nproc)"

log "TypeScript"
npm run --silent build

log "done: $(node bin/run.js --version 2>/dev/null || echo lumen)"
