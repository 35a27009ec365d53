#!/usr/bin/env bash
# Build the widget image on this machine (releases are built by GitHub Actions).
set -euo pipefail
cd "$(dirname "$0")/.."
docker build -t acme/widget:dev .
