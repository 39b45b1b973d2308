import gc
import sys

from pipelines.cli import main

code = main()
# A loop's process holds millions of objects (Prefect, MLflow, Feast, GX, Evidently and
# their frames): the interpreter's final garbage collections over all of them took 2.5 s
# of the exit here. Frozen, the collector skips them; exit handlers (Prefect's last logs,
# the temporary API's stop) still run, and the memory goes back with the process.
gc.freeze()
sys.exit(code)
