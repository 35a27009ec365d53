#!/usr/bin/env bash
# Build every service image locally with Buildx.
set -euo pipefail
cd "$(dirname "$0")/.."
for svc in services/api services/worker web; do
  docker buildx build --load -t "ghcr.io/acme/platform-$(basename "$svc"):dev" "$svc"
done
