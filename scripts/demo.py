"""``make demo``: the pipeline on the local twin, end to end on the bundled data.

1. render the SageMaker pipeline definition offline and show its step graph;
2. run that same definition JSON on the local engine, tagged with the repository's commit:
   Preprocess, Train (built-in XGBoost contract), Evaluate, CheckAuc ...;
3. run it again: every job step is a cache hit.

State lands under ``$MLOPS_HOME`` (default ``.mlops/``); ``make clean`` removes it. Steps whose
type the local engine cannot run yet (the data-quality baseline, registration, deployment)
are listed as not executed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines import definition, graph, local_run  # noqa: E402
from pipelines.cli.handler import configure_logging  # noqa: E402
from pipelines.cli.progress import Printer, summary  # noqa: E402
from pipelines.engine.home import Home  # noqa: E402
from pipelines.fileio import write_text_atomic  # noqa: E402


def banner(title: str) -> None:
    print(f"\n== {title}", flush=True)


def main() -> int:
    configure_logging()
    home = Home.resolve()
    timings: dict[str, float] = {}

    banner("1. Render the SageMaker pipeline definition (offline, no AWS account)")
    started = time.perf_counter()
    pipeline = definition.build(definition.DEFAULT_MODULE, {})
    document = definition.render(pipeline)
    write_text_atomic(home.root / "definition.json", definition.dumps(document))
    for node in graph.steps(document):
        branch = f"  [{node.branch}]" if node.branch else ""
        print(f"   {node.name:<20} {node.type:<15} after: {', '.join(node.upstream) or '-'}{branch}")
    print(f"   written to {home.root / 'definition.json'}")
    timings["render"] = time.perf_counter() - started

    commit = local_run.local_commit(allow_dirty=True)
    runs = [("2. Run it on the local engine (no AWS, no Docker)", "cold run"), ("3. Run it again: unchanged steps come from the cache", "cached run")]
    results = []
    for title, label in runs:
        banner(title)
        started = time.perf_counter()
        result = local_run.run(home, document, pipeline.name, {}, commit, progress=Printer())
        timings[label] = time.perf_counter() - started
        print(summary(result, home), flush=True)
        results.append(result)
        if result.status != "Succeeded":
            return 1

    banner("Summary")
    for name, seconds in timings.items():
        print(f"   {name:<11} {seconds:6.2f} s")
    print(f"   commit:     {commit.sha if commit else 'not a git repository'}")
    print(f"   executions: mlops executions list   (state in {home.root})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
