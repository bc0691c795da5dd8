#!/usr/bin/env bash
# The SAW paper's tool-calling recipe in verl 0.9.1 with saw-bench's weighting agents.
#
#   pip install torch 'saw-bench[verl]' vllm      # a GPU machine; vLLM as verl's docs say
#   bash configs/verl/train_toolrl.sh RLLA_DIR [more Hydra overrides...]
#
# RLLA_DIR holds ToolRL's rlla_4k train.parquet (the verl layout). Its prompts are written again
# as saw-bench rows (data/verl/toolrl/train.parquet), whose extra_info names each item for
# saw_bench.integrations.verl_data.compute_score. Overrides: toolrl-qwen2.5-1.5b.overrides;
# for instance algorithm.adv_estimator=saw_bench_gdpo, +algorithm.saw_bench.weighting=static.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
rlla="$(cd "${1:?usage: train_toolrl.sh RLLA_DIR [overrides...]}" && pwd)"
shift
data="${SAW_BENCH_VERL_DATA:-data/verl/toolrl}"

python - "$rlla" "$data" <<'PY'
import sys
from saw_bench.integrations.verl_data import write_parquet

rlla, data = sys.argv[1:]
print(write_parquet("saw/ToolCall-ToolRL-v0", f"{data}/train.parquet", data_path=rlla))
PY

mapfile -t overrides < <(grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$here/toolrl-qwen2.5-1.5b.overrides")
python -m verl.trainer.main_ppo \
    data.train_files="$data/train.parquet" \
    data.val_files="$data/train.parquet" \
    "${overrides[@]}" "$@"
