#!/usr/bin/env bash
# make image: builds the container image iotc-mock:<version> from Containerfile with docker, podman or buildah
# (whichever works here; IMAGE_TOOL= picks one). IMAGE_FROM= chooses how:
#   source  the Containerfile's default target: a Swift builder image compiles the binary (needs a registry)
#   dist    target runtime-from-dist: the binary of `make dist` on a Debian base made here from Debian packages
#           with mmdebstrap (no registry needed)
#   auto    (default) source when the base images can be pulled, else dist
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's/.*static let version = "\(.*\)"$/\1/p' Sources/MockServer/Version.swift)
image=${IMAGE:-iotc-mock:$version}
builder_image=${BUILDER_IMAGE:-docker.io/library/swift:6.3-bookworm}
runtime_image=${RUNTIME_IMAGE:-docker.io/library/debian:bookworm-slim}

install() {  # apt packages, as root; otherwise say what to install
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    echo "image: run sudo apt-get install -y $*" >&2; exit 1
  fi
}

tool=${IMAGE_TOOL:-}
if [ -z "$tool" ]; then
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then tool=docker
  elif command -v podman >/dev/null; then tool=podman
  else command -v buildah >/dev/null || install buildah; tool=buildah
  fi
fi
case "$tool" in
  buildah) build=(buildah build --isolation chroot --format docker) ;;
  podman) build=(podman build --format docker) ;;
  docker) build=(docker build) ;;
  *) echo "image: IMAGE_TOOL must be docker, podman or buildah, not '$tool'" >&2; exit 1 ;;
esac

from=${IMAGE_FROM:-auto}
if [ "$from" = auto ]; then
  from=dist
  if timeout 120 "$tool" pull -q "$runtime_image" >/dev/null 2>&1 && timeout 600 "$tool" pull -q "$builder_image" >/dev/null 2>&1; then from=source; fi
  echo "image: building from $from with $tool"
fi
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
case "$from" in
  source)
    "${build[@]}" --build-arg BUILDER_IMAGE="$builder_image" --build-arg RUNTIME_IMAGE="$runtime_image" \
      --build-arg IOTC_MOCK_COMMIT="$commit" --build-arg VERSION="$version" -t "$image" -f Containerfile .
    ;;
  dist)
    release/dist.sh
    base=$(release/debian-base.sh "$tool")
    "${build[@]}" --target runtime-from-dist --build-arg RUNTIME_IMAGE="$base" --build-arg VERSION="$version" \
      -t "$image" -f Containerfile .
    ;;
  *) echo "image: IMAGE_FROM must be auto, source or dist, not '$from'" >&2; exit 1 ;;
esac
echo "image: built $image with $tool from $from"
