"""Frame constructors per platform, shaped like each SDK reports them.

In-app frames live under the project's own source tree; library frames under
site-packages, node_modules or a JVM package outside the app's namespace, with
`in_app` set as the SDK would set it.
"""

from __future__ import annotations

from seed.model import Frame

PYTHON_SITE = "/usr/local/lib/python3.12/site-packages"
PYTHON_STDLIB = "/usr/local/lib/python3.12"
NODE_ROOT = "/app"
WEB_ROOT = "webpack://storefront/./"


def py_app(module: str, function: str, lineno: int, line: str, **extra) -> Frame:
    path = module.replace(".", "/") + ".py"
    return Frame(
        function=function,
        module=module,
        filename=path,
        abs_path=f"/app/{path}",
        lineno=lineno,
        context_line=line,
        in_app=True,
        **extra,
    )


def py_lib(module: str, function: str, lineno: int, line: str, *, stdlib: bool = False) -> Frame:
    path = module.replace(".", "/") + ".py"
    root = PYTHON_STDLIB if stdlib else PYTHON_SITE
    return Frame(
        function=function,
        module=module,
        filename=path,
        abs_path=f"{root}/{path}",
        lineno=lineno,
        context_line=line,
        in_app=False,
    )


def _node_module_name(path: str) -> str:
    # @sentry/node: directories joined by ".", then ":" and the file without extension.
    directory, _, file = path.rpartition("/")
    stem = file.rsplit(".", 1)[0]
    return f"{directory.replace('/', '.')}:{stem}" if directory else stem


def node_app(path: str, function: str, lineno: int, colno: int, line: str) -> Frame:
    return Frame(
        function=function,
        module=_node_module_name(path),
        filename=f"{NODE_ROOT}/{path}",
        abs_path=f"{NODE_ROOT}/{path}",
        lineno=lineno,
        colno=colno,
        context_line=line,
        in_app=True,
    )


def node_lib(path: str, function: str, lineno: int, colno: int, line: str | None = None) -> Frame:
    if path.startswith("node:"):
        return Frame(
            function=function,
            module=path.rsplit("/", 1)[-1],
            filename=path,
            abs_path=path,
            lineno=lineno,
            colno=colno,
            in_app=False,
        )
    inner = path.removeprefix("node_modules/")
    return Frame(
        function=function,
        module=_node_module_name(inner),
        filename=f"{NODE_ROOT}/{path}",
        abs_path=f"{NODE_ROOT}/{path}",
        lineno=lineno,
        colno=colno,
        context_line=line,
        in_app=False,
    )


def java(cls: str, method: str, lineno: int, *, in_app: bool) -> Frame:
    """A JVM frame; generated classes (proxies) have no source file and no line (0)."""
    simple = cls.rsplit(".", 1)[-1].split("$", 1)[0]
    filename = "<generated>" if "$$" in cls else f"{simple}.java"
    return Frame(
        function=method,
        module=cls,
        filename=filename,
        abs_path=filename,
        lineno=lineno,
        in_app=in_app,
    )


def web(path: str, function: str, lineno: int, colno: int, line: str | None) -> Frame:
    """A browser frame after source maps were applied (its minified form is derived)."""
    in_app = not path.startswith("node_modules/")
    module = path.removeprefix("node_modules/").rsplit(".", 1)[0]
    return Frame(
        function=function,
        module=module,
        filename=f"./{path}",
        abs_path=f"{WEB_ROOT}{path}",
        lineno=lineno,
        colno=colno,
        context_line=line,
        in_app=in_app,
        minified=True,
    )
