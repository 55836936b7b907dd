"""The standard protocols, each a thin adapter over the one inference path.

    oip.py          the Open Inference Protocol (KServe V2, Triton, MLServer): /v2/...
    tensors.py      its tensors, in JSON and in the binary tensor data extension
    kserve_v1.py    KServe's V1 protocol: /v1/models/{name}[:predict]
    invocations.py  SageMaker's and MLflow's /ping and /invocations (JSON and CSV)
    vertex.py       Vertex AI's health and predict routes, from AIP_HEALTH_ROUTE and
                    AIP_PREDICT_ROUTE
    tables.py       records from the rows, columns and CSV lines these protocols send

Each turns its request into records, lets ``scoring.predict_records`` (the one inference
path) validate, score, count and log them (so prediction ids, X-Model-Version, metrics and
feedback work whatever the protocol), and words the answer and every error its own way
(``dialects.py``).
"""
