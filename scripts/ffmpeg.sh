#!/usr/bin/env bash
# Provides FFmpeg 8 (libavcodec 62) headers and libraries for the shim.
#
# Uses the system's FFmpeg when its libavcodec major is 62; otherwise builds Debian's
# FFmpeg 8 source package as a minimal shared build into a cached prefix outside the
# clone, and skips the build when that prefix is already complete.
#
# Prints one line on stdout at the end: the pkg-config search path the shim's build
# must use ("system" when the system's FFmpeg is used).
set -euo pipefail

FFMPEG_DEBIAN_VERSION="${LUMEN_FFMPEG_DEBIAN_VERSION:-7:8.1.2-2}"
NVCODEC_PACKAGE="libffmpeg-nvenc-dev"
CACHE_ROOT="${LUMEN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/lumen}"
JOBS="${LUMEN_BUILD_JOBS:-$(nproc)}"

log() { printf 'ffmpeg: %s\n' "$*" >&2; }
die() { printf 'ffmpeg: error: %s\n' "$*" >&2; exit 1; }

system_avcodec_major() {
  pkg-config --modversion libavcodec 2>/dev/null | cut -d. -f1 || true
}

if [ "$(system_avcodec_major)" = "62" ] && pkg-config --exists ffnvcodec 2>/dev/null; then
  log "using the system's libavcodec $(pkg-config --modversion libavcodec)"
  echo system
  exit 0
fi

# The components Lumen uses; the hash of this list names the cached prefix, so a change
# here rebuilds and an unchanged list reuses the cache.
CONFIGURE_FLAGS=(
  --disable-everything --disable-programs --disable-doc --disable-static --enable-shared
  --enable-gpl --enable-rpath --disable-autodetect --enable-pthreads
  --enable-libx264 --enable-libx265 --enable-libopus --enable-libaom --enable-libdav1d
  --enable-ffnvcodec --enable-nvenc --enable-cuda
  --enable-encoder=libx264,libx265,libaom_av1,libopus,h264_nvenc,hevc_nvenc,av1_nvenc
  --enable-decoder=h264,hevc,libdav1d,opus
  --enable-parser=h264,hevc,av1,opus
  --enable-bsf=h264_mp4toannexb,hevc_mp4toannexb
  --enable-swscale --enable-swresample
  --enable-avcodec --enable-avutil
  --disable-avformat --disable-avdevice --disable-avfilter
)
flags_hash=$(printf '%s\n' "$FFMPEG_DEBIAN_VERSION" "${CONFIGURE_FLAGS[@]}" | sha256sum | cut -c1-12)
upstream_version="${FFMPEG_DEBIAN_VERSION#*:}"; upstream_version="${upstream_version%-*}"
PREFIX="$CACHE_ROOT/ffmpeg-$upstream_version-$flags_hash"

if [ -f "$PREFIX/.complete" ]; then
  log "cached build at $PREFIX"
  echo "$PREFIX/lib/pkgconfig:$PREFIX/nvcodec/pkgconfig"
  exit 0
fi

command -v dpkg-source >/dev/null || die "dpkg-dev is missing: apt-get install dpkg-dev"

# A private apt state for Debian sid's sources, so the system's own lists and sources stay
# untouched. The mirror is the one this system already uses.
mirror=$(grep -hoE '^(URIs:|deb(-src)?)[[:space:]]+[^ ]+/debian/?( |$)' \
  /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
  | awk '{print $2}' | head -n1 || true)
[ -n "$mirror" ] || die "no Debian mirror found in /etc/apt/sources.list*: on a non-Debian system install FFmpeg 8 (libavcodec-dev 62) and $NVCODEC_PACKAGE from the system's packages"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -f "$keyring" ] || die "$keyring is missing: apt-get install debian-archive-keyring"

APT_DIR="$CACHE_ROOT/apt-sid"
mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/archives/partial"
cat > "$APT_DIR/sources.list" <<LIST
deb [signed-by=$keyring] $mirror sid main
deb-src [signed-by=$keyring] $mirror sid main
LIST
apt_opts=(
  -o "Dir::Etc::SourceList=$APT_DIR/sources.list" -o "Dir::Etc::SourceParts=-"
  -o "Dir::State::Lists=$APT_DIR/lists" -o "Dir::Cache::Archives=$APT_DIR/archives"
  -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=" -o "APT::Sandbox::User=root"
)
log "reading Debian sid's package index (private list in $APT_DIR)"
apt-get "${apt_opts[@]}" -qq update >&2

available=$(apt-cache "${apt_opts[@]}" showsrc ffmpeg 2>/dev/null | awk '/^Version:/{print $2}' | sort -u)
if ! grep -qxF "$FFMPEG_DEBIAN_VERSION" <<<"$available"; then
  die "Debian sid no longer has ffmpeg $FFMPEG_DEBIAN_VERSION (it has: $(echo $available)). Install FFmpeg 8 development packages (libavcodec-dev 62) from your distribution, or set LUMEN_FFMPEG_DEBIAN_VERSION to an 8.x version listed here."
fi

BUILD_DIR=$(mktemp -d "$CACHE_ROOT/build.XXXXXX")
trap 'rm -rf "$BUILD_DIR"' EXIT
STAGE="$PREFIX.partial"
rm -rf "$STAGE"; mkdir -p "$STAGE"

log "fetching nv-codec-headers ($NVCODEC_PACKAGE from sid)"
(cd "$BUILD_DIR" && apt-get "${apt_opts[@]}" -qq download "$NVCODEC_PACKAGE" >&2)
dpkg -x "$BUILD_DIR"/${NVCODEC_PACKAGE}_*.deb "$BUILD_DIR/nvcodec-root"
mkdir -p "$STAGE/nvcodec/pkgconfig"
cp -r "$BUILD_DIR/nvcodec-root/usr/include" "$STAGE/nvcodec/include"
pc=$(find "$BUILD_DIR/nvcodec-root" -name ffnvcodec.pc | head -n1)
[ -n "$pc" ] || die "$NVCODEC_PACKAGE has no ffnvcodec.pc"
sed -e "s|^prefix=.*|prefix=$PREFIX/nvcodec|" -e "s|^includedir=.*|includedir=$PREFIX/nvcodec/include|" \
  "$pc" > "$STAGE/nvcodec/pkgconfig/ffnvcodec.pc"
# configure runs before the prefix is renamed into place, so point it at the staged copy
sed "s|$PREFIX/nvcodec|$STAGE/nvcodec|g" "$STAGE/nvcodec/pkgconfig/ffnvcodec.pc" > "$BUILD_DIR/ffnvcodec.pc"

log "fetching the ffmpeg $FFMPEG_DEBIAN_VERSION source package"
(cd "$BUILD_DIR" && apt-get "${apt_opts[@]}" -qq source "ffmpeg=$FFMPEG_DEBIAN_VERSION" >&2)
src=$(find "$BUILD_DIR" -maxdepth 1 -type d -name "ffmpeg-*" | head -n1)
[ -n "$src" ] || die "the ffmpeg source package did not unpack"

log "configuring (minimal shared build) into $PREFIX"
(cd "$src" && PKG_CONFIG_PATH="$BUILD_DIR" ./configure --prefix="$PREFIX" "${CONFIGURE_FLAGS[@]}" >"$BUILD_DIR/configure.log" 2>&1) \
  || { tail -n 30 "$BUILD_DIR/configure.log" >&2; tail -n 30 "$src/ffbuild/config.log" >&2; die "configure failed"; }
log "building with $JOBS jobs"
make -C "$src" -j"$JOBS" >"$BUILD_DIR/make.log" 2>&1 || { tail -n 40 "$BUILD_DIR/make.log" >&2; die "make failed"; }
make -C "$src" install DESTDIR="$STAGE.root" >"$BUILD_DIR/install.log" 2>&1 || { tail -n 20 "$BUILD_DIR/install.log" >&2; die "make install failed"; }
cp -a "$STAGE.root$PREFIX"/. "$STAGE"/
rm -rf "$STAGE.root"
rm -rf "$PREFIX"; mv "$STAGE" "$PREFIX"
date -u +%FT%TZ > "$PREFIX/.complete"
log "built libavcodec $(PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig" pkg-config --modversion libavcodec) into $PREFIX"
echo "$PREFIX/lib/pkgconfig:$PREFIX/nvcodec/pkgconfig"
