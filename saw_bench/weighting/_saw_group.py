"""saw-group: SAW with the coefficient of variation taken within prompt groups.

    CV_gk = std_{i in g}(r~_ik) / (mean_{i in g}(r~_ik) + delta)   for each prompt group g
    CV_k  = mean_g CV_gk,   w'_k = CV_k / sum_l CV_l                 (r~ shifted as in SAW)

The paper's batch-level CV also counts the between-prompt variance that GRPO/GDPO's group
normalisation removes; this variant measures only the within-group variance those estimators
actually turn into advantages. Groups of one rollout contribute a CV of 0.
"""

from __future__ import annotations

import numpy as np

from saw_bench.weighting._base import ObjectiveBatch, WeightingAgent
from saw_bench.weighting._saw import coefficient_of_variation, weights_from_cv


class SAWGroupWeighting(WeightingAgent):
    name = "saw-group"
    description = "SAW ablation: CV within each prompt group, averaged over groups"

    def weights(self, batch: ObjectiveBatch) -> np.ndarray:
        groups = np.unique(batch.group_ids)
        per_group = [
            coefficient_of_variation(batch.rewards[batch.group_ids == group], batch.low)
            for group in groups
        ]
        return weights_from_cv(np.mean(per_group, axis=0), batch.priorities)
