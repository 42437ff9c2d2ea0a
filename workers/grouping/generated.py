"""Generated and dynamic code: names with per-run or per-build noise, per platform.

Code that a runtime or a tool generates carries counters, addresses or hashes
that differ between processes and builds; grouping keeps the stable part so
such frames never split an issue. Sentry's newstyle rules: Java reflection
accessors (`GeneratedMethodAccessor12` -> the prefix), CGLIB, javassist,
Spring/Hibernate proxies, Clojure `fn__123` (-> `<auto>`), `$$Lambda$` classes
(ignored), Ruby ERB template methods. Added for what newer runtimes emit:

* Java: JDK 21 hidden lambda classes `Foo$$Lambda/0x...` are ignored like
  `$$Lambda$`; other hidden classes lose their `/0x...` address
  (`LambdaForm$MH/0x...`); dynamic proxies `$Proxy12` in `jdk.proxy2` or
  `com.sun.proxy`, Hibernate 5+ `$HibernateProxy$x7Yk`, ByteBuddy
  `$ByteBuddy$a1b2` and Mockito `$MockitoMock$123` -> `<auto>`.
* Python: `<decorator-gen-12>` and `<ipython-input-3-5e1c9b>` filenames lose
  their counters.
* PHP: 8.4 closures `{closure:App\\Foo::bar():12}` -> `{closure}`; eval'd code
  `x.php(12) : eval()'d code` loses the line number.
* Ruby: `(eval at /app/x.rb:12)` -> `(eval)`; ERB methods with a negative
  template hash (`__-1234_5678`) are cleaned like positive ones.
* JavaScript: frames of eval'd and `new Function` code are ignored in every
  browser's form (see frames.py).
"""

from __future__ import annotations

import re

_JAVA_REFLECT = re.compile(r"(sun\.reflect\.Generated(?:Serialization)?ConstructorAccessor)\d+")
_JAVA_CGLIB = re.compile(r"(\$\$[\w_]+?CGLIB\$\$)[a-fA-F0-9]+(_[0-9]+)?")
JAVA_ASSIST = re.compile(r"(\$\$_javassist)(?:_seam)?(?:_[0-9]+)?")
_CLOJURE = re.compile(r"(\$fn__)\d+")
_JAVA_ENHANCER_BY = re.compile(r"(\$\$EnhancerBy[\w_]+?\$\$)[a-fA-F0-9]+(_[0-9]+)?")
_JAVA_FAST_CLASS_BY = re.compile(r"(\$\$FastClassBy[\w_]+?\$\$)[a-fA-F0-9]+(_[0-9]+)?")
_JAVA_HIBERNATE_PROXY = re.compile(r"(\$\$_hibernate_proxy\$\$)\w+")
_JAVA_NUMBERED_PROXIES = re.compile(r"(\$Proxy|\$MockitoMock\$|\bjdk\.proxy)\d+")
_JAVA_HASHED_PROXIES = re.compile(r"(\$HibernateProxy\$|\$ByteBuddy\$)[A-Za-z0-9]+")
_JAVA_HIDDEN_CLASS = re.compile(r"/0x[0-9a-fA-F]+$")
_JAVA_CODEGEN = (
    _JAVA_REFLECT,
    _JAVA_CGLIB,
    JAVA_ASSIST,
    _CLOJURE,
    _JAVA_ENHANCER_BY,
    _JAVA_FAST_CLASS_BY,
    _JAVA_HIBERNATE_PROXY,
    _JAVA_NUMBERED_PROXIES,
    _JAVA_HASHED_PROXIES,
)
_REFLECTION_MARKERS = (
    "sun.reflect.GeneratedMethodAccessor",
    "jdk.internal.reflect.GeneratedMethodAccessor",
)
_PYTHON_GENERATED_FILES = re.compile(r"^<(decorator-gen|ipython-input)-[\w-]+>$")
_PHP_EVAL_FILE = re.compile(r"\(\d+\) : (eval\(\)'d code|runtime-created function)$")
_PHP_CLOSURE = re.compile(r"\{closure:[^{}]*\}")
_RUBY_EVAL_FILE = re.compile(r"^\(eval at .*\)$")
RUBY_ERB = re.compile(r"__-?\d{4,}_\d{4,}$")


def java_module(module: str) -> tuple[str, bool, str | None]:
    """(value, contributes, hint) of a Java module; hint None when unchanged."""
    if "$$Lambda$" in module or "$$Lambda/" in module:
        return module, False, "ignored java lambda"
    for marker in _REFLECTION_MARKERS:
        if module.startswith(marker):
            return marker, True, "removed reflection marker"
    cleaned = _JAVA_HIDDEN_CLASS.sub("", module)
    for pattern in _JAVA_CODEGEN:
        cleaned = pattern.sub(r"\1<auto>", cleaned)
    if cleaned != module:
        return cleaned, True, "removed codegen marker"
    return module, True, None


def generated_filename(filename: str, name: str, platform: str) -> str | None:
    """The stable basename of a generated file (`name` is the basename of
    `filename`), or None when nothing changes."""
    if platform == "java":
        cleaned = JAVA_ASSIST.sub(r"\1<auto>", name)
    elif platform == "python":
        cleaned = _PYTHON_GENERATED_FILES.sub(r"<\1>", name)
    elif platform == "php":
        cleaned = _PHP_EVAL_FILE.sub(r" : \1", name)
    elif platform == "ruby":
        # Ruby 3.3 names eval'd code after its caller: "(eval at /app/x.rb:12)".
        cleaned = "(eval)" if _RUBY_EVAL_FILE.match(filename) else name
    else:
        return None
    return cleaned if cleaned != name else None


def php_closure(func: str) -> str:
    """PHP 8.4 names closures by file and line: `{closure:...:12}` -> `{closure}`."""
    return _PHP_CLOSURE.sub("{closure}", func) if "{closure:" in func else func
