# dpex python-shim: the __main__.py at the root of every dehydrated app.pex.
#
# Two ways in (both handled by __dpex__/__init__.py's start):
# - `python app.pex args`: Python runs this file from inside the zip; boot hands
#   over to the native launcher at the front of the same file, telling it to
#   keep this interpreter (and its flags, like -u).
# - `./app.pex args`: the launcher has prepared the environment and runs
#   `<venv>/bin/python [flags] <app dir>/__main__.py args`; boot runs the entry point.
#   Boot then keeps a copy of its bytecode as `<app dir>/__dpex_main__.<magic>.pyc`,
#   which later starts run in place of this file (no compile, no import).
#
# Only an import and a call: Python compiles a script's source on every start,
# while boot is loaded from its cached bytecode (issue 10: the warm start). That
# bytecode is written into the app's cache entry on the first start even under
# PYTHONDONTWRITEBYTECODE (set in many Docker images), which would otherwise make
# every start compile boot again (~4 ms); the app's own modules and its wheels'
# follow the setting. Keep the first line as it is: boot reads it to tell this
# file from one with more in it (a --preamble-file), which must keep running.
import sys

_dont_write_bytecode = sys.dont_write_bytecode
sys.dont_write_bytecode = False
import __dpex__ as boot

sys.dont_write_bytecode = _dont_write_bytecode

if __name__ == "__main__":
    boot.start(__file__)
