#!/usr/bin/env bash
# Retrains every model the binary ships (data/earshot/*.model) with the training commands and checks
# that each comes out byte for byte as shipped: a model that no longer reproduces was trained by
# code that has changed since (features, training, the models it reads), and its figures are no
# longer the code's. Run it after touching an analyser's features or training; with --write it
# replaces the shipped models with the retrained ones (rebuild afterwards: they are compiled in).
#
#   bash scripts/models.sh            # retrain into a temporary folder, compare, exit 1 on a difference
#   bash scripts/models.sh --write    # the same, then copy the retrained models over the shipped ones
#
# The models read each other's outputs as features (sentiment reads emotions; signals read both, and
# the names model's say on what a post targets), and training reads the models compiled into the
# binary: after --write changes one of them, rebuild and run it again until every model reproduces.
# Release build; about three minutes of training on two cores (signals take most of it).
set -euo pipefail
cd "$(dirname "$0")/.."

write=false
case "${1:-}" in
  --write) write=true ;;
  "") ;;
  *) echo "usage: bash scripts/models.sh [--write]" >&2; exit 2 ;;
esac

cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-target}/release/earshot
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "== train-names"
"$bin" train-names --out "$out/names.model"
echo "== train-emotions"
"$bin" train-emotions --out "$out/emotions.model"
echo "== train-sentiment"
"$bin" train-sentiment --out "$out/sentiment.model"
echo "== train-signals"
"$bin" train-signals --out "$out/signals.model" --aspects-out "$out/aspects.model"

differ=0
echo "== retrained against shipped (sha256)"
for m in names emotions sentiment signals aspects; do
  new=$(sha256sum "$out/$m.model" | cut -c1-16)
  old=$(sha256sum "data/earshot/$m.model" | cut -c1-16)
  if [ "$new" = "$old" ]; then
    printf '%-10s %s  reproduced\n' "$m" "$new"
  else
    size_new=$(stat -c %s "$out/$m.model") size_old=$(stat -c %s "data/earshot/$m.model")
    if [ "$size_new" = "$size_old" ]; then
      # cmp exits 1 when the files differ: that is not a failure here (pipefail).
      how="$( (cmp -l "$out/$m.model" "data/earshot/$m.model" || true) | wc -l) of $size_old bytes differ"
    else
      how="$size_new bytes against $size_old"
    fi
    printf '%-10s %s  differs from the shipped %s (%s)\n' "$m" "$new" "$old" "$how"
    differ=1
    if $write; then cp "$out/$m.model" "data/earshot/$m.model"; fi
  fi
done
if [ $differ -eq 1 ]; then
  if $write; then
    echo "models replaced: rebuild (cargo build --release) and run this again until every one reproduces"
  fi
  exit 1
fi
