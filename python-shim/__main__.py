# dpex python-shim: the __main__.py at the root of every dehydrated app.pex.
#
# Two ways in (both handled by __dpex__/boot.py's start):
# - `python app.pex args`: Python runs this file from inside the zip; boot hands
#   over to the native launcher at the front of the same file, telling it to
#   keep this interpreter (and its flags, like -u).
# - `./app.pex args`: the launcher has prepared the environment and runs
#   `<venv>/bin/python [flags] <app dir>/__main__.py args`; boot runs the entry point.
#
# Only an import and a call: Python compiles a script's source on every start,
# while boot is loaded from its cached bytecode (issue 10: the warm start).
from __dpex__ import boot

if __name__ == "__main__":
    boot.start(__file__)
