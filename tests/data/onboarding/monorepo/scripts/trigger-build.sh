#!/usr/bin/env bash
# Ask GitHub Actions to build the images of a branch.
set -euo pipefail
branch="${1:-main}"
gh workflow run images.yml --ref "$branch"
