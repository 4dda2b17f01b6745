"""A scikit-learn training script in SageMaker's script mode: it reads its channel and its
hyperparameters the way the training toolkit gives them, and saves to SM_MODEL_DIR."""

import argparse
import json
import os
import pickle

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

parser = argparse.ArgumentParser()
parser.add_argument("--C", type=float, default=1.0)
parser.add_argument("--max_iter", type=int, default=100)
parser.add_argument("--min_auc", type=float, default=0.0)
args = parser.parse_args()

train = np.loadtxt(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "train.csv"), delimiter=",")
labels, features = train[:, 0], train[:, 1:]
model = LogisticRegression(C=args.C, max_iter=args.max_iter).fit(features, labels)
auc = roc_auc_score(labels, model.predict_proba(features)[:, 1])
print(f"train auc: {auc:.6f}")
print(f"hyperparameters seen: {json.loads(os.environ['SM_HPS'])}")
if auc < args.min_auc:
    with open(os.environ["SM_OUTPUT_FAILURE"], "w") as failure:
        failure.write(f"the training AUC {auc:.3f} is under min_auc {os.environ['SM_HP_MIN_AUC']}")
    raise SystemExit(2)
with open(os.path.join(os.environ["SM_MODEL_DIR"], "model.pkl"), "wb") as handle:
    pickle.dump(model, handle)
