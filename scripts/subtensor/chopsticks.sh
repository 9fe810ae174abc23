#!/usr/bin/env bash
# Runs a local Bittensor chain (the real subtensor runtime, spec_version 293) under Chopsticks,
# for the chain-client tests. Stays in the foreground; the caller kills it when done.
#
#   scripts/subtensor/chopsticks.sh CACHE_DIR PORT [extra chopsticks options...]
#   scripts/subtensor/chopsticks.sh CACHE_DIR --prepare    # install and build genesis, then exit
#
# CACHE_DIR keeps the npm install and the generated raw genesis between runs; concurrent calls
# with the same CACHE_DIR are safe. Listens on 127.0.0.1:PORT only (HTTP and WebSocket JSON-RPC).
# Blocks are built when an extrinsic arrives (build-block-mode Instant: at once, without the 100 ms
# batching delay of the default Batch mode) or on dev_newBlock; BUILD_BLOCK_MODE=Batch|Manual
# changes that (the dev_setBlockBuildMode RPC too, at run time).
set -euo pipefail

if [ "$#" -lt 2 ]; then
  echo "usage: $0 CACHE_DIR PORT [chopsticks options...]" >&2
  exit 2
fi
cache=$1
port=$2
shift 2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
spec_gz=$here/../../subnet-sdk/tests/data/subtensor/aura-dev-spec293.json.gz
version=1.5.1
# The raw genesis is named after what it is built from, so a changed spec or builder rebuilds it.
key=$(cat "$spec_gz" "$here/build-raw.cjs" | sha256sum | cut -c1-16)
raw=$cache/aura-dev-spec293.$key.raw.json

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9

# The npm install is the slow part; do it once per CACHE_DIR and version. --ignore-scripts: the
# only install script is sqlite3's, which (with no prebuilt binary reachable) compiles SQLite from
# source for minutes; sqlite is only used by Chopsticks' --db option, which we don't use.
stamp=$cache/.chopsticks-version
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$version" ]; then
  rm -rf "$cache/node_modules"
  npm install --prefix "$cache" --no-audit --no-fund --no-save --ignore-scripts --loglevel=error \
    "@acala-network/chopsticks@$version" >&2
  printf '%s' "$version" >"$stamp"
fi
export NODE_PATH=$cache/node_modules

# Chopsticks' genesis mode needs raw storage; the spec holds a plain genesis (code + patch), so the
# runtime's own GenesisBuilder computes it (a few seconds).
if [ ! -f "$raw" ]; then
  gunzip -c "$spec_gz" >"$cache/plain.json"
  node "$here/build-raw.cjs" "$cache/plain.json" "$raw.tmp" >&2
  rm -f "$cache/plain.json"
  mv "$raw.tmp" "$raw"
fi

flock -u 9
exec 9>&-
if [ "$port" = "--prepare" ]; then
  exit 0
fi
# --allow-unresolved-imports: the runtime imports bls12_381 host functions Chopsticks lacks; they
# only trap if called. launch.cjs fixes the Aura slot duration Chopsticks would otherwise get wrong.
exec node "$here/launch.cjs" "$raw" --host 127.0.0.1 --port "$port" \
  --allow-unresolved-imports --build-block-mode "${BUILD_BLOCK_MODE:-Instant}" "$@"
