"""Distributed hyper-parameter search through joblib's Dask backend.

A ``GridSearchCV`` run with ``joblib.parallel_config(backend="dask")`` sends
each fit to the workers of a ``dask.distributed`` cluster. Fits are seeded, so
the scores must equal those of the same search run locally.
"""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from skdbn import BernoulliRBMStack, DBNClassifier
from skdbn.datasets import load_digits_01

pytest.importorskip("dask")
distributed = pytest.importorskip("dask.distributed")
joblib = pytest.importorskip("joblib")


@pytest.fixture(scope="module")
def client():
    # Two single-threaded workers in this process, talking TCP on the loopback
    # as a real cluster does: starts in a tenth of a second, where worker
    # processes take over a second (and with processes=False the default
    # in-process transport does not accept a host).
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=False,
            protocol="tcp",
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def _digits():
    X, y = load_digits_01(return_X_y=True)
    return X[:300], y[:300]


SEARCHES = {
    "stack-pipeline": (
        Pipeline(
            [
                ("rbm", BernoulliRBMStack((16,), n_epochs=3, random_state=0)),
                ("clf", LogisticRegression(max_iter=200)),
            ]
        ),
        {"rbm__learning_rate": [0.05, 0.1], "rbm__hidden_layer_sizes": [(8,), (16,)]},
    ),
    "dbn-classifier": (
        DBNClassifier((16,), n_epochs=2, max_iter=5, random_state=0),
        {"learning_rate_init": [1e-3, 1e-2]},
    ),
}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", SEARCHES)
def test_dask_search_matches_local_search(client, name):
    estimator, grid = SEARCHES[name]
    X, y = _digits()
    local = GridSearchCV(clone(estimator), grid, cv=2).fit(X, y)
    remote = GridSearchCV(clone(estimator), grid, cv=2, n_jobs=-1)
    with (
        distributed.get_task_stream(client) as tasks,
        joblib.parallel_config(backend="dask"),
    ):
        remote.fit(X, y)
    # The cross-validation fits ran as tasks on the cluster's workers.
    assert len(tasks.data) >= 1
    assert {task["worker"] for task in tasks.data} <= set(
        client.scheduler_info()["workers"]
    )
    for key in ("mean_test_score", "split0_test_score", "split1_test_score"):
        np.testing.assert_array_equal(remote.cv_results_[key], local.cv_results_[key])
    assert remote.best_params_ == local.best_params_
