"""Deep Belief Networks and Restricted Boltzmann Machines for scikit-learn."""

from ._autoencoder import DBNAutoencoder
from ._classifier import DBNClassifier
from ._impute import RBMImputer
from ._rbm import RBMLayer
from ._regressor import DBNRegressor
from ._stack import BernoulliRBMStack, GaussianRBMStack
from ._tabular import TabularRBMStack
from ._units import DataRangeWarning

__version__ = "0.1.0.dev0"

__all__ = [
    "BernoulliRBMStack",
    "DBNAutoencoder",
    "DBNClassifier",
    "DBNRegressor",
    "DataRangeWarning",
    "GaussianRBMStack",
    "RBMImputer",
    "RBMLayer",
    "TabularRBMStack",
    "__version__",
]
