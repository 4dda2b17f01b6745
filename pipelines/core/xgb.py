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
import threading
from types import ModuleType

_IMPORTING = threading.Lock()


def module() -> ModuleType:
    """The ``xgboost`` module, imported without importing scikit-learn if neither is loaded yet.

    Threads may ask at once (a tuning job trains several models in the engine's process): one
    imports while the others wait, so none sees a half-imported module or the hidden scikit-learn.
    """
    with _IMPORTING:
        if "xgboost" in sys.modules or "sklearn" in sys.modules:
            import xgboost  # done, or being done by an import outside this function: Python's import lock waits for it

            return xgboost
        sys.modules["sklearn"] = None  # type: ignore[assignment]  # ``import sklearn`` raises ImportError
        try:
            import xgboost
        finally:
            if "sklearn" in sys.modules and sys.modules["sklearn"] is None:
                del sys.modules["sklearn"]
        return xgboost
