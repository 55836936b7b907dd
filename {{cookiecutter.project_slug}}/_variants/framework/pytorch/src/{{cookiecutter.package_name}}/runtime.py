"""What the service must know about PyTorch to serve its models: read by gunicorn_conf.py, this
package's ``__init__`` and the command line. Data only, and nothing imported, because it is
read before torch may be imported.
"""

#: Set before the server imports torch (a variable set yourself wins). Threads per worker for
#: PyTorch's operators: one, because WEB_CONCURRENCY workers already use every core, and more
#: threads per worker only contend for them. A model whose single prediction is heavy may gain
#: from a few: set OMP_NUM_THREADS yourself, and measure.
SERVER_ENVIRONMENT: dict[str, str] = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
#: Set whenever this package is imported, before anything imports torch: nothing.
IMPORT_ENVIRONMENT: dict[str, str] = {}
#: Each worker loads the app and the model itself, after the fork. PyTorch is not fork-safe:
#: once the master has run a multi-threaded operator, a forked worker's next one can hang for
#: ever (seen as WORKER TIMEOUT). Start-up costs one model load per worker.
LOAD_BEFORE_FORK = False
#: Whether the model's files are all it needs to load: a state_dict needs the network's
#: hyperparameters, classes and categories' values too (``--model-metadata``, what
#: ``predict.describe_model`` writes; see README.md).
NEEDS_MODEL_METADATA = True
#: Whether the model computes in float32, so a number the API accepts (up to 1e100) can be
#: infinite to it: the network's inputs are float32.
COMPUTES_IN_FLOAT32 = True
#: The help of ``models register``.
REGISTER_HELP = """Register PATH, a state_dict saved with torch.save in a notebook, as the next version.

The state_dict is loaded with weights_only=True: tensors only, no code.
"""
