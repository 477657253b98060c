#!/usr/bin/env bash
# Packs what the NVIDIA GPU machine (Ubuntu 24.04 image: no Node, no FFmpeg, no registry) needs
# to run Lumen's GPU checks into .device/ (ignored through .git/info/exclude; never committed):
#   node.xz          this box's node binary, xz-compressed
#   ffmpeg.tar.xz    the FFmpeg 8 prefix, unpacked at the same absolute path (the shim's rpath)
#   rtlibs.tar.xz    the shim's runtime libraries the image may lack (glvnd loaders included)
#   modules.tar.xz   production node_modules (npm ci --omit=dev in a temp copy)
#   app.tar.xz       dist/ and libs/build/liblumen.so
#   run.sh           unpacks all of it on the device and runs a command there
# Usage: scripts/device-bundle.sh            (then `run` with carry [".device"] and
#        command "bash .device/run.sh <command>")
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=.device
exclude=$(git rev-parse --git-path info/exclude) # a worktree's .git is a file
mkdir -p "$out" "$(dirname "$exclude")"
grep -qx '/.device/' "$exclude" 2>/dev/null || echo '/.device/' >>"$exclude"

ffmpeg_prefix=$(sed -n 's/^FFMPEG_PKG_CONFIG_PATH := \([^:]*\)\/lib\/pkgconfig.*/\1/p' libs/build/config.mk)
[ -d "$ffmpeg_prefix/lib" ] || { echo "device-bundle: no FFmpeg prefix in libs/build/config.mk (run scripts/install.sh)" >&2; exit 1; }

npm run build --silent
make -C libs --silent

if [ ! -s "$out/node.xz" ] || [ "$(readlink -f "$(command -v node)")" -nt "$out/node.xz" ]; then
  xz -T2 -9 -c "$(readlink -f "$(command -v node)")" >"$out/node.xz.tmp" && mv "$out/node.xz.tmp" "$out/node.xz"
fi

if [ ! -s "$out/ffmpeg.tar.xz" ]; then
  tar -C / -cJf "$out/ffmpeg.tar.xz" "${ffmpeg_prefix#/}/lib"
fi

# runtime libraries: every non-glibc dependency of the shim, plus the glvnd loaders
libdir=$(mktemp -d)
skip='^(linux-vdso|ld-linux|libc\.so|libm\.so|libpthread|libdl\.so|librt\.so|libgcc_s|libstdc\+\+|libav|libsw)'
ldd libs/build/liblumen.so | awk '$3 ~ /^\// {print $1, $3}' | while read -r name path; do
  if ! [[ $name =~ $skip ]]; then cp -L "$path" "$libdir/$name"; fi
done
for l in libEGL.so.1 libGLdispatch.so.0 libOpenGL.so.0 libGLESv2.so.2 libGLX.so.0 libGL.so.1; do
  [ -e "/usr/lib/x86_64-linux-gnu/$l" ] && cp -L "/usr/lib/x86_64-linux-gnu/$l" "$libdir/$l"
done
tar -C "$libdir" -cJf "$out/rtlibs.tar.xz" .
rm -rf "$libdir"

if [ ! -s "$out/modules.tar.xz" ] || [ package-lock.json -nt "$out/modules.tar.xz" ]; then
  tmp=$(mktemp -d)
  cp package.json package-lock.json "$tmp/"
  (cd "$tmp" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --silent)
  tar -C "$tmp" -cJf "$out/modules.tar.xz" node_modules
  rm -rf "$tmp"
fi

tar -cJf "$out/app.tar.xz" dist libs/build/liblumen.so

cat >"$out/run.sh" <<EOF
#!/usr/bin/env bash
# On the GPU machine, in the repository root: unpack the bundle, then run "\$@".
set -e
b=\$(dirname "\$0")
if [ ! -x /opt/lumen/bin/node ]; then
  mkdir -p /opt/lumen/bin /opt/lumen/lib
  xz -dc "\$b/node.xz" >/opt/lumen/bin/node && chmod +x /opt/lumen/bin/node
  tar -C / -xJf "\$b/ffmpeg.tar.xz"
  tar -C /opt/lumen/lib -xJf "\$b/rtlibs.tar.xz"
fi
[ -d node_modules ] || tar -xJf "\$b/modules.tar.xz"
tar -xJf "\$b/app.tar.xz"
export PATH=/opt/lumen/bin:\$PATH
export LD_LIBRARY_PATH=/opt/lumen/lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}
for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do [ -d "\$d" ] && LD_LIBRARY_PATH=\$LD_LIBRARY_PATH:\$d; done
if [ -z "\${__EGL_VENDOR_LIBRARY_FILENAMES:-}" ]; then
  for j in /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json /usr/share/glvnd/egl_vendor.d/10_nvidia.json; do
    [ -f "\$j" ] && export __EGL_VENDOR_LIBRARY_FILENAMES=\$j && break
  done
fi
"\$@"
EOF
chmod +x "$out/run.sh"
du -cb "$out"/node.xz "$out"/*.tar.xz "$out/run.sh" | tail -1 | awk '{printf "device-bundle: %.1f MiB in .device/\n", $1 / 1048576}'
