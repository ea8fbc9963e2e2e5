#!/usr/bin/env bash
# make dist: a release build of iotc-mock that needs nothing but the C library (the Swift runtime, Foundation,
# OpenSSL, SQLite and libstdc++ linked in statically; the default fixtures compiled in), stripped, and packed as
# dist/iotc-mock-<version>-linux-<arch>.tar.gz with a .sha256 beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's/.*static let version = "\(.*\)"$/\1/p' Sources/MockServer/Version.swift)
[ -n "$version" ] || { echo "dist: no version in Sources/MockServer/Version.swift" >&2; exit 1; }
name="iotc-mock-$version-linux-$(uname -m)"

# The linker takes the first libNAME it finds on its search path: a folder holding only the static archives,
# searched first, makes -lssl -lcrypto -lsqlite3 -lstdc++ link them in, while the C library stays shared.
libs=.build/static-libs
rm -rf "$libs"
mkdir -p "$libs"
for lib in libssl.a libcrypto.a libsqlite3.a libstdc++.a; do
  path=$(gcc -print-file-name="$lib")
  [ -f "$path" ] || { echo "dist: $lib not found (apt-get install libssl-dev libsqlite3-dev libstdc++-12-dev)" >&2; exit 1; }
  ln -s "$(realpath "$path")" "$libs/$lib"
done
flags=(-c release --product iotc-mock --static-swift-stdlib -Xlinker -L"$PWD/$libs" -Xswiftc -Xclang-linker -Xswiftc -static-libgcc -Xswiftc -use-ld=lld)
swift build "${flags[@]}"
binary="$(swift build "${flags[@]}" --show-bin-path)/iotc-mock"

stage="dist/$name"
rm -rf "$stage" "dist/$name.tar.gz" "dist/$name.tar.gz.sha256"
mkdir -p "$stage"
strip -o "$stage/iotc-mock" "$binary"
cp README.md "$stage/README.md"
# Reproducible: the same commit gives the same archive (file order, times and owners fixed; no gzip time stamp).
stamp=$(git log -1 --format=%ct 2>/dev/null || echo 0)
tar -C dist --sort=name --mtime="@$stamp" --owner=0 --group=0 --numeric-owner -cf - "$name" | gzip -n -9 > "dist/$name.tar.gz"
(cd dist && sha256sum "$name.tar.gz" > "$name.tar.gz.sha256")
ln -sfn "$name" dist/latest  # a stable path for make image and make bench

echo "dist/$name.tar.gz: $(du -k "dist/$name.tar.gz" | cut -f1) KiB packed, binary $(du -k "$stage/iotc-mock" | cut -f1) KiB"
echo "dynamic dependencies: $(readelf -d "$stage/iotc-mock" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' ')"
"$stage/iotc-mock" --version
