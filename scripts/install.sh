#!/usr/bin/env bash
# Installs what Bramble needs on a fresh Debian 12 / Raspberry Pi OS (bookworm)
# machine and starts a one-board cluster: `bramble server` with its embedded
# store and a local agent. Run as root from a checkout: sudo scripts/install.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "scripts/install.sh must run as root (it installs packages and runs containers): sudo $0" >&2
  exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "Bramble needs Node.js 20 or newer (found: $(node -v 2>/dev/null || echo none)). Install it, then run this again." >&2
  exit 1
fi

# containerd, runc, CNI plugins, iptables (shared with the test suite).
bash scripts/install-test-deps.sh

npm ci --no-audit --no-fund
npm run build

# containerd: through systemd where there is one, otherwise as a background daemon.
if ! ctr --address /run/containerd/containerd.sock version >/dev/null 2>&1; then
  if command -v systemctl >/dev/null 2>&1 && systemctl list-units >/dev/null 2>&1; then
    systemctl enable --now containerd
  else
    mkdir -p /var/log/bramble
    nohup containerd >/var/log/bramble/containerd.log 2>&1 &
  fi
  for _ in $(seq 1 50); do
    ctr --address /run/containerd/containerd.sock version >/dev/null 2>&1 && break
    sleep 0.2
  done
fi

echo "Starting bramble server (gRPC :7443, HTTP :7080). Credentials: /var/lib/bramble/admin.conf"
exec bin/bramble.js server "$@"
