#!/usr/bin/env bash
# Tag a release; the release workflow builds and pushes the image.
set -euo pipefail
version="${1:?usage: release.sh X.Y.Z}"
git tag -a "v${version}" -m "widget ${version}"
echo "now push the tag: git push origin v${version}"
