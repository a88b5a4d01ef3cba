#!/usr/bin/env bash
# Installs what the integration and end-to-end tests need (Debian/Raspberry Pi OS):
# containerd + runc, the CNI plugins, iptables, busybox-static (the test image is
# built from it), docker-registry (pull tests), iproute2 and util-linux (nsenter);
# for the fleet tests: ansible, ansible-lint and yamllint, the image tools
# flash.yml is tested with (parted, fdisk, dosfstools, mtools, e2fsprogs),
# debootstrap (throwaway hosts for site.yml) and qemu-user-static (the arm64 check).
# Then the emulated ARM check's Node.js binaries and Debian libraries, cached
# (scripts/fetch-arm-runtimes.sh), so the tests themselves download nothing.
# Idempotent and quick when everything is present. Never starts a daemon: the
# tests start their own containerd and registry in temporary directories.
set -euo pipefail

PACKAGES=(containerd runc containernetworking-plugins iptables busybox-static docker-registry iproute2 util-linux
  ansible ansible-lint yamllint parted fdisk dosfstools mtools e2fsprogs debootstrap qemu-user-static)
CNI_SRC=/usr/lib/cni
CNI_DST=/opt/cni/bin

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else echo "install-test-deps: must run as root (or with sudo) to run: $*" >&2; exit 1
  fi
}

missing=()
for p in "${PACKAGES[@]}"; do
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" != "install ok installed" ]; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-test-deps: apt-get is required to install: ${missing[*]}" >&2
    exit 1
  fi
  echo "install-test-deps: installing ${missing[*]}"
  # Package scripts must not start containerd or the registry as services.
  policy_created=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    as_root sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d && chmod 0755 /usr/sbin/policy-rc.d'
    policy_created=1
  fi
  cleanup() { if [ "$policy_created" -eq 1 ]; then as_root rm -f /usr/sbin/policy-rc.d; fi; }
  trap cleanup EXIT
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Tools and docs often expect plugins in /opt/cni/bin; Debian installs them in /usr/lib/cni.
if [ -d "$CNI_SRC" ]; then
  need_link=0
  for plugin in "$CNI_SRC"/*; do
    [ -e "$CNI_DST/$(basename "$plugin")" ] || need_link=1
  done
  if [ "$need_link" -eq 1 ]; then
    as_root mkdir -p "$CNI_DST"
    for plugin in "$CNI_SRC"/*; do
      name=$(basename "$plugin")
      [ -e "$CNI_DST/$name" ] || as_root ln -s "$plugin" "$CNI_DST/$name"
    done
  fi
fi

for bin in ctr containerd runc nsenter ip iptables docker-registry /bin/busybox "$CNI_SRC/bridge" "$CNI_SRC/host-local"; do
  if ! command -v "$bin" >/dev/null 2>&1 && [ ! -x "$bin" ]; then
    echo "install-test-deps: $bin must be installed: it is still missing" >&2
    exit 1
  fi
done

# Node.js and the C libraries for arm64 and armhf under qemu-user (cached; quick when present),
# unless the emulated ARM check is turned off (hardware-tests/README.md).
case "${BRAMBLE_SKIP_EMULATED_ARM:-}" in
  1|true) echo "install-test-deps: BRAMBLE_SKIP_EMULATED_ARM=${BRAMBLE_SKIP_EMULATED_ARM}: not fetching the ARM runtimes" ;;
  *) as_root env BRAMBLE_ARM_CACHE="${BRAMBLE_ARM_CACHE:-/var/cache/bramble-test}" bash "$(dirname "${BASH_SOURCE[0]}")/fetch-arm-runtimes.sh" ;;
esac
