"""Input validation shared by the estimators."""

import numpy as np
from sklearn.utils.validation import validate_data


def validate_prediction_input(estimator, X):
    """Validate ``X`` for a fitted estimator's transform or predict methods.

    Dense or CSR/CSC, float32 kept, anything else numeric cast to float64;
    rejects NaN, inf, empty input and a feature count or names other than
    those seen in ``fit``.
    """
    return validate_data(
        estimator,
        X,
        accept_sparse=["csr", "csc"],
        dtype=[np.float64, np.float32],
        reset=False,
    )
