#!/usr/bin/env bash
# Prints the name of a Debian bookworm base image made here from Debian packages (mmdebstrap, minbase variant, no
# documentation), for building images where no registry can be reached. Made once per container store and reused.
# Usage: release/debian-base.sh docker|podman|buildah
set -euo pipefail
tool=$1
name=localhost/iotc-mock-debian-base:bookworm
exists() {
  case "$tool" in
    buildah) buildah inspect --type image "$name" >/dev/null 2>&1 ;;
    *) "$tool" image inspect "$name" >/dev/null 2>&1 ;;
  esac
}
if ! exists; then
  if ! command -v mmdebstrap >/dev/null; then
    [ "$(id -u)" = 0 ] || { echo "debian-base: run sudo apt-get install -y mmdebstrap" >&2; exit 1; }
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >&2
  fi
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  excludes=()
  for path in /usr/share/man /usr/share/doc /usr/share/info /usr/share/locale; do excludes+=(--dpkgopt="path-exclude=$path/*"); done
  mmdebstrap --quiet --variant=minbase "${excludes[@]}" bookworm "$work/rootfs.tar" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >&2
  case "$tool" in
    buildah)
      container=$(buildah from scratch)
      buildah add "$container" "$work/rootfs.tar" / >/dev/null
      buildah config --cmd /bin/sh "$container"
      buildah commit -q "$container" "$name" >/dev/null
      buildah rm "$container" >/dev/null
      ;;
    *) "$tool" import --change 'CMD ["/bin/sh"]' "$work/rootfs.tar" "$name" >/dev/null ;;
  esac
  echo "debian-base: made $name with mmdebstrap" >&2
fi
echo "$name"
