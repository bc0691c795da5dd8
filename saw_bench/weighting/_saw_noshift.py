"""saw-noshift: SAW without the lower-bound shift, to measure what the shift does.

    CV_k = std_i(r_ik) / (|mean_i(r_ik)| + delta),  w'_k = CV_k / sum_l CV_l

CV is invariant to scaling but not to shifting, so the bound used for the shift changes the
weights (SAW paper, arXiv 2606.07705, section on the shift; not ablated there). Without it, an
objective whose raw mean sits near zero (tool-calling correctness in [-3, 3]) gets an inflated
CV. The absolute value keeps a negative mean from producing a negative weight.
"""

from __future__ import annotations

import numpy as np

from saw_bench.weighting._base import ObjectiveBatch, WeightingAgent
from saw_bench.weighting._saw import coefficient_of_variation, weights_from_cv


class SAWNoShiftWeighting(WeightingAgent):
    name = "saw-noshift"
    description = "SAW ablation: CV of the raw rewards, no lower-bound shift"

    def weights(self, batch: ObjectiveBatch) -> np.ndarray:
        return weights_from_cv(coefficient_of_variation(batch.rewards, None), batch.priorities)
