"""dpex python-shim: boots a dehydrated app inside the environment the native launcher
prepared. The package's own module (not a boot module inside it): one import less at every
start; what only the first start, a fresh environment, console scripts, inherit_path
prefer/fallback and resource bindings need is in rare.py, imported then (``_rare``).

Run what the launcher chose (passed in __DPEX_ENTRY) the way pex does.

- ``entry_point:module`` runs the module as ``__main__``;
- ``entry_point:module:func`` calls func and exits with its result (int: exit
  code; str: printed to stderr, exit 1; None: 0);
- ``script:name`` runs a console script (or a ``.data/scripts`` file) of a
  locked wheel;
- ``interpreter`` behaves like ``python``: ``-c``, ``-m``, a file, ``-``, the REPL.
"""
import os
import sys

# sys.argv[0] of the app (its path), for messages in interpreter mode.
app_argv0 = ""


def start(main_file):
    """Called by the app's __main__.py, in one of two ways: `python app.pex`
    (the folder of __main__.py is the app.pex file itself: hand over to the
    native launcher at its front), or by the launcher's python on the app's
    cache entry (run what it chose)."""
    # Not normalized: `python ./app.pex` gives the app sys.argv[0] `/cwd/./app.pex`,
    # as pex does (Python made __file__ absolute that way).
    if not os.path.isabs(main_file):
        main_file = os.path.join(os.getcwd(), main_file)
    here = os.path.dirname(main_file)
    if os.path.isfile(here):
        _hand_over_to_launcher(here)
    if "__DPEX_ENTRY" not in os.environ:
        sys.stderr.write(
            "dpex: error: %s is a dpex app's cache entry, not an app; run the app.pex file instead.\n" % here
        )
        sys.exit(1)
    main(here)


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


def main(app_dir):
    entry = os.environ.pop("__DPEX_ENTRY", "interpreter")
    fresh_cache = os.environ.pop("__DPEX_FRESH_ENV", None)
    if fresh_cache and not sys.dont_write_bytecode:
        _rare().compile_once_across_starts(fresh_cache)
    inherit_path = os.environ.pop("__DPEX_INHERIT_PATH", "false")
    keep_main_pyc = os.environ.pop("__DPEX_MAIN_PYC", None)
    if keep_main_pyc and _keep_main_pyc_wanted(app_dir):
        _rare().keep_main_pyc(keep_main_pyc, __file__, __cached__)
    _put_app_first(app_dir)
    _arrange_sys_path(app_dir, inherit_path, _extra_sys_path(os.environ.pop("__DPEX_EXTRA_SYS_PATH", "")))
    sys.argv[0] = os.environ.pop("__DPEX_ARGV0", "") or os.environ.get("PEX", app_dir)
    binds = os.environ.pop("__DPEX_BIND_RESOURCE_PATHS", "")
    if binds:
        _rare().bind_resource_paths(binds)
    kind, _, value = entry.partition(":")
    try:
        if kind == "entry_point":
            run_entry_point(value)
        elif kind == "script":
            _rare().run_script(value, _exec_source)
        else:
            run_interpreter(sys.argv[1:])
    except Exception:
        _check_cache_next_start()
        raise


def _keep_main_pyc_wanted(app_dir):
    """Whether this start can keep boot's bytecode for the next (rare.keep_main_pyc):
    CPython, boot imported from its source (not -O), and __main__.py the shim only. The
    launcher asks at every start of an app whose __main__.py runs a preamble, so this
    is checked here, without importing rare.py."""
    if sys.implementation.name != "cpython" or sys.flags.optimize or not globals().get("__cached__"):
        return False
    try:
        with open(os.path.join(app_dir, "__main__.py"), "rb") as f:
            return f.read(64).startswith(b"# dpex python-shim: ")
    except OSError:
        return False


def _rare():
    """The boot's module for the starts that are not the common warm one
    (rare.py), imported when one of them needs it. Its bytecode is kept in the
    app's cache entry whatever PYTHONDONTWRITEBYTECODE says, as this module's
    is (__main__.py)."""
    dont_write_bytecode = sys.dont_write_bytecode
    sys.dont_write_bytecode = False
    try:
        from __dpex__ import rare
    finally:
        sys.dont_write_bytecode = dont_write_bytecode
    return rare


def _check_cache_next_start():
    """The app dies of an uncaught exception: if it ran from a cache
    environment, leave the mark that makes the next start check the sizes of
    its wheels' files and repair damaged ones (a power cut can empty them;
    launcher/src/install/repair.rs). The traceback is unchanged."""
    if os.path.isfile(os.path.join(sys.prefix, "dpex-env.json")):
        try:
            open(os.path.join(sys.prefix, "dpex-check"), "ab").close()
        except OSError:
            pass  # a read-only cache layer: nothing to repair there


def _put_app_first(app_dir):
    """The app's own code comes first, even under -P/-I/PYTHONSAFEPATH (which
    keep Python from adding the script's folder), and even under -S (which
    keeps site from adding site-packages)."""
    if sys.flags.no_site:
        import site
        import sysconfig

        site.addsitedir(sysconfig.get_paths()["purelib"])
    sys.path[:] = [app_dir] + [p for p in sys.path if p != app_dir]


def _under(path, root):
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _arrange_sys_path(app_dir, inherit_path, extra):
    """sys.path in pex's order. `false`: the app, the stdlib, the app's
    packages (PYTHONPATH and site-packages dropped). `prefer`: PYTHONPATH, the
    app, the stdlib, the interpreter's site-packages, the app's packages.
    `fallback`: the app, the stdlib, the app's packages, the interpreter's
    site-packages, PYTHONPATH. PEX_EXTRA_SYS_PATH comes last. (pex puts the
    app's packages before the app's own code in fallback mode, and after
    PEX_EXTRA_SYS_PATH in the other modes; see docs/compat.md.)"""
    rest = sys.path[1:]
    inherited = []
    pythonpath = os.environ.get("PYTHONPATH")
    if pythonpath:  # only then an abspath per entry of sys.path
        inherited_set = {os.path.abspath(p) for p in pythonpath.split(os.pathsep) if p}
        inherited = [p for p in rest if p and os.path.abspath(p) in inherited_set]
        rest = [p for p in rest if p not in inherited]
    if inherit_path in ("prefer", "fallback"):
        at = next((i for i, p in enumerate(rest) if _under(p, sys.prefix)), len(rest))
        stdlib, packages = rest[:at], rest[at:]
        base = _rare().base_site_dirs()
        if inherit_path == "prefer":
            path = inherited + [app_dir] + stdlib + base + packages
        else:
            path = [app_dir] + stdlib + packages + base + inherited
    else:
        path = [app_dir] + rest  # the stdlib, then the app's packages
    path += extra
    seen = set()
    sys.path[:] = [p for p in path if not (p in seen or seen.add(p))]
    if extra:
        # Python subprocesses see the same additions (pex does this too; with
        # inherit_path false the user's PYTHONPATH is replaced, as in pex).
        current = os.environ.get("PYTHONPATH")
        keep = current.split(os.pathsep) if current and inherit_path != "false" else []
        os.environ["PYTHONPATH"] = os.pathsep.join(keep + extra)


def _extra_sys_path(value):
    """PEX_EXTRA_SYS_PATH entries as pex reads them: `~` expanded, normalized, deduplicated."""
    out = []
    for p in value.split(os.pathsep) if value else ():
        p = os.path.normpath(os.path.expanduser(p))
        if p not in out:
            out.append(p)
    return out


def run_entry_point(entry_point):
    module_name, _, func_path = entry_point.partition(":")
    if not func_path:
        import runpy

        runpy.run_module(module_name, run_name="__main__", alter_sys=True)
        return
    # __import__, not importlib.import_module: importing the importlib package (and
    # warnings with it) costs ~0.7 ms a start; an entry point's name is absolute.
    __import__(module_name)
    target = sys.modules[module_name]
    for attr in func_path.split("."):
        target = getattr(target, attr)
    sys.exit(target())


def _fresh_main_module(file=None):
    module = type(sys)("__main__")  # types.ModuleType, without importing types
    if file:
        module.__file__ = file
    module.__builtins__ = __builtins__
    sys.modules["__main__"] = module
    return module.__dict__


def _exec_source(source, filename, file=None):
    if filename == "<string>":
        # exec() of a str compiles it as "<string>", python -c's name, without
        # the builtin compile(), whose first call builds every AST node class
        # (~0.8 ms of a 12 ms `-c pass`; issue 10).
        exec(source, _fresh_main_module(file))
        return
    code = compile(source, filename, "exec")
    exec(code, _fresh_main_module(file))


def run_interpreter(args):
    global app_argv0
    app_argv0 = sys.argv[0]
    if not args:
        sys.path.insert(0, "")
        if sys.stdin.isatty():
            import code

            code.interact(local=_fresh_main_module(), exitmsg="")
            return
        # Not a terminal: run what comes in as a script, as python does (no
        # banner, no prompts); sys.argv stays [app], as in pex's REPL.
        _exec_source(sys.stdin.read(), "<stdin>")
        return
    first, rest = args[0], args[1:]
    if first == "-c":
        if not rest:
            sys.exit("Argument expected for the -c option")
        sys.argv = ["-c"] + rest[1:]
        sys.path.insert(0, "")
        _exec_source(rest[0], "<string>")
    elif first.startswith("-c"):
        sys.argv = ["-c"] + rest
        sys.path.insert(0, "")
        _exec_source(first[2:], "<string>")
    elif first == "-m" or (first.startswith("-m") and len(first) > 2):
        module = rest[0] if first == "-m" else first[2:]
        if first == "-m" and not rest:
            sys.exit("Argument expected for the -m option")
        import runpy

        sys.argv = [module] + (rest[1:] if first == "-m" else rest)
        sys.path.insert(0, "")
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    elif first == "-":
        sys.argv = ["-"] + rest
        sys.path.insert(0, "")
        _exec_source(sys.stdin.read(), "<stdin>")
    else:
        path = first
        sys.argv = [path] + rest
        if os.path.isdir(path) or not path.endswith(".py") and _is_zip(path):
            import runpy

            sys.path.insert(0, path)
            runpy.run_path(path, run_name="__main__")
            return
        sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
        try:
            with open(path if os.path.isfile(path) else os.path.join(path, "__main__.py"), "rb") as f:
                source = f.read()
        except OSError as e:
            # pex's message and exit status (python's would be 2).
            sys.exit("Could not open %s in the environment [%s]: %s" % (path, app_argv0, e))
        _exec_source(source, path, os.path.abspath(path))


def _is_zip(path):
    import zipfile

    try:
        return zipfile.is_zipfile(path)
    except OSError:
        return False


if __name__ == "__main__" and __file__.endswith(".pyc"):
    # This module's bytecode, run by the launcher as the script (rare.keep_main_pyc).
    # Leave things as the import from __main__.py does: this module is `__dpex__`
    # (warnings from its frames are not the `__main__` module's, which Python shows
    # by default), with the builtins dict, and `__main__` is a module of the app's
    # __main__.py (multiprocessing's spawn runs that file in its children).
    __name__ = "__dpex__"
    __builtins__ = __builtins__.__dict__
    sys.modules["__dpex__"] = sys.modules["__main__"]
    __path__ = [os.path.join(os.path.dirname(__file__), "__dpex__")]  # for rare.py
    _main = type(sys)("__main__")
    _main.__file__ = os.path.join(os.path.dirname(__file__), "__main__.py")
    _main.__builtins__ = __builtins__
    sys.modules["__main__"] = _main
    start(_main.__file__)
