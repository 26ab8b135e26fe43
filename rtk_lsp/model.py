"""Plain data shared by the index, the pipeline and the adapters.

Everything here is immutable and made of builtins so that it pickles cheaply
(parsing runs in worker processes) and marshals into the SQLite store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import starmap
from typing import Any

# Kinds of definitions, as the parser reports them.
SYMBOL_KINDS = (
    "function",
    "method",
    "class",
    "struct",
    "enum",
    "interface",
    "trait",
    "type",
    "module",
    "constant",
    "macro",
    "impl",
    "object",
    "protocol",
    "extension",
    "property",
)
# Kinds that hold data rather than behaviour. A class has many and their names are plain
# nouns (`items`, `name`), so they match a task by name, never by sharing its words.
DATA_KINDS = frozenset({"property"})


@dataclass(frozen=True, slots=True)
class Symbol:
    """A definition in a file. Lines are 1-based and inclusive."""

    name: str
    kind: str
    start_line: int
    end_line: int
    signature: str  # the first line of the definition, trimmed, at most ~160 chars
    doc: str = ""  # first line of the docstring / leading doc comment
    parent: str = ""  # enclosing class/impl/struct name, "" at top level

    @property
    def qualified(self) -> str:
        return f"{self.parent}.{self.name}" if self.parent else self.name

    def to_tuple(self) -> tuple[str, str, int, int, str, str, str]:
        return (self.name, self.kind, self.start_line, self.end_line, self.signature, self.doc, self.parent)


@dataclass(frozen=True, slots=True)
class Import:
    """One import as written in the source, before resolution.

    `module` is the language's own spelling: "..utils" / "os.path" (Python),
    "./foo" (JS/TS), "crate::a::b" / "super::x" / "mod:name" (Rust `mod name;`),
    "github.com/x/y/pkg" (Go), "java.util.List" (Java), "foo/bar.h" (C/C++ quoted),
    "a/b" / "./b" (Ruby `require` / `require_relative`), "App\\Models\\User" / "./x.php"
    (PHP `use` / `require`), "System.Text" (C# `using`), "a.b.C" / "a.b.*" (Kotlin, Scala),
    "Foundation" (Swift module).
    `names` are the imported names where the syntax gives them.
    """

    module: str
    names: tuple[str, ...] = ()
    line: int = 0

    def to_tuple(self) -> tuple[str, tuple[str, ...], int]:
        return (self.module, self.names, self.line)


@dataclass(frozen=True, slots=True)
class FileFacts:
    """What a parser extracts from one file."""

    symbols: tuple[Symbol, ...] = ()
    # referenced identifiers (call sites, type uses, attribute accesses) -> occurrence count
    refs: dict[str, int] = field(default_factory=dict)
    imports: tuple[Import, ...] = ()
    # Go: the `package` clause; Java, Kotlin, Scala: the package declaration; C#, PHP: the
    # (first) namespace; composer.json: its PSR-4 map and Package.swift: its targets, as
    # `key<TAB>directory` lines; "" elsewhere
    package: str = ""
    # line numbers of each reference, for callers/callees; name -> first few lines
    ref_lines: dict[str, tuple[int, ...]] = field(default_factory=dict)
    # distinct string literals (not docstrings), bounded in count and length: the messages a
    # task may quote and the option names it may pass
    strings: tuple[str, ...] = ()

    def to_wire(self) -> tuple[Any, ...]:
        """Builtins only, in the shapes the fields have: a cold build decodes every file's facts from
        this in the process that serves, so `from_wire` copies nothing it can take as it is."""
        return (
            tuple(s.to_tuple() for s in self.symbols),
            self.refs,
            tuple(i.to_tuple() for i in self.imports),
            self.package,
            self.ref_lines,
            self.strings,
        )

    @classmethod
    def from_wire(cls, w: Any) -> FileFacts:
        """Facts from `to_wire` data that nothing else holds (a store's row, a parser's answer)."""
        syms, refs, imps, package, ref_lines, strings = w
        return cls(
            symbols=tuple(starmap(Symbol, syms)),
            refs=refs,
            imports=tuple(starmap(Import, imps)),
            package=package,
            ref_lines=ref_lines,
            strings=strings,
        )


EMPTY_FACTS = FileFacts()


# weakref_slot: the index shares the facts of one content among the paths that hold it
# through weak references to the records (index/content.py).
@dataclass(frozen=True, slots=True, weakref_slot=True)
class FileRecord:
    """One indexed file: metadata, extracted facts and its body terms."""

    rel_path: str
    language: str
    size: int
    mtime_ns: int
    hash: str
    kind: str  # "text" | "binary" | "large" | "generated" | "lock" | "unreadable"
    lines: int
    tokens: int  # estimated cost of reading the whole file (see rtk_lsp.tokens)
    facts: FileFacts
    body_terms: dict[str, int]  # term -> count over the whole text (identifiers, comments, strings)
    sym_terms: dict[str, int]  # term -> count over definition names and their doc lines

    @property
    def is_text(self) -> bool:
        return self.kind == "text"
