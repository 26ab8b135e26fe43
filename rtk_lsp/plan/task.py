"""Reading a task the way it is written: prose, code, tracebacks, messages and options.

An issue mixes parts that say different things. Prose says what is wrong in the
project's words; a traceback says where the program was; a code block says which
names the reporter called; a quoted message or an option is a string the code
prints or parses. `read_task` splits the text into those parts with regular
expressions and small scanners (no parser, no model) so that each part feeds its
own signal and the words of code and tracebacks do not flood the lexical query.

Long tasks are condensed, never refused: the text is read up to a bound (its head
and its tail, where the final error is), and every list has a cap.
"""

from __future__ import annotations

import builtins
import re
from dataclasses import dataclass

MAX_READ_CHARS = 16_000  # a longer task is read as its head and its tail (the tail holds the final error)
TAIL_CHARS = 6_000
MAX_FRAMES = 48  # per task; a deep traceback keeps the frames nearest each error
MAX_CODE_CHARS = 8_000  # of code blocks scanned for names
MAX_NAMES = 64
MAX_MESSAGES = 16
MAX_MESSAGE_CHARS = 240
MAX_OPTIONS = 16
MAX_ERRORS = 8
MAX_PROSE_CHARS = 6_000  # words beyond this say little that the first 6,000 characters did not

# Source extensions a frame may point at (a frame into a .so or <frozen ...> is not a workspace file).
_SRC_EXT = (
    r"(?:py|pyx|pyi|js|mjs|cjs|jsx|ts|tsx|mts|cts|rs|go|java|kt|scala|c|h|cc|cpp|cxx|hpp|hh|rb|php|cs|swift)"
)
_PATH_CHARS = r"[^\s\"'()\[\]<>,:]"
# A path, possibly with a Windows drive: `C:\x\y.py`, `/a/b.py`, `~/b.py`, `src\a.rs`, `a.go`.
_FRAME_PATH = rf"(?:[A-Za-z]:[\\/])?{_PATH_CHARS}*?\.{_SRC_EXT}"

# Python: `File "/x/y.py", line 12, in func`
_PY_FRAME = re.compile(
    rf'File "(?P<path>[^"\n]+?\.{_SRC_EXT})", line (?P<line>\d+)(?:, in (?P<func>[^\s]+))?'
)
# IPython 8: `File ~/x/y.py:12, in Class.method(self, a)`
_IPY_FRAME = re.compile(rf"File (?P<path>{_FRAME_PATH}):(?P<line>\d+)(?:, in (?P<func>[\w.<>]+))?")
# IPython 7: `~/x/y.py in method(self, a)` (the path may be a Markdown link)
_IPY_OLD_FRAME = re.compile(
    rf"^\s*\[?(?P<path>{_FRAME_PATH})\]?(?:\([^)\s]*\))? in (?P<func>[\w.<>]+)\(", re.MULTILINE
)
# JavaScript / TypeScript: `at fn (path:12:3)`, `at path:12:3`
_JS_FRAME = re.compile(
    rf"^\s*at (?:(?P<func>[^\s(][^(\n]*?) \()?(?:file://)?(?P<path>{_FRAME_PATH}):(?P<line>\d+)(?::\d+)?\)?\s*$",
    re.MULTILINE,
)
# Java and other JVM languages: `at pkg.Class.method(File.java:12)`
_JVM_FRAME = re.compile(
    r"^\s*at (?P<qual>[\w$.]+)\.(?P<func>[\w$<>]+)\((?P<file>[\w$]+\.(?:java|kt|scala|groovy)):(?P<line>\d+)\)",
    re.MULTILINE,
)
# Rust: `panicked at src/x.rs:10:5` and backtrace lines `at ./src/x.rs:10:5`
_RUST_FRAME = re.compile(
    r"(?:panicked at|^\s+at) (?:'[^'\n]*', )?(?P<path>[^\s:]+\.rs):(?P<line>\d+)(?::\d+)?", re.M
)
# Go: a tab-indented `/x/y.go:12 +0x1d` under the function's line
_GO_FRAME = re.compile(r"^\s+(?P<path>\S+\.go):(?P<line>\d+)(?: \+0x[0-9a-f]+)?\s*$", re.MULTILINE)
# Anything else that points into a file: `path.py:470: FutureWarning`, `src/x.c:12:3: error`
_LOC_FRAME = re.compile(rf"(?<![\w/\\.~-])(?P<path>{_FRAME_PATH}):(?P<line>\d+)\b")

_TB_HEADER = re.compile(
    r"Traceback \(most recent call last\)|^-{20,}\s*$|^\s*stack backtrace:|^goroutine \d+", re.M
)
# `ValueError: message`, `pkg.errors.ParseError: message`, `panicked at 'message'`, `Error: message`
_EXCEPTION = re.compile(
    r"^\s*(?P<name>(?:[A-Za-z_][\w]*\.)*[A-Za-z_]\w*(?:Error|Exception|Warning|Exit|Interrupt|Fault|Failure)|Error|panic)"
    r"(?::\s*(?P<message>.+))?$",
    re.MULTILINE,
)
_FENCE = re.compile(r"^\s{0,3}(```+|~~~+)\s*([\w+-]*)")
_INLINE = re.compile(r"`([^`\n]{1,200})`")
# quoted messages in prose: straight and typographic quotes, at least two words
_QUOTED = re.compile(r"\"([^\"\n]{6,240})\"|“([^”\n]{6,240})”|(?<![\w])'([^'\n]{6,240})'(?![\w])")
# `--option`, `--option=value`, `-o` in a command line
_OPTION = re.compile(r"(?<![\w-])(--[A-Za-z][\w-]{1,40}|-[A-Za-z])(?==|\b)")
_PROMPT = re.compile(r"^\s*(?:>>> |\.\.\. |In \[\d+\]: |\s*\.\.\.: |\$ |> )")
_SOURCE_LINE = re.compile(r"^\s*(?:-+>\s*)?\d+\s")  # IPython's numbered context lines


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame of a traceback or stack trace, as written in the task."""

    path: str  # forward slashes, without `file://` or a Markdown link around it
    line: int  # 0 when the format gives none
    function: str  # "" when unknown; `Class.method` where the format qualifies it
    block: int  # which traceback of the task it belongs to
    depth: int  # 0 for the frame nearest the error in its traceback, 1 for the next, ...
    source: str = "traceback"  # or "output" (`x.py:470: FutureWarning`), or "prose" (`x.py` at line 227)


@dataclass(frozen=True, slots=True)
class CodeName:
    """A name that a code block calls, constructs, subscripts, subclasses or imports."""

    name: str  # the thing itself: `PolyFit` in `so.PolyFit()`
    qualifier: str  # what it was reached through: a class (`Dataset` for `ds.update` after `ds = Dataset()`),
    # a module (`astroid.nodes` in `from astroid.nodes import as_string`), or "" when unknown
    how: str  # "call", "construct", "subscript", "import", "base", "method" (on an unknown receiver)


@dataclass(frozen=True, slots=True)
class TaskParts:
    prose: str  # the text without code blocks and tracebacks (inline code kept)
    title: str  # the first non-empty line
    frames: tuple[Frame, ...]
    names: tuple[CodeName, ...]
    modules: tuple[str, ...]  # dotted modules the code imports, as written
    errors: tuple[
        str, ...
    ]  # the exception lines of tracebacks and output: `TypeError: RST.__init__() got ...`
    error_names: tuple[CodeName, ...]  # what the errors name: `RST.__init__`, `AsStringVisitor`
    code_words: str  # identifiers of the code blocks and of the source lines a traceback shows
    messages: tuple[str, ...]  # error messages, quoted messages, output lines of the code blocks
    options: tuple[str, ...]  # command-line options and settings: `--notes`, `-Q`, `ignore-paths`
    codes: tuple[str, ...]  # message codes and symbols in output: `W0511`, `too-many-locals`
    chars: int  # length of the task as given
    condensed: bool  # whether a bound cut something

    @property
    def words(self) -> str:
        """What the task says in words: its prose and its errors (`'Name' object has no attribute 'getitem'`)."""
        return "\n".join((self.prose, *self.errors)) if self.errors else self.prose


def _clip(text: str) -> tuple[str, bool]:
    if len(text) <= MAX_READ_CHARS:
        return text, False
    head = text[: MAX_READ_CHARS - TAIL_CHARS]
    return head[: head.rfind("\n") + 1 or len(head)] + "\n" + text[-TAIL_CHARS:], True


def _norm_path(path: str) -> str:
    path = path.strip().strip("[]").replace("\\", "/")
    if path.startswith("file://"):
        path = path[len("file://") :]
    return path


# ---- splitting -------------------------------------------------------------------------------------


# Fenced blocks in these languages hold data or configuration, not code whose names the
# workspace defines: SQL given to a SQL linter, a settings file. Their keys may be options.
_DATA_FENCES = frozenset(
    [
        "sql",
        "mysql",
        "postgres",
        "postgresql",
        "ini",
        "toml",
        "yaml",
        "yml",
        "json",
        "jsonc",
        "cfg",
        "conf",
        "csv",
        "tsv",
        "xml",
        "html",
        "css",
        "diff",
    ]
)


@dataclass
class _Lines:
    prose: list[str]
    code: list[str]  # lines of fenced / indented code and console output
    trace: list[tuple[int, str]]  # (block, line) of traceback text
    data: list[str]  # lines of data and configuration blocks


def _split(text: str) -> _Lines:
    """Assign every line to prose, code or a traceback block."""
    out = _Lines([], [], [], [])
    lines = text.split("\n")
    fence = ""
    data = False
    block = -1
    in_trace = False
    after_frame = False
    prev_blank = True
    for raw in lines:
        line = raw.rstrip()
        m = _FENCE.match(line)
        if m and (not fence or m.group(1).startswith(fence)):
            fence = "" if fence else m.group(1)
            data = bool(fence) and m.group(2).lower() in _DATA_FENCES
            in_trace = False
            prev_blank = True
            continue
        if data:
            out.data.append(line)
            continue
        starts_trace = bool(_TB_HEADER.search(line))
        is_frame = _is_frame_line(line)
        if starts_trace or (is_frame and not in_trace):
            if not in_trace:
                block += 1
            in_trace = True
        if in_trace:
            if is_frame or starts_trace:
                out.trace.append((block, line))
                after_frame = is_frame
                continue
            indented = line.startswith((" ", "\t"))
            if (after_frame and indented) or _SOURCE_LINE.match(line) or not line.strip():
                # the source line under a frame, or IPython's numbered context
                out.trace.append((block, line))
                continue
            if (
                line.lstrip().startswith("File ")
                or _EXCEPTION.match(line)
                or line.startswith(("During", "The above"))
            ):
                out.trace.append((block, line))
                after_frame = False
                continue
            if indented and line.strip().startswith("..."):
                continue
            in_trace = False  # the traceback ended: this line is prose or code again
        if fence or (prev_blank and line.startswith(("    ", "\t")) and not _is_list_item(line)):
            out.code.append(line)
            prev_blank = False if line.strip() else prev_blank
            continue
        out.prose.append(line)
        prev_blank = not line.strip()
    return out


# `pandas: 1.0.3`, `OS: Linux`, `numpy | 1.24`, `- pvlib.__version__: 0.8.0`: lines of an environment report
_ENV_LINE = re.compile(r"^\s*[-*]?\s*[`\w.() -]{1,40}?\s*[:|=]\s*\S[^\s]{0,40}(?:\s\S+){0,3}\s*\|?\s*$")
# `python 3.7.12`, `- sqlfluff, version 0.7.0`, `numpy 1.24.1 (conda)`: a package and its version, no separator
_VERSION_LINE = re.compile(
    r"^\s*[-*]?\s*`?[\w.\[\]-]{2,40},?(?: version)?\s+v?\d+(?:\.\w+)+`?(?:\s+\S+){0,3}\s*$"
)
_ENV_RUN = 3  # consecutive lines before they are a report, not prose


def _drop_environment(lines: list[str]) -> list[str]:
    """Prose without version and platform reports: package names there are not what the task is about."""
    keep = [True] * len(lines)
    i = 0
    while i < len(lines):
        j = i
        while (
            j < len(lines)
            and lines[j].strip()
            and (
                _ENV_LINE.match(lines[j])
                or _VERSION_LINE.match(lines[j])
                or set(lines[j].strip()) <= set("-|: ")
            )
        ):
            j += 1
        if j - i >= _ENV_RUN:
            keep[i:j] = [False] * (j - i)
        i = max(j, i + 1)
    return [ln for ln, k in zip(lines, keep, strict=True) if k]


def _is_list_item(line: str) -> bool:
    return bool(re.match(r"\s*(?:[-*+]|\d+[.)])\s", line))


def _is_frame_line(line: str) -> bool:
    if "File " in line and (_PY_FRAME.search(line) or _IPY_FRAME.search(line)):
        return True
    if " in " in line and _IPY_OLD_FRAME.match(line):
        return True
    s = line.lstrip()
    if s.startswith("at ") and (
        _JS_FRAME.search(line) or _JVM_FRAME.search(line) or _RUST_FRAME.search(line)
    ):
        return True
    return "panicked at" in line or bool(_GO_FRAME.match(line))


# ---- frames ----------------------------------------------------------------------------------------


def _frame_of(line: str) -> tuple[str, int, str, bool] | None:
    """(path, line, function, newest-last) of one frame line, or None."""
    m = _PY_FRAME.search(line) or _IPY_FRAME.search(line)
    if m:
        return _norm_path(m["path"]), int(m["line"]), _func(m["func"]), True
    m = _IPY_OLD_FRAME.match(line)
    if m:
        return _norm_path(m["path"]), 0, _func(m["func"]), True
    m = _JVM_FRAME.search(line)
    if m:
        package = m["qual"].rsplit(".", 1)[0].replace(".", "/") if "." in m["qual"] else ""
        cls = m["qual"].rsplit(".", 1)[-1].split("$")[0]
        path = f"{package}/{m['file']}" if package else m["file"]
        return path, int(m["line"]), _func(f"{cls}.{m['func']}"), False
    m = _JS_FRAME.search(line)
    if m:
        return _norm_path(m["path"]), int(m["line"]), _func((m["func"] or "").split(" ")[-1]), False
    m = _RUST_FRAME.search(line) or _GO_FRAME.match(line)
    if m:
        return _norm_path(m["path"]), int(m["line"]), "", False
    return None


def _func(name: str | None) -> str:
    """A frame's function as a symbol name; `<module>`, `<lambda>` and anonymous functions name nothing."""
    if not name or "<" in name or name in ("anonymous", "Object.<anonymous>"):
        return ""
    parts = [p for p in name.split(".") if p and p not in ("prototype", "Object", "new")]
    return ".".join(parts[-2:])


# `jsonrep.py` at line 227, src/x.rs:10, x.py line 12
_PROSE_LOC = re.compile(
    rf"(?<![\w/\\.~-])`*(?P<path>{_FRAME_PATH})`*(?::(?P<line>\d+)|,? (?:at |on |in )?line (?P<line2>\d+))"
)


def _frames(trace: list[tuple[int, str]], code: list[str], prose: list[str]) -> list[Frame]:
    found: dict[int, list[tuple[str, int, str, bool]]] = {}
    for block, line in trace:
        f = _frame_of(line)
        if f is not None:
            found.setdefault(block, []).append(f)
    frames: list[Frame] = []
    for block, items in sorted(found.items()):
        newest_last = any(f[3] for f in items)
        ordered = list(reversed(items)) if newest_last else items
        # keep the frames nearest the error, and the outermost few: they name the entry point
        kept = ordered if len(ordered) <= MAX_FRAMES else ordered[: MAX_FRAMES - 4] + ordered[-4:]
        for depth, (path, ln, func, _) in enumerate(kept):
            frames.append(Frame(path, ln, func, block, depth))
    # Locations outside tracebacks (`x.py:470: FutureWarning` in output, "`x.py` at line 227" in
    # prose) each stand alone: nothing orders them by nearness to an error.
    loose = [("output", m) for m in _LOC_FRAME.finditer("\n".join(code))]
    loose += [("prose", m) for m in _PROSE_LOC.finditer("\n".join(prose))]
    seen: set[tuple[str, int]] = set()
    for source, m in loose:
        where = (_norm_path(m["path"]), int(m["line"] or m.groupdict().get("line2") or 0))
        if where not in seen and len(seen) < MAX_FRAMES:
            seen.add(where)
            frames.append(Frame(where[0], where[1], "", 1_000 + len(seen), 0, source))
    return frames[: MAX_FRAMES * 2]


# ---- code blocks -----------------------------------------------------------------------------------

_IMPORT_FROM = re.compile(r"^\s*from\s+([\w.]+)\s+import\s+\(?([\w\s,.*]+)\)?", re.MULTILINE)
_IMPORT = re.compile(r"^\s*import\s+([\w.]+(?:\s+as\s+\w+)?(?:\s*,\s*[\w.]+(?:\s+as\s+\w+)?)*)", re.MULTILINE)
_JS_IMPORT = re.compile(r"import\s+(?:\{([^}]*)\}|(\w+))\s+from\s+['\"]([^'\"]+)['\"]")
_REQUIRE = re.compile(r"(?:const|let|var)\s+(?:\{([^}]*)\}|(\w+))\s*=\s*require\(\s*['\"]([^'\"]+)['\"]\s*\)")
# a dotted chain followed by a call or a subscript
_USE = re.compile(r"(?<![\w.])((?:[A-Za-z_]\w*\s*\.\s*)*[A-Za-z_]\w*)\s*([(\[])")
_ASSIGN = re.compile(r"^\s*([A-Za-z_][\w\s,*()\[\]]*?)\s*(?<![=!<>+\-*/%&|^])=(?!=)\s*(.*)$")
_DECLARE = re.compile(
    r"\b(?:const|let|var|def|class|function|fn|func|for|as|lambda)\s+\(?([\w\s,*]+?)\)?\s*(?:[=:(]|\bin\b|$)"
)
_CLASS_BASES = re.compile(r"^\s*class\s+\w+\s*\(([^)]*)\)", re.MULTILINE)
_PARAMS = re.compile(r"^\s*(?:async\s+)?def\s+\w+\s*\(([^)]*)\)", re.MULTILINE)
_STRING = re.compile(
    r"(?:[rbfuRBFU]{0,2})(\"\"\"[\s\S]*?\"\"\"|'''[\s\S]*?'''|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*')"
)
_COMMENT = re.compile(r"(?:^|\s)#[^\n]*|//[^\n]*")

# Names a snippet uses that are the language's, not the workspace's.
_PY_BUILTINS = frozenset(dir(builtins)) | frozenset(
    [
        "self",
        "cls",
        "NoneType",
        "def",
        "class",
        "import",
        "from",
        "lambda",
        "global",
        "nonlocal",
        "if",
        "for",
        "while",
        "elif",
        "else",
        "return",
        "yield",
        "with",
        "not",
        "and",
        "or",
        "in",
        "is",
        "del",
        "assert",
        "raise",
        "try",
        "except",
        "finally",
        "pass",
        "async",
        "await",
    ]
)
_BUILTINS = _PY_BUILTINS | frozenset(
    [
        "console",
        "window",
        "document",
        "Object",
        "Array",
        "JSON",
        "Math",
        "Promise",
        "String",
        "Number",
        "Boolean",
        "Map",
        "Set",
        "Date",
        "Error",
        "RegExp",
        "Symbol",
        "require",
        "module",
        "exports",
        "process",
        "Buffer",
        "setTimeout",
        "setInterval",
        "fetch",
        "new",
        "this",
        "undefined",
        "null",
        "fmt",
        "println",
        "panic",
        "unwrap",
        "expect",
        "Some",
        "Ok",
        "Err",
        "Vec",
        "Box",
        "Rc",
        "Arc",
        "Option",
        "Result",
        "make",
        "append",
    ]
)
# Aliases conventionally bound to third-party libraries in issue snippets.
_LIBRARY_ALIASES = frozenset(
    {"np", "pd", "plt", "tf", "torch", "sp", "scipy", "mpl", "os", "sys", "re", "json"}
)


def _strip_code(line: str) -> str:
    line = _PROMPT.sub("", line)
    line = _STRING.sub('""', line)
    return _COMMENT.sub("", line)


def _code_names(code: str) -> tuple[list[CodeName], list[str]]:
    """The names the code uses, resolved as far as the snippet itself allows, and the modules it imports."""
    lines = [_strip_code(ln) for ln in code.split("\n")]
    text = "\n".join(lines)
    names: list[CodeName] = []
    modules: list[str] = []
    aliases: dict[str, str] = {}  # local name -> module it stands for
    types: dict[str, str] = {}  # local variable -> class it was constructed from
    local: set[str] = set()

    for m in _IMPORT_FROM.finditer(text):
        module = m.group(1)
        modules.append(module)
        for part in m.group(2).split(","):
            bits = part.split()
            if not bits or bits[0] == "*":
                continue
            names.append(CodeName(bits[0].split(".")[-1], module, "import"))
            aliases[bits[-1]] = f"{module}.{bits[0]}"
    for m in _IMPORT.finditer(text):
        for part in m.group(1).split(","):
            bits = part.split()
            if not bits:
                continue
            modules.append(bits[0])
            aliases[bits[-1] if len(bits) == 3 else bits[0].split(".")[0]] = bits[0]
    for rx in (_JS_IMPORT, _REQUIRE):
        for m in rx.finditer(code):
            module = m.group(3)
            modules.append(module)
            for part in (m.group(1) or m.group(2) or "").split(","):
                bits = part.split()
                if bits:
                    names.append(CodeName(bits[0], module, "import"))
                    aliases[bits[-1]] = module

    for line in lines:
        a = _ASSIGN.match(line)
        if a:
            targets = re.findall(r"[A-Za-z_]\w*", a.group(1).split("[")[0].split(".")[0])
            local.update(targets)
            value = a.group(2)
            ctor = re.match(r"\s*((?:\w+\s*\.\s*)*)([A-Z]\w*)\s*\(", value)
            if ctor and len(targets) == 1:
                types[targets[0]] = ctor.group(2)
        for d in _DECLARE.finditer(line):
            local.update(re.findall(r"[A-Za-z_]\w*", d.group(1)))
    for m in _PARAMS.finditer(text):
        local.update(re.findall(r"([A-Za-z_]\w*)\s*(?:[:=,]|$)", m.group(1)))
    for m in _CLASS_BASES.finditer(text):
        for base in m.group(1).split(","):
            base = base.strip()
            if base and "=" not in base:
                chain = [p.strip() for p in base.split(".")]
                names.append(CodeName(chain[-1], ".".join(chain[:-1]), "base"))

    for m in _USE.finditer(text):
        chain = [p.strip() for p in m.group(1).split(".")]
        head, name = chain[0], chain[-1]
        if name in _BUILTINS and len(chain) == 1:
            continue
        if len(chain) == 1:
            if name in local or (name in aliases and aliases[name] == name):
                continue
            how = "subscript" if m.group(2) == "[" else ("construct" if name[:1].isupper() else "call")
            names.append(CodeName(name, aliases.get(name, "").rpartition(".")[0], how))
            continue
        if head in _LIBRARY_ALIASES and head not in aliases:
            continue  # np.array(...): the library's, not the workspace's
        if head in aliases:
            qualifier = aliases[head]
            if len(chain) > 2:
                qualifier = ".".join([qualifier, *chain[1:-1]])
        elif head in types:
            qualifier = types[head]
        elif head in local or head in ("self", "this"):
            qualifier = ""
        else:
            qualifier = aliases.get(head, head)
            if len(chain) > 2:
                qualifier = ".".join([qualifier, *chain[1:-1]])
        if m.group(2) == "[":
            how = "subscript"
        elif name[:1].isupper():
            how = "construct"
        elif qualifier:
            how = "call"
        else:
            how = "method"
        names.append(CodeName(name, qualifier, how))
    seen: dict[tuple[str, str], CodeName] = {}
    for n in names:
        if len(n.name) >= 2 and not n.name.isdigit() and (n.qualifier or n.name not in _BUILTINS):
            seen.setdefault((n.name, n.qualifier), n)
    return list(seen.values())[:MAX_NAMES], list(dict.fromkeys(modules))[:MAX_NAMES]


# ---- messages and options --------------------------------------------------------------------------


_CODE_LINE = re.compile(
    r"[;{}]\s*$|^\s*(?:def|class|import|from|return|if|for|while|with|const|let|var|fn|func)\b|\w\(|\s=\s|==|=>|->"
)
_WORDS = re.compile(r"[A-Za-z]{2,}")


def _looks_like_code(line: str) -> bool:
    return bool(_PROMPT.match(line) or _CODE_LINE.search(line))


def _words(text: str) -> int:
    return len(_WORDS.findall(text))


def _errors(code: list[str], trace: list[tuple[int, str]]) -> list[str]:
    """Exception lines; a builtin exception's class (`TypeError`) says nothing about this project."""
    out: dict[str, None] = {}
    for line in [ln for _, ln in trace] + code:
        m = _EXCEPTION.match(line)
        if m and m["message"]:
            name = m["name"].rsplit(".", 1)[-1]
            text = m["message"] if name in _PY_BUILTINS or name in ("Error", "panic") else line
            out.setdefault(text.strip()[:MAX_MESSAGE_CHARS], None)
    return list(out)[-MAX_ERRORS:]


# what an error message names: `'AsStringVisitor' object`, `RST.__init__()`, `type 'PersonName3'`
_ERROR_NAME = re.compile(r"(?<![\w.])([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)(?:\(\)|')?")


def _error_names(errors: list[str]) -> list[CodeName]:
    out: dict[tuple[str, str], CodeName] = {}
    for err in errors:
        # the class of a custom exception is the project's own name: keep it with the message
        head, sep, message = err.partition(": ")
        for m in _ERROR_NAME.finditer(message if sep and " " not in head else err):
            token = m.group(1)
            qualifier, _, name = token.rpartition(".")
            quoted = (m.start() > 0 and err[m.start() - 1] == "'") or m.group(0).endswith(("()", "'"))
            if name in _PY_BUILTINS or qualifier in _PY_BUILTINS or len(name) < 3:
                continue
            # names, not words: quoted, called, dotted, CamelCase or snake_case
            if (
                quoted
                or qualifier
                or "_" in name.strip("_")
                or (name[0].isupper() and not name.isupper() and any(c.isupper() for c in name[1:]))
            ):
                out.setdefault((name, qualifier), CodeName(name, qualifier, "error"))
    return list(out.values())[:MAX_NAMES]


_LABEL = re.compile(r"^\s*[A-Z][a-z]+(?: [a-z]+){0,3}:\s")


def _messages(
    prose: list[str], code: list[str], output: list[str], trace: list[tuple[int, str]]
) -> list[str]:
    out: list[str] = []
    for _, line in trace:
        m = _EXCEPTION.match(line)
        if m and m["message"]:
            out.append(m["message"])
    raw_trace = "\n".join(line for _, line in trace)
    for text in ("\n".join(prose), "\n".join(code), raw_trace):
        for m in _QUOTED.finditer(text):
            frag = next(g for g in m.groups() if g)
            if len(frag.split()) >= 2 and _words(frag) >= 2:
                out.append(frag)
    for line in output:
        # console output: a linter's message, a warning, a log line, a heading (`Data variables:`),
        # a labelled line (`Dimensions:  (x: 3)`)
        n = _words(line)
        if n >= 3 or (n and line.rstrip().endswith(":")) or _LABEL.match(line):
            out.append(line.strip())
        if len(out) > 4 * MAX_MESSAGES:
            break
    kept: dict[str, None] = {}
    for msg in out:
        msg = msg.strip()[:MAX_MESSAGE_CHARS]
        if msg and msg not in kept:
            kept[msg] = None
    return list(kept)[:MAX_MESSAGES]


# what programs print besides sentences: message codes (`W0511`, `E0602`, `L031`) and symbols
_CODE_TOKEN = re.compile(r"(?<![\w-])([A-Z]{1,3}\d{3,5}|[a-z][a-z0-9]*(?:-[a-z0-9]+){1,5})(?![\w-])")
MAX_CODES = 16


def _codes(output: list[str], trace: list[tuple[int, str]]) -> list[str]:
    text = "\n".join(output + [ln for _, ln in trace if _EXCEPTION.match(ln)])
    out: dict[str, None] = {}
    for m in _CODE_TOKEN.finditer(text):
        out[m.group(1)] = None
        if len(out) == MAX_CODES:
            break  # the first ones, as before, without reading a long log to its end
    return list(out)


_CONFIG_KEY = re.compile(r"^\s*([A-Za-z][\w.]*[-_][\w.-]*)\s*[=:]")


def _options(prose: list[str], code: list[str], data: list[str]) -> list[str]:
    out: list[str] = [m.group(1) for line in data if (m := _CONFIG_KEY.match(line))]
    for text in ("\n".join(m.group(1) for m in _INLINE.finditer("\n".join(prose))), "\n".join(code)):
        for line in text.split("\n"):
            stripped = _PROMPT.sub("", line)
            if "--" in stripped or re.match(r"\s*[\w./-]+\s+-\w", stripped):
                out.extend(_OPTION.findall(stripped))
    for m in re.finditer(r"(?<![\w`-])(--[A-Za-z][\w-]{2,40})", "\n".join(prose)):
        out.append(m.group(1))
    return list(dict.fromkeys(out))[:MAX_OPTIONS]


def _code_words(code: str, trace: list[tuple[int, str]]) -> str:
    """The identifiers of code and traceback source lines, once each: a weak lexical hint, not a query."""
    shown = [ln for _, ln in trace if not _is_frame_line(ln) and not _EXCEPTION.match(ln)]
    text = code + "\n" + "\n".join(shown)[:MAX_CODE_CHARS]
    names = dict.fromkeys(
        n for n in re.findall(r"[A-Za-z_]\w{2,}", _STRING.sub(" ", text)) if n not in _BUILTINS
    )
    return " ".join(list(names)[: MAX_NAMES * 2])


# ---- the reader ------------------------------------------------------------------------------------


def read_task(task: str) -> TaskParts:
    text, condensed = _clip(task.replace("\r\n", "\n").replace("\r", "\n"))
    lines = _split(text)
    prose = "\n".join(_drop_environment(lines.prose))
    if len(prose) > MAX_PROSE_CHARS:
        prose, condensed = prose[:MAX_PROSE_CHARS], True
    code_lines: list[str] = []
    size = 0
    for line in lines.code:
        size += len(line) + 1
        if size > MAX_CODE_CHARS:
            condensed = True
            break
        code_lines.append(line)
    code = "\n".join(code_lines)
    is_code = [_looks_like_code(ln) for ln in code_lines]
    output = [ln for ln, c in zip(code_lines, is_code, strict=True) if not c]  # what the program printed
    # names come from the lines that are code; a log of thousands of lines names nothing
    names, modules = _code_names("\n".join(ln for ln, c in zip(code_lines, is_code, strict=True) if c))
    # code spans in prose that are calls (`so.PolyFit()`) are code too
    inline = "\n".join(
        m.group(1) for m in _INLINE.finditer(prose) if "(" in m.group(1) or "import " in m.group(1)
    )
    if inline:
        more, more_modules = _code_names(inline)
        names = list(dict.fromkeys([*names, *more]))[:MAX_NAMES]
        modules = list(dict.fromkeys([*modules, *more_modules]))[:MAX_NAMES]
    frames = _frames(lines.trace, code_lines, lines.prose)
    errors = _errors(code_lines, lines.trace)
    title = next((ln.strip() for ln in text.split("\n") if ln.strip()), "")
    return TaskParts(
        prose=prose,
        title=title,
        frames=tuple(frames),
        names=tuple(names),
        modules=tuple(modules),
        errors=tuple(errors),
        error_names=tuple(_error_names(errors)),
        code_words=_code_words(code, lines.trace),
        messages=tuple(_messages(lines.prose, code_lines, output, lines.trace)),
        options=tuple(_options(lines.prose, code_lines, lines.data)),
        codes=tuple(_codes(output, lines.trace)),
        chars=len(task),
        condensed=condensed or len(frames) >= MAX_FRAMES * 2,
    )
