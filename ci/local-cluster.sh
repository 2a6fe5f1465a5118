#!/usr/bin/env bash
# Starts a local three-node cluster: raft-node on 127.0.0.1:7000-7002, data
# in ${DATA:-./data}/n0..n2 (kept across runs: a restart recovers from it).
# Talk to it with the command printed below; Ctrl-C stops every node.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release -p node
bin="${CARGO_TARGET_DIR:-target}/release"
data="${DATA:-./data}"
peers="0=127.0.0.1:7000,1=127.0.0.1:7001,2=127.0.0.1:7002"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait' EXIT INT TERM
for i in 0 1 2; do
  "$bin/raft-node" --id "$i" --peers "$peers" --data-dir "$data/n$i" &
  pids+=("$!")
done
echo "three nodes up; in another shell:"
echo "  $bin/raftctl --nodes 127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002 repl"
wait
