"""The baseline the tuned model must beat: a scaled logistic regression, trained in SageMaker's
script mode (scikit-learn image). Its validation AUC is logged for MetricDefinitions; the model
goes to SM_MODEL_DIR."""

import argparse
import os
import pickle

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

parser = argparse.ArgumentParser()
parser.add_argument("--C", type=float, default=1.0)
args = parser.parse_args()


def load(channel: str) -> tuple:
    folder = os.environ[f"SM_CHANNEL_{channel.upper()}"]
    (name,) = [n for n in os.listdir(folder) if n.endswith(".csv")]
    data = np.loadtxt(os.path.join(folder, name), delimiter=",")
    return data[:, 1:], data[:, 0]


(train_x, train_y), (valid_x, valid_y) = load("train"), load("validation")
model = make_pipeline(StandardScaler(), LogisticRegression(C=args.C, max_iter=1000)).fit(train_x, train_y)
print(f"validation:auc={roc_auc_score(valid_y, model.predict_proba(valid_x)[:, 1]):.6f}")
with open(os.path.join(os.environ["SM_MODEL_DIR"], "model.pkl"), "wb") as handle:
    pickle.dump(model, handle)
