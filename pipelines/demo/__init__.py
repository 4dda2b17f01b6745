"""The demo: the whole story on one machine, told in the terminal: commit -> pipeline ->
approval -> endpoint -> traffic -> monitoring -> ground truth and model quality -> fairness and
explanations -> drift alarm -> retraining -> lineage, with what each part took.

``mlops demo`` (and ``make demo``) runs it. Traffic is sent through the real endpoint server
with real signed boto3 clients. The server stamps capture with a clock the demo drives
(``mlops serve --clock-file``): the demo sets the clock to a simulated hour, sends that hour's
requests and waits for their answers before it moves to the next hour, so a few seconds of
traffic fill several capture hours and no hour can spill into another, however busy the
machine is. The monitoring schedule's hourly executions then analyse those hours exactly as
they would in production. Every request carries an InferenceId; the held-out rows' real labels
arrive an hour after their predictions, as ground truth, and a model-quality schedule measures
the model's AUC hour by hour next to the drift. The pipeline's bias gate is shown as it decided,
and bias and feature-attribution schedules measure each facet group's disparate impact and the
features' SHAP attributions hour by hour. Each run uses fresh simulated hours, so running the
demo again works.
"""
