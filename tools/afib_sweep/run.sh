#!/bin/bash
# Runs every job of configs.json at once (device cuda), each with one CPU thread, and tars
# the training folders and logs into $OUT/results.tar.gz. Usage, from the repository root
# on the GPU machine, with windows.npz from `sweep.py prepare` beside this script:
#   BUDGET=520 bash tools/afib_sweep/run.sh      (BUDGET: seconds the jobs may take)
# A machine without the `tflite` package gets it from wheels/ beside this script.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
R=$(mktemp -d)
ls "$HERE"/wheels/*.whl > /dev/null 2>&1 && python3 -m pip install --no-index --no-deps -q "$HERE"/wheels/*.whl
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONUNBUFFERED=1
START=$(date +%s)
python3 - "$HERE/configs.json" > "$R/jobs.txt" <<'PY'
import json, sys
for name, config in json.load(open(sys.argv[1])).items():
    print(name, json.dumps(dict(config, device="cuda"), separators=(",", ":")))
PY
while read -r name config; do
  timeout "${BUDGET:-520}" python3 "$HERE/sweep.py" job "$name" "$config" "$R/$name" \
    --windows "$HERE/windows.npz" > "$R/$name.log" 2>&1 &
done < "$R/jobs.txt"
wait
echo "all done in $(( $(date +%s) - START )) s"
grep -h "done in" "$R"/*.log
tar czf "${OUT:-.}/results.tar.gz" -C "$R" .
