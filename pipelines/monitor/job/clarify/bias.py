"""Bias metrics in SageMaker Clarify's files: pre- and post-training metrics, drift violations.

SageMaker Clarify is closed to new customers (the notice of 2026-07-30); AWS's advice is a
processing step computing the bias metrics with pandas and scikit-learn. This is that step's
arithmetic, with Clarify's definitions as its open-source library implements them
(``smclarify``, which the tests use as the oracle on the credit data) and Clarify's
``analysis.json`` layout, so tools that read Clarify reports read these::

    {"version": "1.0",
     "pre_training_bias_metrics": {"label": "Label", "label_value_or_threshold": "0",
         "facets": {"SEX": [{"value_or_threshold": "2",
                             "metrics": [{"name": "CI", "description": "Class Imbalance (CI)",
                                          "value": -0.21}, ...]}]}},
     "post_training_bias_metrics": {...}}

The configuration is Clarify's analysis configuration (``analysis_config.json``): ``label``,
``label_values_or_threshold`` (the favourable outcome), ``facet`` (a list of
``{"name_or_index", "value_or_threshold"}``), ``group_variable`` (for CDDL/CDDPL) and
``probability_threshold``. One key is ours: ``"continuous": true`` on a facet makes its single
value a threshold (the sensitive group is the rows above it, Clarify's ``(threshold, max]``);
Clarify guessed that from the column's data type, which for a CSV read as numbers turns SEX = 2
into an empty interval. Without it a facet's values name the sensitive group; a facet without
values is analysed one value against the rest for every value it has, as Clarify does.

The sensitive group is ``d`` (disadvantaged) and the rest ``a``; labels and predictions count
as positive when they are a favourable value. A prediction is the favourable label when the
model's probability, made a label at ``probability_threshold`` (at or above it: 1), is one of
``label_values_or_threshold``, as the Evaluate step and the model-quality monitor decide.
A metric that cannot be computed (an empty group) is written as Clarify writes it:
``"value": null`` with an ``"error"``; an infinite ratio as ``"Infinity"``.

Bias drift (``violations``): as Clarify's bias-drift monitor documents it, a metric is a
violation when its value is further from its ideal than the baseline constraint's value
(the ideal is 1 for DI, 0 for every other metric); the entry names the facet, its value and the
metric (``constraint_check_type: bias_drift_check``). On a window of a few hundred rows half of
the metrics of a clean window are further from their ideal than the baseline's, so that rule
fires every hour. By default the window's own size is taken into account: each metric's
standard error on the window (``standard_errors``: a delete-a-group jackknife over 50 seeded
groups of its rows) and a violation only when the metric is further from its ideal than the
baseline's by more than ``z`` of them, ``z`` one-sided, Bonferroni-corrected over the
window's comparisons so that a clean window breaks any with probability at most 1%, and
Student's t for the jackknife's 49 degrees of freedom (``tolerance``). The description names the value, its standard error, the baseline's value and
``z``; Clarify's plain rule stays (``errors=None``). The flip test is reported but not checked
this way (``NOT_CHECKED_ON_WINDOWS``): its neighbours come from the window itself, so its value
depends on the window's size (on this data, the mean of 500-row windows is -0.063 where the
whole 4,500-row split gives -0.042, half a standard deviation away), and the jackknife's error of
a nearest-neighbours statistic is itself unreliable (0.02 to 0.06 between windows of the same
data whose real spread is 0.037): together they fired on a clean hour of the demo.

Part of the analyzer bundle (``bundle.py``): numpy (and scikit-learn for the flip test),
Python 3.9.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

VERSION = "1.0"
PRE_TRAINING = "pre_training_bias_metrics"
POST_TRAINING = "post_training_bias_metrics"
CHECK_TYPE = "bias_drift_check"
INFINITY = float("inf")
# Clarify's descriptions (the first line of each metric's docstring in smclarify).
PRE_TRAINING_METRICS = {
    "CDDL": "Conditional Demographic Disparity in Labels (CDDL)",
    "CI": "Class Imbalance (CI)",
    "DPL": "Difference in Positive Proportions in Labels (DPL)",
    "JS": "Jensen-Shannon Divergence (JS)",
    "KL": "Kullback-Liebler Divergence (KL)",
    "KS": "Kolmogorov-Smirnov Distance (KS)",
    "LP": "L-p Norm (LP)",
    "TVD": "Total Variation Distance (TVD)",
}
POST_TRAINING_METRICS = {
    "AD": "Accuracy Difference (AD)",
    "CDDPL": "Conditional Demographic Disparity in Predicted Labels (CDDPL)",
    "DAR": "Difference in Acceptance Rates (DAR)",
    "DCA": "Difference in Conditional Acceptance (DCA)",
    "DCR": "Difference in Conditional Rejection (DCR)",
    "DI": "Disparate Impact (DI)",
    "DPPL": "Difference in Positive Proportions in Predicted Labels (DPPL)",
    "DRR": "Difference in Rejection Rates (DRR)",
    "FT": "Flip Test (FT)",
    "GE": "Generalized Entropy (GE)",
    "RD": "Recall Difference (RD)",
    "SD": "Specificity Difference (SD)",
    "TE": "Treatment Equality (TE)",
}
IDEAL = {"DI": 1.0}
# Bias drift with the window's size (``standard_errors``, ``violations``).
JACKKNIFE_BLOCKS = 50
# Metrics whose window value cannot be compared with the baseline's by their standard error (above).
NOT_CHECKED_ON_WINDOWS = frozenset({"FT"})
JACKKNIFE_SEED = 20200301
FALSE_ALARM_RATE = 0.01
# The flip test's nearest neighbours, as smclarify sets them.
FT_NEIGHBOURS, FT_MIN_NEIGHBOURS, FT_SAMPLES_THRESHOLD = 5, 1, 9


class BiasConfigError(ValueError):
    """The analysis configuration or the data does not fit; the message names what."""


class MetricUndefined(ValueError):
    """A metric has no value for these groups (Clarify writes it as an error)."""


def _number(value: Any) -> str:
    """``2`` for 2 and 2.0, ``40.5`` for 40.5: how a facet value is named in the report."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass(frozen=True)
class Facet:
    """A sensitive attribute: its column, the values (or the threshold) of its sensitive group."""

    name: str
    values: Tuple[Any, ...] = ()
    continuous: bool = False

    def groups(self, column: np.ndarray) -> List[Tuple[str, np.ndarray]]:
        """(value_or_threshold as Clarify writes it, the sensitive group's mask) for each group."""
        if self.continuous:
            threshold, top = float(self.values[0]), float(np.nanmax(column)) if len(column) else float(self.values[0])
            return [(f"({_number(threshold)}, {_number(top)}]", column > threshold)]
        if self.values:
            return [(",".join(_number(v) for v in self.values), np.isin(column, np.asarray(self.values, dtype=column.dtype)))]
        seen: List[Any] = []
        for value in column.tolist():  # Clarify's order: as the values first appear
            if value not in seen and value == value:
                seen.append(value)
        return [(_number(value), column == value) for value in seen]


@dataclass(frozen=True)
class BiasConfig:
    """Clarify's analysis configuration, read once."""

    label: str
    label_values: Tuple[Any, ...]
    facets: Tuple[Facet, ...]
    group_variable: Optional[str] = None
    probability_threshold: float = 0.5
    headers: Tuple[str, ...] = field(default=())

    @classmethod
    def from_dict(cls, config: Dict[str, Any], where: str = "analysis config") -> "BiasConfig":
        problems = []
        label = config.get("label")
        if not isinstance(label, str) or not label:
            problems.append("'label' must name the label column")
        values = config.get("label_values_or_threshold")
        if not isinstance(values, list) or not values:
            problems.append("'label_values_or_threshold' must list the favourable label values, e.g. [0]")
        facets = []
        entries = config.get("facet")
        if not isinstance(entries, list) or not entries:
            problems.append("'facet' must list at least one {\"name_or_index\": ..., \"value_or_threshold\": [...]}")
            entries = []
        for index, entry in enumerate(entries):
            name = entry.get("name_or_index") if isinstance(entry, dict) else None
            facet_values = entry.get("value_or_threshold", []) if isinstance(entry, dict) else None
            continuous = bool(entry.get("continuous", False)) if isinstance(entry, dict) else False
            if not isinstance(name, str) or not name:
                problems.append(f"facet[{index}].name_or_index must name a column")
            elif not isinstance(facet_values, list) or (continuous and len(facet_values) != 1):
                problems.append(f"facet[{index}] ({name}): value_or_threshold must be a list" + (" of one threshold" if continuous else ""))
            elif not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in facet_values):
                problems.append(f"facet[{index}] ({name}): value_or_threshold must hold numbers")
            else:
                facets.append(Facet(name, tuple(facet_values), continuous))
        threshold = config.get("probability_threshold", 0.5)
        if not isinstance(threshold, (int, float)) or not 0 < threshold < 1:
            problems.append("'probability_threshold' must be within (0, 1)")
        group = config.get("group_variable")
        if group is not None and not isinstance(group, str):
            problems.append("'group_variable' must name a column")
        if problems:
            raise BiasConfigError(f"{where}: " + "; ".join(problems))
        return cls(label, tuple(values), tuple(facets), group, float(threshold), tuple(config.get("headers") or ()))

    def to_dict(self, headers: Sequence[str] = ()) -> Dict[str, Any]:
        """Clarify's analysis_config.json for this configuration."""
        facets = []
        for facet in self.facets:
            entry: Dict[str, Any] = {"name_or_index": facet.name, "value_or_threshold": list(facet.values)}
            if facet.continuous:
                entry["continuous"] = True
            facets.append(entry)
        config: Dict[str, Any] = {
            "dataset_type": "text/csv",
            "headers": list(headers or self.headers),
            "label": self.label,
            "label_values_or_threshold": list(self.label_values),
            "facet": facets,
            "probability_threshold": self.probability_threshold,
            "methods": {"pre_training_bias": {"methods": "all"}, "post_training_bias": {"methods": "all"}},
        }
        if self.group_variable:
            config["group_variable"] = self.group_variable
        return config

    def columns(self) -> List[str]:
        return [facet.name for facet in self.facets] + ([self.group_variable] if self.group_variable else [])


def _divide(a: float, b: float) -> float:
    """smclarify's division: 0/0 is 0, x/0 is +-Infinity."""
    if b == 0:
        return 0.0 if a == 0 else (-INFINITY if a < 0 else INFINITY)
    return a / b


def _count(mask: np.ndarray) -> int:
    return int(np.count_nonzero(mask))


@dataclass
class Groups:
    """Everything a metric needs: the sensitive group ``d``, favourable labels and predictions."""

    d: np.ndarray
    label: np.ndarray
    predicted: Optional[np.ndarray] = None
    group: Optional[np.ndarray] = None
    features: Optional[np.ndarray] = None

    def sizes(self) -> Tuple[int, int]:
        nd = _count(self.d)
        return len(self.d) - nd, nd

    def require_both(self, prefix: str = "") -> None:
        na, nd = self.sizes()
        if nd == 0:
            raise MetricUndefined(f"{prefix}Facet set is empty")
        if na == 0:
            raise MetricUndefined(f"{prefix}Negated facet set is empty")


# ---- pre-training ------------------------------------------------------------------------
def ci(g: Groups) -> float:
    na, nd = g.sizes()
    g.require_both("CI: ")
    return (na - nd) / (na + nd)


def _dpl(g: Groups, positive: np.ndarray) -> float:
    na, nd = g.sizes()
    g.require_both()
    return _count(~g.d & positive) / na - _count(g.d & positive) / nd


def dpl(g: Groups) -> float:
    return _dpl(g, g.label)


def _label_pdfs(g: Groups) -> Tuple[np.ndarray, np.ndarray]:
    """The label's distribution in ``a`` and in ``d``, on the values both have (smclarify's
    ``pdfs_aligned_nonzero``)."""
    pa, pd_ = [], []
    na, nd = g.sizes()
    for value in (False, True):
        ca, cd = _count(~g.d & (g.label == value)), _count(g.d & (g.label == value))
        if ca and cd:
            pa.append(ca / na)
            pd_.append(cd / nd)
    if not pa:
        raise MetricUndefined("No instance of common facet found, dataset may be too small")
    return np.asarray(pa), np.asarray(pd_)


def kl(g: Groups) -> float:
    pa, pd_ = _label_pdfs(g)
    return float(np.sum(pa * np.log(pa / pd_)))


def js(g: Groups) -> float:
    pa, pd_ = _label_pdfs(g)
    p = 0.5 * (pa + pd_)
    return float(0.5 * (np.sum(pa * np.log(pa / p)) + np.sum(pd_ * np.log(pd_ / p))))


def lp(g: Groups) -> float:
    pa, pd_ = _label_pdfs(g)
    return float(np.linalg.norm(pa - pd_, 2))


def tvd(g: Groups) -> float:
    pa, pd_ = _label_pdfs(g)
    return 0.5 * float(np.linalg.norm(pa - pd_, 1))


def ks(g: Groups) -> float:
    pa, pd_ = _label_pdfs(g)
    return float(np.linalg.norm(pa - pd_, np.inf))


def _cdd(g: Groups, positive: np.ndarray) -> float:
    """Conditional demographic disparity: the disparity in each subgroup of the group variable,
    weighted by the subgroup's size."""
    if g.group is None or len(g.group) == 0:
        raise MetricUndefined("Group variable is empty or not provided")
    if not positive.any():
        raise MetricUndefined("No positive labels in set")
    if positive.all():
        raise MetricUndefined("No negative labels in set")
    total, weighted = 0, 0.0
    for value in np.unique(g.group):
        in_group = g.group == value
        accepted, rejected = positive & in_group, ~positive & in_group
        a = _count(accepted & g.d) / _count(accepted) if accepted.any() else 0.0
        d = _count(rejected & g.d) / _count(rejected) if rejected.any() else 0.0
        size = _count(in_group)
        total += size
        weighted += size * (d - a)
    return _divide(weighted, total)


def cddl(g: Groups) -> float:
    return _cdd(g, g.label)


# ---- post-training -----------------------------------------------------------------------
def _predicted(g: Groups) -> np.ndarray:
    if g.predicted is None:
        raise MetricUndefined("predicted labels are required")
    return g.predicted


def dppl(g: Groups) -> float:
    return _dpl(g, _predicted(g))


def di(g: Groups) -> float:
    p = _predicted(g)
    na, nd = g.sizes()
    g.require_both()
    return _divide(_count(g.d & p) / nd, _count(~g.d & p) / na)


def _quadrants(g: Groups, members: np.ndarray) -> Tuple[int, int, int, int]:
    """TP, TN, FP, FN within ``members``."""
    p, y = _predicted(g), g.label
    return (_count(members & y & p), _count(members & ~y & ~p), _count(members & ~y & p), _count(members & y & ~p))


def _difference(a: float, d: float) -> float:
    """``a - d``, 0 when both are infinite (smclarify)."""
    return 0.0 if a == d == INFINITY else a - d


def ad(g: Groups) -> float:
    g.require_both()
    ta, na_, fa, fna = _quadrants(g, ~g.d)
    td, nd_, fd, fnd = _quadrants(g, g.d)
    return _difference(_divide(ta + na_, ta + na_ + fa + fna), _divide(td + nd_, td + nd_ + fd + fnd))


def _dlr(g: Groups) -> Tuple[float, float]:
    g.require_both("DLR: ")
    p, y = _predicted(g), g.label
    ar_a = _divide(_count(~g.d & y & p), _count(~g.d & p))
    ar_d = _divide(_count(g.d & y & p), _count(g.d & p))
    rr_a = _divide(_count(~g.d & ~y & ~p), _count(~g.d & ~p))
    rr_d = _divide(_count(g.d & ~y & ~p), _count(g.d & ~p))
    return _difference(ar_a, ar_d), _difference(rr_d, rr_a)


def dar(g: Groups) -> float:
    return _dlr(g)[0]


def drr(g: Groups) -> float:
    return _dlr(g)[1]


def _dco(g: Groups) -> Tuple[float, float]:
    g.require_both("DCO: ")
    p, y = _predicted(g), g.label
    ca = _divide(_count(y & ~g.d), _count(p & ~g.d))
    cd = _divide(_count(y & g.d), _count(p & g.d))
    rr_a = _divide(_count(~y & ~g.d), _count(~p & ~g.d))
    rr_d = _divide(_count(~y & g.d), _count(~p & g.d))
    return _difference(ca, cd), _difference(rr_d, rr_a)


def dca(g: Groups) -> float:
    return _dco(g)[0]


def dcr(g: Groups) -> float:
    return _dco(g)[1]


def _dla(g: Groups) -> Tuple[float, float]:
    g.require_both("DLA: ")
    ta, na_, fa, fna = _quadrants(g, ~g.d)
    td, nd_, fd, fnd = _quadrants(g, g.d)
    recall_a, recall_d = _divide(ta, ta + fna), _divide(td, td + fnd)
    specificity_a, specificity_d = _divide(na_, na_ + fa), _divide(nd_, nd_ + fd)
    return _difference(recall_a, recall_d), _difference(specificity_d, specificity_a)


def rd(g: Groups) -> float:
    return _dla(g)[0]


def sd(g: Groups) -> float:
    return _dla(g)[1]


def cddpl(g: Groups) -> float:
    return _cdd(g, _predicted(g))


def te(g: Groups) -> float:
    g.require_both()
    _, _, fa, fna = _quadrants(g, ~g.d)
    _, _, fd, fnd = _quadrants(g, g.d)
    return _difference(_divide(fnd, fd), _divide(fna, fa))


def ft(g: Groups) -> float:
    """The flip test: a k-nearest-neighbours model of ``a``'s predictions, asked about ``d``'s
    rows; the share of ``d`` whose prediction would flip to favourable minus those that would
    flip away (smclarify's FlipTest, the same neighbours)."""
    from sklearn.neighbors import KNeighborsClassifier

    p = _predicted(g)
    g.require_both()
    if g.features is None:
        raise MetricUndefined("FlipTest needs the feature columns")
    na, _ = g.sizes()
    knn = KNeighborsClassifier(n_neighbors=FT_NEIGHBOURS if na > FT_SAMPLES_THRESHOLD else FT_MIN_NEIGHBOURS)
    knn.fit(g.features[~g.d], p[~g.d])
    if_a = knn.predict(g.features[g.d]).astype(bool)
    model = p[g.d]
    return _divide(_count(model & ~if_a) - _count(~model & if_a), len(model))


def ge(g: Groups) -> float:
    """Generalized entropy with alpha 2 over every row (it does not depend on the facet)."""
    p = _predicted(g)
    if len(p) == 0:
        raise MetricUndefined("dataset must be non-empty")
    benefit = p.astype(float) - g.label.astype(float) + 1
    mean = benefit.mean()
    if mean == 0:
        raise MetricUndefined("All predicted labels are false negatives. There should be at least one prediction that is not false negative.")
    return float(((benefit / mean) ** 2 - 1).sum() / (len(p) * 2 * 1))


FUNCTIONS: Dict[str, Callable[[Groups], float]] = {
    "CDDL": cddl, "CI": ci, "DPL": dpl, "JS": js, "KL": kl, "KS": ks, "LP": lp, "TVD": tvd,
    "AD": ad, "CDDPL": cddpl, "DAR": dar, "DCA": dca, "DCR": dcr, "DI": di, "DPPL": dppl, "DRR": drr,
    "FT": ft, "GE": ge, "RD": rd, "SD": sd, "TE": te,
}  # fmt: skip


def metric(name: str, description: str, g: Groups) -> Dict[str, Any]:
    """One metric as Clarify writes it."""
    try:
        value = float(FUNCTIONS[name](g))
    except MetricUndefined as exc:
        return {"name": name, "description": description, "value": None, "error": str(exc)}
    if math.isnan(value):
        return {"name": name, "description": description, "value": None, "error": "the value is undefined (NaN)"}
    if math.isinf(value):
        return {"name": name, "description": description, "value": "Infinity" if value > 0 else "-Infinity"}
    return {"name": name, "description": description, "value": value}


@dataclass
class Table:
    """The analysed rows: columns by name, favourable labels and, after training, predictions."""

    columns: Dict[str, np.ndarray]
    label: np.ndarray
    predicted: Optional[np.ndarray] = None
    features: Optional[List[str]] = None

    def __len__(self) -> int:
        return len(self.label)


def _stage(table: Table, config: BiasConfig, metrics: Dict[str, str], predicted: Optional[np.ndarray]) -> Dict[str, Any]:
    missing = [name for name in config.columns() if name not in table.columns]
    if missing:
        raise BiasConfigError(f"the dataset has no column {', '.join(repr(m) for m in missing)} (it has: {', '.join(table.columns)})")
    facets: Dict[str, List[Dict[str, Any]]] = {}
    group = table.columns[config.group_variable] if config.group_variable else None
    for facet in config.facets:
        column = table.columns[facet.name]
        features = None
        if "FT" in metrics and table.features:
            names = [name for name in table.features if name != facet.name]
            features = np.column_stack([table.columns[name] for name in names]) if names else None
        entries = []
        for value, d in facet.groups(column):
            g = Groups(d=np.asarray(d, dtype=bool), label=table.label, predicted=predicted, group=group, features=features)
            entries.append({"value_or_threshold": value, "metrics": [metric(name, description, g) for name, description in metrics.items()]})
        facets[facet.name] = entries
    return {"label": config.label, "facets": facets, "label_value_or_threshold": ",".join(_number(v) for v in config.label_values)}


def pre_training(table: Table, config: BiasConfig) -> Dict[str, Any]:
    """``pre_training_bias_metrics``: the labels alone."""
    return _stage(table, config, PRE_TRAINING_METRICS, None)


def post_training(table: Table, config: BiasConfig) -> Dict[str, Any]:
    """``post_training_bias_metrics``: the model's favourable predictions against the labels."""
    if table.predicted is None:
        raise BiasConfigError("post-training metrics need the model's predictions")
    return _stage(table, config, POST_TRAINING_METRICS, table.predicted)


def analysis(pre: Optional[Dict[str, Any]] = None, post: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Clarify's analysis.json."""
    document: Dict[str, Any] = {"version": VERSION}
    if pre is not None:
        document[PRE_TRAINING] = pre
    if post is not None:
        document[POST_TRAINING] = post
    return document


def favourable(values: np.ndarray, config: BiasConfig) -> np.ndarray:
    """Which labels are a favourable outcome."""
    return np.isin(values, np.asarray(config.label_values, dtype=float))


def predicted_favourable(probability: np.ndarray, config: BiasConfig) -> np.ndarray:
    """Which predictions are a favourable outcome: the probability made a 0/1 label at the
    threshold (at or above it: 1), then checked against the favourable values."""
    return favourable((probability >= config.probability_threshold).astype(float), config)


# ---- reading a report ----------------------------------------------------------------------
def values(document: Dict[str, Any], name: str, section: str = POST_TRAINING) -> List[Tuple[str, str, Any]]:
    """(facet, value_or_threshold, value) of metric ``name`` in every facet group of a report."""
    found = []
    for facet, entries in (document.get(section) or {}).get("facets", {}).items():
        for entry in entries:
            for item in entry.get("metrics", []):
                if item.get("name") == name:
                    found.append((facet, entry.get("value_or_threshold"), item.get("value")))
    return found


def numeric(value: Any) -> Optional[float]:
    """A metric's value as a number ("Infinity" included), or None when it has none."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if value in ("Infinity", "-Infinity"):
        return float(value.replace("Infinity", "inf"))
    return None


def group_value(value_or_threshold: Any) -> str:
    """The configured value of a facet group: ``2`` for ``2``, the threshold ``40`` for the
    interval ``(40, 79]`` (whose top is the data's largest value, so it differs between the
    baseline and a window; the check matches groups by this)."""
    text = str(value_or_threshold)
    return text[1:].split(",")[0] if text.startswith("(") else text


def _subset(table: Table, keep: np.ndarray) -> Table:
    """The rows ``keep`` of ``table``, without the features: the jackknife leaves the flip test out."""
    return Table(
        columns={name: column[keep] for name, column in table.columns.items()},
        label=table.label[keep],
        predicted=None if table.predicted is None else table.predicted[keep],
        features=None,
    )


def _keyed(document: Dict[str, Any]) -> Dict[Tuple[str, str, str, str], float]:
    found = {}
    for section in (PRE_TRAINING, POST_TRAINING):
        for facet, entries in (document.get(section) or {}).get("facets", {}).items():
            for entry in entries:
                for item in entry.get("metrics", []):
                    value = numeric(item.get("value"))
                    if value is not None and math.isfinite(value):
                        found[(section, facet, group_value(entry.get("value_or_threshold")), item["name"])] = value
    return found


def standard_errors(table: Table, config: BiasConfig, blocks: int = JACKKNIFE_BLOCKS) -> Dict[Tuple[str, str, str, str], float]:
    """Each metric's standard error on this window, by the delete-a-group jackknife: the rows in
    ``blocks`` seeded random groups (by the rows' sorted order, so any order of the same rows
    gives the same groups), the metrics again without each group in turn, and
    ``sqrt((m - 1) / m * sum((value_i - mean)^2))`` over the ``m`` groups a metric was defined
    without (keyed by section, facet, group value, metric)."""
    generator = np.random.Generator(np.random.PCG64(JACKKNIFE_SEED))
    # The groups depend on the rows, not on their order: the same hour read from its capture
    # files in another order (they come from several workers) gets the same errors and verdict.
    keys = [table.columns[name] for name in sorted(table.columns)] + [table.label.astype(float)]
    if table.predicted is not None:
        keys.append(table.predicted.astype(float))
    assignment = np.empty(len(table), dtype=int)
    assignment[np.lexsort(keys[::-1])] = generator.permutation(len(table)) % blocks
    replicates: Dict[Tuple[str, str, str, str], List[float]] = {}
    for block in range(blocks):
        subset = _subset(table, assignment != block)
        document = analysis(pre_training(subset, config), post_training(subset, config) if subset.predicted is not None else None)
        for key, value in _keyed(document).items():
            replicates.setdefault(key, []).append(value)
    errors = {}
    for key, found in replicates.items():
        if len(found) >= 2:
            values = np.asarray(found)
            errors[key] = float(math.sqrt((len(found) - 1) / len(found) * float(np.sum((values - values.mean()) ** 2))))
    return errors


def tolerance(comparisons: int, false_alarm_rate: float = FALSE_ALARM_RATE, blocks: int = JACKKNIFE_BLOCKS) -> float:
    """How many standard errors a metric may be worse than its baseline before it is a violation:
    one-sided, Bonferroni over the window's ``comparisons`` so that a clean window breaks any
    with probability at most ``false_alarm_rate``; Student's t with ``blocks - 1`` degrees of
    freedom, since the jackknife's errors are themselves estimates."""
    z = NormalDist().inv_cdf(1.0 - false_alarm_rate / max(comparisons, 1))
    # The normal quantile made Student's t's by its Cornish-Fisher expansion (Abramowitz and Stegun 26.7.5).
    df = max(blocks - 1, 1)
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2) + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3)


def violations(
    current: Dict[str, Any], constraints: Dict[str, Any], errors: Optional[Dict[Tuple[str, str, str, str], float]] = None, false_alarm_rate: float = FALSE_ALARM_RATE
) -> List[Dict[str, str]]:
    """Clarify's bias-drift check: each metric further from its ideal than the constraint's
    value; with ``errors`` (``standard_errors``) further by more than ``tolerance`` of them."""
    limits = {}
    for section in (PRE_TRAINING, POST_TRAINING):
        for facet, entries in (constraints.get(section) or {}).get("facets", {}).items():
            for entry in entries:
                for item in entry.get("metrics", []):
                    limits[(section, facet, group_value(entry.get("value_or_threshold")), item.get("name"))] = numeric(item.get("value"))
    compared = []
    for section in (PRE_TRAINING, POST_TRAINING):
        for facet, entries in (current.get(section) or {}).get("facets", {}).items():
            for entry in entries:
                for item in entry.get("metrics", []):
                    key = (section, facet, group_value(entry.get("value_or_threshold")), item.get("name"))
                    limit, value = limits.get(key), numeric(item.get("value"))
                    if errors is not None and key[3] in NOT_CHECKED_ON_WINDOWS:
                        continue
                    if limit is not None and value is not None:
                        compared.append((key, value, limit))
    z = tolerance(len(compared), false_alarm_rate) if errors is not None else 0.0
    found = []
    for (_section, facet, group, name), value, limit in compared:
        ideal = IDEAL.get(name, 0.0)
        error = (errors or {}).get((_section, facet, group, name), 0.0) if errors is not None else None
        if abs(value - ideal) - z * (error or 0.0) > abs(limit - ideal):
            if error is None:
                description = f"Value {value!r} does not meet the constraint requirement"
            else:
                description = (f"Value {value!r} +/- {error:.4g} does not meet the constraint requirement: further from the ideal {ideal:g} "
                               f"than the baseline's {limit!r} by more than {z:.2f} standard errors")  # fmt: skip
            found.append({"facet": facet, "facet_value": group, "metric_name": name, "constraint_check_type": CHECK_TYPE, "description": description})
    return found
