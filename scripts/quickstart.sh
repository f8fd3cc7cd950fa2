#!/usr/bin/env bash
# Quick start: installs what is missing, builds, makes a demo dataset and model, predicts every
# row on 2 MPI ranks and says where the predictions are.
set -euo pipefail
source "$(dirname "$0")/env.sh"

"$H5INFER_ROOT/scripts/bootstrap.sh"
h5infer_build -DH5INFER_BUILD_TESTS=OFF

demo="$H5INFER_ROOT/demo"
mkdir -p "$demo"
"$H5INFER_BUILD/h5infer" generate --data "$demo/events.h5:/events/features" \
  --model "$demo/model.h5" --rows 200000 --features 32 --hidden 128,64 --outputs 4 \
  --activation relu --output-activation softmax --seed 1 --overwrite
mpirun -n 2 "$H5INFER_BUILD/h5infer" run --model "$demo/model.h5" \
  --input "$demo/events.h5:/events/features" --output "$demo/predictions.h5" --overwrite

echo
echo "predictions: $demo/predictions.h5:/predictions (inspect with: h5dump -A $demo/predictions.h5)"
