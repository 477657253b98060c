#!/usr/bin/env bash
# Provides an xdg-desktop-portal-wlr (xdpw) that can screencast a compositor without a GPU, for
# the ScreenCast portal test (test/capture/portal.test.ts).
#
# Why a build: xdpw refuses a shared-memory-only cast. In start_screencast() it gives up with
# "unable to receive a valid format from wlr_screencopy" when the compositor speaks
# zwlr_screencopy v3 but offers no dma-buf format, which is exactly sway/wlroots with
# WLR_RENDERER=pixman on a box without /dev/dri. Debian 12 ships xdpw 0.7.0. Checked for a
# fixed release (to use the system's xdpw where it is new enough, e.g. on Ubuntu 26.04): upstream
# issue emersion/xdg-desktop-portal-wlr#289 ("unable to receive a valid format from
# wlr_screencopy" on pixman) is still open in the issue tracker, and 0.8.x is reported to
# require linux_dmabuf for its screencopy path outright; so no release is known to work here
# unpatched, and the system's copy is never used. This script builds the distribution's own xdpw source package with the
# dma-buf half of that one condition dropped (the SHM format is still required), into a
# cached prefix outside the clone, and skips itself when that prefix is already complete.
# Where the source no longer has that condition (0.8.x), it stops with a sentence saying so.
#
#   bash scripts/xdpw.sh           build when needed; prints the prefix on stdout
#   bash scripts/xdpw.sh --cached  prints the prefix only when already built (exit 1 otherwise)
#
# The binary is $PREFIX/libexec/xdg-desktop-portal-wlr.
set -euo pipefail

CACHE_ROOT="${LUMEN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/lumen}"
JOBS="${LUMEN_BUILD_JOBS:-$(nproc)}"

log() { printf 'xdpw: %s\n' "$*" >&2; }
die() { printf 'xdpw: error: %s\n' "$*" >&2; exit 1; }

# The distribution's version of the package (from the system's own package lists).
VERSION="${LUMEN_XDPW_VERSION:-$(apt-cache policy xdg-desktop-portal-wlr 2>/dev/null | awk '/Candidate:/{print $2}')}"
[ -n "$VERSION" ] && [ "$VERSION" != "(none)" ] \
  || die "this system's package lists have no xdg-desktop-portal-wlr (run apt-get update, or set LUMEN_XDPW_VERSION)"

# The one change: in the check after the first screencopy round trip, drop the clause that
# demands a dma-buf format when screencast_version >= 3.
PATCH_FILE="src/screencast/screencast.c"
PATCH_SED='/screencopy_frame_info\[WL_SHM\]\.format == DRM_FORMAT_INVALID ||$/{N;N;s/ ||\n[^\n]*screencast_version >= 3 &&\n[^\n]*screencopy_frame_info\[DMABUF\]\.format == DRM_FORMAT_INVALID)//}'
MESON_OPTIONS=(-Dsd-bus-provider=libsystemd -Dman-pages=disabled --buildtype=release)

hash=$(printf '%s\n' "$VERSION" "$PATCH_SED" "${MESON_OPTIONS[@]}" | sha256sum | cut -c1-12)
upstream="${VERSION#*:}"; upstream="${upstream%-*}"
PREFIX="$CACHE_ROOT/xdpw-$upstream-$hash"

if [ -f "$PREFIX/.complete" ]; then
  log "cached build at $PREFIX"
  echo "$PREFIX"
  exit 0
fi
[ "${1:-}" = "--cached" ] && { log "no complete build at $PREFIX (run scripts/xdpw.sh)"; exit 1; }

for tool in dpkg-source meson ninja; do
  command -v "$tool" >/dev/null || die "$tool is missing: run scripts/install.sh (it installs dpkg-dev, meson, ninja-build)"
done

# A private apt state with the source twin of every 'deb' entry this system already uses, so the
# system's own lists and sources stay untouched.
APT_DIR="$CACHE_ROOT/apt-src"
mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/archives/partial" "$APT_DIR/sources.list.d"
rm -f "$APT_DIR/sources.list.d/"*
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] && sed -E 's/^Types:.*/Types: deb-src/' "$f" > "$APT_DIR/sources.list.d/$(basename "$f")"
done
{ grep -hE '^deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true; } \
  | sed -E 's/^deb([[:space:]])/deb-src\1/' > "$APT_DIR/sources.list"
[ -s "$APT_DIR/sources.list" ] || ls "$APT_DIR/sources.list.d/"*.sources >/dev/null 2>&1 \
  || die "no apt sources found in /etc/apt/sources.list*: cannot fetch the xdg-desktop-portal-wlr source package"
apt_opts=(
  -o "Dir::Etc::SourceList=$APT_DIR/sources.list" -o "Dir::Etc::SourceParts=$APT_DIR/sources.list.d"
  -o "Dir::State::Lists=$APT_DIR/lists" -o "Dir::Cache::Archives=$APT_DIR/archives"
  -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=" -o "APT::Sandbox::User=root"
)
log "reading the distribution's source index (private lists in $APT_DIR)"
apt-get "${apt_opts[@]}" -qq update >&2

BUILD_DIR=$(mktemp -d "$CACHE_ROOT/xdpw-build.XXXXXX")
trap 'rm -rf "$BUILD_DIR"' EXIT
log "fetching the xdg-desktop-portal-wlr $VERSION source package"
(cd "$BUILD_DIR" && apt-get "${apt_opts[@]}" -qq source "xdg-desktop-portal-wlr=$VERSION" >&2) \
  || die "apt-get source xdg-desktop-portal-wlr=$VERSION failed (is the version still in the archive? LUMEN_XDPW_VERSION picks another)"
src=$(find "$BUILD_DIR" -maxdepth 1 -type d -name "xdg-desktop-portal-wlr-*" | head -n1)
[ -n "$src" ] || die "the xdg-desktop-portal-wlr source package did not unpack"

log "dropping the dma-buf requirement from $PATCH_FILE"
[ -f "$src/$PATCH_FILE" ] || die "$PATCH_FILE is not in xdg-desktop-portal-wlr $VERSION: this script knows the 0.7.x layout only"
sed -i "$PATCH_SED" "$src/$PATCH_FILE"
if grep -q 'screencopy_frame_info\[DMABUF\]\.format == DRM_FORMAT_INVALID' "$src/$PATCH_FILE"; then
  die "the dma-buf format check in $PATCH_FILE of xdg-desktop-portal-wlr $VERSION has another shape: the patch did not apply"
fi
grep -q 'screencopy_frame_info\[WL_SHM\]\.format == DRM_FORMAT_INVALID)' "$src/$PATCH_FILE" \
  || die "xdg-desktop-portal-wlr $VERSION has no SHM format check in $PATCH_FILE: this script knows the 0.7.x layout only"

STAGE="$PREFIX.partial"
rm -rf "$STAGE"
log "building (meson + ninja, $JOBS jobs) into $PREFIX"
meson setup "$BUILD_DIR/build" "$src" --prefix="$PREFIX" "${MESON_OPTIONS[@]}" >"$BUILD_DIR/meson.log" 2>&1 \
  || { tail -n 30 "$BUILD_DIR/meson.log" >&2; die "meson setup failed (build dependencies: run scripts/install.sh)"; }
ninja -C "$BUILD_DIR/build" -j"$JOBS" >"$BUILD_DIR/ninja.log" 2>&1 || { tail -n 30 "$BUILD_DIR/ninja.log" >&2; die "the build failed"; }
DESTDIR="$STAGE.root" meson install -C "$BUILD_DIR/build" >"$BUILD_DIR/install.log" 2>&1 \
  || { tail -n 20 "$BUILD_DIR/install.log" >&2; die "meson install failed"; }
mkdir -p "$STAGE"
cp -a "$STAGE.root$PREFIX"/. "$STAGE"/
rm -rf "$STAGE.root"
[ -x "$STAGE/libexec/xdg-desktop-portal-wlr" ] || die "the build installed no libexec/xdg-desktop-portal-wlr"
rm -rf "$PREFIX"; mv "$STAGE" "$PREFIX"
date -u +%FT%TZ > "$PREFIX/.complete"
log "built xdg-desktop-portal-wlr $VERSION (SHM-only casts allowed) into $PREFIX"
echo "$PREFIX"
