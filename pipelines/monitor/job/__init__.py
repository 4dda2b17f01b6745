"""The monitoring job: exactly what the analyzer bundle (``monitor-analyzer.pyz``) ships.

Nothing here imports the host side (``pipelines.monitor.schedules``, the engine, the stores):
the bundle runs in a processing job on a stock SageMaker image. Folders by family:

    common/         what every job uses, on either image: the capture layout, the window's
                    hours, S3, captured requests as rows, CloudWatch metrics, the job's result
    capture/        the columnar capture reader and the merge with ground truth (pyarrow)
    data_quality/   Model Monitor's data quality: statistics, KLL sketches, constraints, checks
    model_quality/  Model Monitor's model quality: the metrics and the analysis
    clarify/        Clarify's bias metrics and attributions, their jobs and monitors
    html/           the HTML reports and timelines
    main.py         the bundle's job modes (``baseline``, ``monitor``, ``quality-*``)
    environment.py  the model-monitor-analyzer container's environment contract

``common/``, ``clarify/`` and ``html/`` keep to Python 3.8 without pyarrow: the explain and
attribution jobs run on the built-in XGBoost image. The rest keeps to the scikit-learn image's
Python 3.9. A test walks these folders with vermin, and one checks the seam.
"""
