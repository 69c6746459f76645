#!/usr/bin/env bash
# Fetch pinned front-end assets from the npm registry into static/vendor/ (git-ignored).
# The app and the static maps load Leaflet from there, never from a CDN.
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=static/vendor
STAMP="$DEST/.versions"
# name@version -> files to copy (relative to the package folder) into $DEST/<name>/
PACKAGES=(
  "leaflet@1.9.4:dist/leaflet.js dist/leaflet.css dist/images"
  "axe-core@4.10.3:axe.min.js"
)
want=$(printf '%s\n' "${PACKAGES[@]}" | sha256sum | cut -c1-16)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  exit 0
fi
command -v npm >/dev/null || { echo "npm is needed to fetch Leaflet (apt-get install npm)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for entry in "${PACKAGES[@]}"; do
  spec="${entry%%:*}"
  files="${entry#*:}"
  name="${spec%@*}"
  echo ">> npm pack $spec"
  (cd "$tmp" && npm pack --silent "$spec" >/dev/null)
  tgz=$(ls "$tmp"/*.tgz)
  mkdir -p "$tmp/$name"
  tar -xzf "$tgz" -C "$tmp/$name"
  rm -f "$tgz"
  rm -rf "${DEST:?}/$name"
  mkdir -p "$DEST/$name"
  for f in $files; do
    cp -r "$tmp/$name/package/$f" "$DEST/$name/"
  done
done
echo "$want" > "$STAMP"
