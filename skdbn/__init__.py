"""Deep Belief Networks and Restricted Boltzmann Machines for scikit-learn."""

from ._rbm import RBMLayer
from ._stack import BernoulliRBMStack
from ._units import DataRangeWarning

__version__ = "0.1.0.dev0"

__all__ = ["BernoulliRBMStack", "DataRangeWarning", "RBMLayer", "__version__"]
