"""XGBoost without scikit-learn: what the jobs, the engine's training and the server load."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def in_a_fresh_process(program: str, env: dict[str, str]) -> dict:
    """What ``program`` printed last, as JSON; run under the network guard (``guarded_env``)."""
    done = subprocess.run([sys.executable, "-c", program], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_xgboost_comes_without_scikit_learn_which_can_still_be_imported_after(guarded_env: dict[str, str]) -> None:
    seen = in_a_fresh_process(
        "import json, sys\n"
        "from pipelines.core import xgb\n"
        "xgboost = xgb.module()\n"
        "before = sorted(m for m in sys.modules if m == 'sklearn' or m.startswith('sklearn.'))\n"
        "import sklearn.metrics\n"
        "print(json.dumps({'before': before, 'same': xgb.module() is xgboost, 'booster': xgboost.Booster.__module__,\n"
        "                  'sklearn_after': sklearn.metrics.roc_auc_score([0, 1], [0.2, 0.9])}))\n",
        guarded_env,
    )
    assert seen == {"before": [], "same": True, "booster": "xgboost.core", "sklearn_after": 1.0}


def test_a_process_that_loaded_scikit_learn_first_gets_xgboost_whole(guarded_env: dict[str, str]) -> None:
    seen = in_a_fresh_process(
        "import json, sklearn.base\n"
        "from pipelines.core import xgb\n"
        "xgboost = xgb.module()\n"
        "print(json.dumps({'wrapper': xgboost.compat.SKLEARN_INSTALLED, 'classifier': type(xgboost.XGBClassifier(n_estimators=2)).__name__}))\n",
        guarded_env,
    )
    assert seen == {"wrapper": True, "classifier": "XGBClassifier"}


def test_the_model_loaders_and_the_trainer_do_not_load_scikit_learn(tmp_path: Path, guarded_env: dict[str, str]) -> None:
    """Training the built-in algorithm, loading its model as the server does, and explaining it
    (the Explain job's SHAP): none of them imports scikit-learn."""
    rows = "\n".join(f"{i % 2},{i},{(i * 7) % 5}" for i in range(200)) + "\n"
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "train.csv").write_text(rows)
    seen = in_a_fresh_process(
        "import json, sys, tarfile\n"
        "from pathlib import Path\n"
        "import numpy as np\n"
        "from pipelines.engine import xgboost_algorithm\n"
        "from pipelines.monitor.job.clarify import attribution\n"
        "from pipelines.serving.model import Predictor\n"
        f"work = Path({str(tmp_path)!r})\n"
        "xgboost_algorithm.train({'train': work / 'train'}, {'objective': 'binary:logistic', 'num_round': '3'}, work / 'model')\n"
        "model = Predictor.load(work / 'model' / 'model.tar.gz')\n"
        "values, _ = attribution.shap_values(model.booster, np.array([[1.0, 2.0], [3.0, 4.0]]))\n"
        "print(json.dumps({'sklearn': sorted(m for m in sys.modules if m.split('.')[0] == 'sklearn'), 'shap': values.shape}))\n",
        guarded_env,
    )
    assert seen == {"sklearn": [], "shap": [2, 2]}


def test_threads_that_ask_at_once_each_get_the_whole_module(guarded_env: dict[str, str]) -> None:
    """A tuning job trains in several threads of the engine's process: none may see XGBoost half
    imported (the tuning steps failed with "partially initialized module 'xgboost'" before the lock)."""
    seen = in_a_fresh_process(
        "import json, sys, threading, time\n"
        "from pipelines.core import xgb\n"
        "found = []\n"
        "def ask(delay):\n"
        "    time.sleep(delay)  # spread over the first import, whatever its length: any moment must be safe\n"
        "    found.append(hasattr(xgb.module(), 'DMatrix'))\n"
        "threads = [threading.Thread(target=ask, args=(i / 100,)) for i in range(8)]\n"
        "[t.start() for t in threads]; [t.join() for t in threads]\n"
        "print(json.dumps({'whole': found, 'sklearn': sorted(m for m in sys.modules if m.split('.')[0] == 'sklearn')}))\n",
        guarded_env,
    )
    assert seen == {"whole": [True] * 8, "sklearn": []}
