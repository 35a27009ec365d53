#!/usr/bin/env bash
# Show the latest image builds.
set -euo pipefail
gh run list --workflow images.yml --limit 5
