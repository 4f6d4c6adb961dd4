# dpex python-shim: the __main__.py at the root of every dehydrated app.pex.
#
# Two ways in:
# - `python app.pex args`: Python runs this file from inside the zip. We hand
#   over to the native launcher at the front of the same file, telling it to
#   keep this interpreter (and its flags, like -u).
# - `./app.pex args`: the launcher has prepared the environment and runs
#   `<venv>/bin/python [flags] <app dir>/__main__.py args`; we boot the entry point.
import os
import sys


def _hand_over_to_launcher(pex):
    flags = []
    orig_argv = getattr(sys, "orig_argv", None)  # Python 3.10+
    if orig_argv and len(orig_argv) > len(sys.argv):
        flags = orig_argv[1 : len(orig_argv) - len(sys.argv)]
    env = dict(os.environ)
    env["__DPEX_PYTHON"] = sys.executable
    env["__DPEX_PYTHON_ARGS"] = "\x1f".join(flags)
    try:
        os.execve(pex, [pex] + sys.argv[1:], env)
    except OSError as e:
        import errno

        if e.errno == errno.EACCES:
            advice = "Make it executable (chmod +x %s), or copy it off a noexec mount, and run it again." % pex
        elif e.errno == errno.ENOEXEC:
            advice = "Its launcher was built for another kind of machine: rebuild the app with a dpex for this one."
        else:
            advice = "Check the file and run it again."
        sys.stderr.write("dpex: error: cannot run the launcher at the front of %s (%s). %s\n" % (pex, e, advice))
        sys.exit(1)


def _main():
    # Not normalized: `python ./app.pex` gives the app sys.argv[0] `/cwd/./app.pex`,
    # as pex does (Python made __file__ absolute that way).
    main_file = __file__ if os.path.isabs(__file__) else os.path.join(os.getcwd(), __file__)
    here = os.path.dirname(main_file)
    if os.path.isfile(here):
        _hand_over_to_launcher(here)
    if "__DPEX_ENTRY" not in os.environ:
        sys.stderr.write(
            "dpex: error: %s is a dpex app's cache entry, not an app; run the app.pex file instead.\n" % here
        )
        sys.exit(1)
    from __dpex__ import boot

    boot.main(here)


if __name__ == "__main__":
    _main()
