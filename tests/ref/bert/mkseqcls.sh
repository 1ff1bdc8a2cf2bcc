#!/bin/sh
# mkseqcls.sh DEST: assemble the BertForSequenceClassification test model of
# tests/ref/gen_bert.py in DEST without committing its 90 MB encoder: the
# committed config.json, index and head shard, plus models/all-MiniLM-L6-v2's
# model.safetensors (shard 1) and vocab.txt, linked in.
set -e
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
DEST=$1
MODEL=${2:-$ROOT/models/all-MiniLM-L6-v2}
[ -n "$DEST" ] || { echo "usage: mkseqcls.sh DEST [MINILM_DIR]" >&2; exit 2; }
[ -f "$MODEL/model.safetensors" ] || { echo "mkseqcls.sh: $MODEL/model.safetensors missing: run 'make models'" >&2; exit 5; }
mkdir -p "$DEST"
for f in config.json model.safetensors.index.json model-00002-of-00002.safetensors; do
	ln -sf "$ROOT/tests/ref/bert/seqcls/$f" "$DEST/$f"
done
ln -sf "$MODEL/model.safetensors" "$DEST/model-00001-of-00002.safetensors"
ln -sf "$MODEL/vocab.txt" "$DEST/vocab.txt"
