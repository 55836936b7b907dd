"""What the service must know about scikit-learn to serve its models: read by gunicorn_conf.py,
this package's ``__init__`` and the command line. Data only, and nothing imported, because it
is read before scikit-learn or numpy may be imported.
"""

#: Set before the server imports numpy or scikit-learn (a variable set yourself wins). Native
#: thread pools (OpenMP, OpenBLAS, MKL) get one thread per worker. Two reasons: the workers
#: already use every core, and a worker forked from a master that has run a multi-threaded
#: prediction (the warm-up, with LOAD_BEFORE_FORK) hangs on its first prediction.
SERVER_ENVIRONMENT: dict[str, str] = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
#: Set whenever this package is imported, before anything imports scikit-learn: nothing.
IMPORT_ENVIRONMENT: dict[str, str] = {}
#: Load and verify the model once, in gunicorn's master (``preload_app``): the workers share its
#: memory pages copy-on-write, and a recycled worker is a cheap fork. Safe because of the thread
#: limits above.
LOAD_BEFORE_FORK = True
#: Whether the model's files are all it needs to load (then ``models register`` takes no
#: ``--model-metadata``).
NEEDS_MODEL_METADATA = False
#: Whether the model computes in float32, so a number the API accepts (up to 1e100) can be
#: infinite to it: scikit-learn computes in float64.
COMPUTES_IN_FLOAT32 = False
#: The help of ``models register``.
REGISTER_HELP = """Register PATH, a model file saved in a notebook, as the next version.

Loading a pickle or joblib file runs code from it: register only files you trust.
"""
