#!/usr/bin/env bash
# Artifact push speed: a 1 GiB file pushed into the artifact store (stream + SHA-256 + write +
# fsync + rename), and the store's in-process hashing alone, against `cat FILE > /dev/null` (read
# speed), `sha256sum FILE`, and a plain durable copy (`dd conv=fsync`, the floor for any push that
# writes the file) on the same file in the same run. The file is read once first, so
# every figure is from the page cache: it compares CPU and write costs, not the disk's cold read.
# Usage: bench/artifact-push.sh [SIZE_MIB] [DIR]   (DIR: where the file and the store go; use the
# data dir's filesystem; default a temporary directory under /tmp)
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-1024}
dir=$(mktemp -d "${2:-/tmp}/artifact-push.XXXXXX")
trap 'rm -rf "$dir"' EXIT
cargo build --release -q -p slipway-artifacts --example hash_bench
bin=${CARGO_TARGET_DIR:-target}/release/examples/hash_bench

file=$dir/payload.bin
head -c "$((size_mib * 1024 * 1024))" /dev/urandom >"$file"
cat "$file" >/dev/null
seconds() { local s e; s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N); awk -v d=$((e - s)) 'BEGIN { printf "%.4f", d / 1e9 }'; }
cat_s=$(seconds cat "$file")
sha_s=$(seconds sha256sum "$file")
copy_s=$(seconds dd if="$file" of="$dir/copy.bin" bs=1M conv=fsync status=none)
rm -f "$dir/copy.bin"
figures=$("$bin" "$file" "$dir/store")
hash_s=$(awk '$1 == "hash" {print $2}' <<<"$figures")
push_s=$(awk '$1 == "push" {print $2}' <<<"$figures")
bytes=$((size_mib * 1024 * 1024))
awk -v b="$bytes" -v c="$cat_s" -v s="$sha_s" -v d="$copy_s" -v h="$hash_s" -v p="$push_s" 'BEGIN {
  mb = b / 1e6
  printf "%-34s %8.3f s %9.1f MB/s\n", "cat FILE > /dev/null (read)", c, mb / c
  printf "%-34s %8.3f s %9.1f MB/s\n", "sha256sum FILE", s, mb / s
  printf "%-34s %8.3f s %9.1f MB/s\n", "dd conv=fsync (durable copy)", d, mb / d
  printf "%-34s %8.3f s %9.1f MB/s\n", "slipway hash (in-process sha2)", h, mb / h
  printf "%-34s %8.3f s %9.1f MB/s\n", "slipway push (hash+write+fsync)", p, mb / p
  printf "time ratios: hash/sha256sum %.2f; hash/cat %.2f; push/durable copy %.2f; push/sha256sum %.2f; push/cat %.2f\n", h / s, h / c, p / d, p / s, p / c
}'
