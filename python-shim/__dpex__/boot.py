"""Run what the launcher chose (passed in __DPEX_ENTRY) the way pex does.

- ``entry_point:module`` runs the module as ``__main__``;
- ``entry_point:module:func`` calls func and exits with its result (int: exit
  code; str: printed to stderr, exit 1; None: 0);
- ``script:name`` runs a console script (or a ``.data/scripts`` file) of a
  locked wheel;
- ``interpreter`` behaves like ``python``: ``-c``, ``-m``, a file, ``-``, the REPL.
"""
import os
import sys


def main(app_dir):
    entry = os.environ.pop("__DPEX_ENTRY", "interpreter")
    inherit_path = os.environ.pop("__DPEX_INHERIT_PATH", "false")
    _put_app_first(app_dir)
    _arrange_sys_path(inherit_path)
    _add_extra_sys_path(os.environ.pop("__DPEX_EXTRA_SYS_PATH", ""))
    sys.argv[0] = os.environ.get("PEX", app_dir)
    kind, _, value = entry.partition(":")
    if kind == "entry_point":
        run_entry_point(value)
    elif kind == "script":
        run_script(value)
    else:
        run_interpreter(sys.argv[1:])


def _put_app_first(app_dir):
    """The app's own code comes first, even under -P/-I/PYTHONSAFEPATH (which
    keep Python from adding the script's folder), and even under -S (which
    keeps site from adding site-packages)."""
    if sys.flags.no_site:
        import site
        import sysconfig

        site.addsitedir(sysconfig.get_paths()["purelib"])
    sys.path[:] = [app_dir] + [p for p in sys.path if p != app_dir]


def _pythonpath_entries():
    value = os.environ.get("PYTHONPATH", "")
    return {os.path.abspath(p) for p in value.split(os.pathsep) if p}


def _arrange_sys_path(inherit_path):
    """PYTHONPATH entries: dropped (false), first (prefer) or last (fallback)."""
    inherited = _pythonpath_entries()
    if not inherited or inherit_path == "prefer":
        return
    from_env = [p for p in sys.path[1:] if p and os.path.abspath(p) in inherited]
    if not from_env:
        return
    sys.path[1:] = [p for p in sys.path[1:] if p not in from_env]
    if inherit_path == "fallback":
        sys.path.extend(from_env)


def _add_extra_sys_path(value):
    """PEX_EXTRA_SYS_PATH: appended to sys.path, and exported in PYTHONPATH so
    Python subprocesses see the same paths (pex does both)."""
    extra = [p for p in value.split(os.pathsep) if p]
    if not extra:
        return
    sys.path.extend(extra)
    current = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(([current] if current else []) + extra)


def run_entry_point(entry_point):
    module_name, _, func_path = entry_point.partition(":")
    if not func_path:
        import runpy

        runpy.run_module(module_name, run_name="__main__", alter_sys=True)
        return
    import importlib

    target = importlib.import_module(module_name)
    for attr in func_path.split("."):
        target = getattr(target, attr)
    sys.exit(target())


def run_script(name):
    from importlib import metadata

    try:
        scripts = metadata.entry_points(group="console_scripts")
    except TypeError:  # Python < 3.10
        scripts = metadata.entry_points().get("console_scripts", [])
    for script in scripts:
        if script.name == name:
            sys.exit(script.load()())
    path = os.path.join(sys.prefix, "bin", name)
    if os.path.isfile(path):
        with open(path, "rb") as f:
            first_line = f.readline()
        if first_line.startswith(b"#!") and b"python" in first_line:
            import runpy

            sys.argv[0] = path
            runpy.run_path(path, run_name="__main__")
            return
        os.execv(path, [path] + sys.argv[1:])
    sys.stderr.write(
        "dpex: error: no console script or script named %r in this app's wheels.\n" % name
    )
    sys.exit(1)


def _fresh_main_module(file=None):
    import types

    module = types.ModuleType("__main__")
    if file:
        module.__file__ = file
    module.__builtins__ = __builtins__
    sys.modules["__main__"] = module
    return module.__dict__


def _exec_source(source, filename, file=None):
    code = compile(source, filename, "exec")
    exec(code, _fresh_main_module(file))


def run_interpreter(args):
    if not args:
        if sys.stdin.isatty():
            import code

            sys.path.insert(0, "")
            code.interact(local=_fresh_main_module(), exitmsg="")
            return
        args = ["-"]
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
        sys.path.insert(0, os.getcwd())
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
            with open(path, "rb") as f:
                source = f.read()
        except OSError as e:
            sys.stderr.write("%s: can't open file %r: [Errno %d] %s\n" % (sys.executable, path, e.errno, e.strerror))
            sys.exit(2)
        _exec_source(source, path, os.path.abspath(path))


def _is_zip(path):
    import zipfile

    try:
        return zipfile.is_zipfile(path)
    except OSError:
        return False
