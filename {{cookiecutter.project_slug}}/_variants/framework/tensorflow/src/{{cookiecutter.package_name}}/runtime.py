"""What the service must know about TensorFlow to serve its models: read by gunicorn_conf.py,
this package's ``__init__`` and the command line. Data only, and nothing imported, because it
is read before TensorFlow may be imported.
"""

#: Set before the server imports TensorFlow (a variable set yourself wins). Threads per worker
#: for TensorFlow's operators (TF_NUM_INTRAOP_THREADS within an operator,
#: TF_NUM_INTEROP_THREADS across them): one, because WEB_CONCURRENCY workers already use every
#: core, and more threads per worker only contend for them. A model whose single prediction is
#: heavy may gain from a few: set them yourself, and measure.
SERVER_ENVIRONMENT: dict[str, str] = {
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "1",
    "OMP_NUM_THREADS": "1",
}
#: Set whenever this package is imported, before anything imports TensorFlow, which reads them
#: then: warnings and errors only on stderr (2), and no oneDNN notice (the same numerics on
#: every CPU).
IMPORT_ENVIRONMENT: dict[str, str] = {"TF_CPP_MIN_LOG_LEVEL": "2", "TF_ENABLE_ONEDNN_OPTS": "0"}
#: Each worker loads the app and the model itself, after the fork. A worker forked from a
#: master that has used the TensorFlow runtime at all (loading a SavedModel is enough) hangs on
#: its first operator. Start-up costs one model load per worker.
LOAD_BEFORE_FORK = False
#: Whether the model's files are all it needs to load: its classes and its categories' values
#: come too (``--model-metadata``, what ``predict.describe_model`` writes; see README.md).
NEEDS_MODEL_METADATA = True
#: Whether the model computes in float32, so a number the API accepts (up to 1e100) can be
#: infinite to it: the network's inputs are float32.
COMPUTES_IN_FLOAT32 = True
#: The help of ``models register``.
REGISTER_HELP = "Register PATH, a SavedModel directory exported in a notebook, as the next version."
