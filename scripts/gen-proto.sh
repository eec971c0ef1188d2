#!/usr/bin/env bash
# Regenerates src/proto/generated/ from src/proto/flotilla.proto with ts-proto.
# A development step: the output is committed, so a fresh machine never needs protoc.
# Needs protoc (Debian: apt-get install protobuf-compiler).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v protoc >/dev/null || { echo "gen-proto: protoc missing (apt-get install protobuf-compiler)" >&2; exit 1; }
out=src/proto/generated
rm -rf "$out" && mkdir -p "$out"
# Options: grpc-js service definitions; plain string unions instead of TS enums (Node's
# type stripping cannot run enums); numbers not Long; `.ts` import suffix for Node.
protoc --plugin=node_modules/.bin/protoc-gen-ts_proto \
  --ts_proto_out="$out" \
  --ts_proto_opt=outputServices=grpc-js,esModuleInterop=true,forceLong=number,useOptionals=messages,oneof=unions-value,env=node,importSuffix=.ts,enumsAsLiterals=true,useExactTypes=false \
  -I src/proto src/proto/flotilla.proto
echo "gen-proto: wrote $(find "$out" -name '*.ts' | wc -l) file(s) to $out" >&2
