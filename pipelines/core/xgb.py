"""XGBoost, imported without scikit-learn.

``import xgboost`` imports scikit-learn whenever it is installed (``xgboost.compat`` takes its
estimator base classes for ``XGBClassifier`` and friends): here that is 0.7 s of the import's
0.97 s, in every process that loads a model. The project's own code uses the Booster API only,
in processes that run no user code (the engine's built-in training, the Explain and
attribution-monitor jobs, the endpoint's workers), so it imports XGBoost with scikit-learn
hidden for that one import: 0.24 s. scikit-learn can still be imported afterwards as usual;
only XGBoost's scikit-learn wrapper, which none of these processes uses, is then unusable in
that process (it raises XGBoost's own "sklearn needs to be installed"). A process that has
already imported scikit-learn, or XGBoost, gets XGBoost as it is.
"""

from __future__ import annotations

import sys
from types import ModuleType


def module() -> ModuleType:
    """The ``xgboost`` module, imported without importing scikit-learn if it is not loaded yet."""
    loaded = sys.modules.get("xgboost")
    if loaded is not None:
        return loaded
    if "sklearn" in sys.modules:
        import xgboost

        return xgboost
    sys.modules["sklearn"] = None  # type: ignore[assignment]  # ``import sklearn`` raises ImportError
    try:
        import xgboost
    finally:
        if sys.modules.get("sklearn", 0) is None:
            del sys.modules["sklearn"]
    return xgboost
