#!/usr/bin/env bash
# Builds the libFuzzer targets: the project's modules with -sanitize=fuzzer,address through SwiftPM in
# .build-fuzz, then each Fuzz/*Fuzz.swift linked against their objects. Usage: Fuzz/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=.build-fuzz
flags=(-Xswiftc -sanitize=fuzzer,address)
swift build --scratch-path "$scratch" "${flags[@]}" --target Central >/dev/null
swift build --scratch-path "$scratch" "${flags[@]}" --target HTTP >/dev/null
swift build --scratch-path "$scratch" "${flags[@]}" --target Entra >/dev/null
bin=$(swift build --scratch-path "$scratch" --show-bin-path)
for target in RequestParser Authorization; do
  swiftc -sanitize=fuzzer,address -parse-as-library -g -use-ld=lld \
    -I "$bin/Modules" -I Sources/CSQLite -I Sources/COpenSSL \
    "Fuzz/${target}Fuzz.swift" "$bin"/HTTP.build/*.o "$bin"/Central.build/*.o "$bin"/Storage.build/*.o "$bin"/Entra.build/*.o \
    -lsqlite3 -lssl -lcrypto -o "$scratch/fuzz-$target"
done
echo "built $scratch/fuzz-RequestParser $scratch/fuzz-Authorization"
