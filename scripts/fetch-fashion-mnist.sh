#!/usr/bin/env bash
# Fetches the Fashion-MNIST idx files from the Debian package dataset-fashion-mnist
# into data/fashion-mnist/ (the .gz files are gitignored; README and LICENSE are committed).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/data/fashion-mnist"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

cd "$tmp"
# apt-get download needs package lists; on a fresh machine they may be empty.
if ! apt-get download dataset-fashion-mnist >/dev/null 2>&1; then
  apt-get update >/dev/null
  apt-get download dataset-fashion-mnist
fi
dpkg-deb -x dataset-fashion-mnist_*.deb extracted

mkdir -p "$dest"
found=0
while IFS= read -r f; do
  cp "$f" "$dest/"
  found=$((found + 1))
done < <(find extracted -name '*-ubyte.gz')
if [ "$found" -ne 4 ]; then
  echo "expected 4 idx .gz files in the package, found $found" >&2
  exit 1
fi
cp extracted/usr/share/doc/dataset-fashion-mnist/copyright "$dest/LICENSE"
echo "Fashion-MNIST idx files copied to data/fashion-mnist/"
