"""Resolve raw imports (as `parse.extract` reports them) to workspace files.

Everything is answered from indexes built once over the file list, so that
`resolve` costs a few dict lookups; it runs for every import of every file.
Paths are workspace-relative POSIX paths. An import that names something
outside the workspace (the standard library, a third-party package) resolves
to nothing.
"""

from __future__ import annotations

import posixpath
from abc import ABC, abstractmethod
from collections.abc import Collection, Container, Iterable, Mapping
from typing import NamedTuple

from rtk_lsp.model import Import

# Most files a package-level import may expand to (Go packages, Java `a.b.*`).
MAX_PACKAGE_FILES = 20

_JS_LANGUAGES = frozenset({"javascript", "typescript", "tsx"})
_JS_EXTENSIONS = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".d.ts", ".mts", ".cts")
# TypeScript ESM code imports "./x.js" meaning the source file "./x.ts".
_JS_TO_TS = {".js": (".ts", ".tsx"), ".jsx": (".tsx",), ".mjs": (".mts",), ".cjs": (".cts",)}
_PY_EXTENSIONS = (".py", ".pyi")
_RUST_ROOTS = ("lib.rs", "main.rs")


def _dir(path: str) -> str:
    return posixpath.dirname(path)


def _join(*parts: str) -> str:
    return "/".join(p for p in parts if p)


def _shared_dirs(a: str, b: str) -> int:
    """How many leading directories two paths have in common."""
    n = 0
    for x, y in zip(a.split("/")[:-1], b.split("/")[:-1], strict=False):
        if x != y:
            break
        n += 1
    return n


def _closest(candidates: Iterable[str], importer: str) -> str | None:
    """The candidate nearest the importing file, then the shortest path."""
    return min(candidates, key=lambda p: (-_shared_dirs(p, importer), len(p), p), default=None)


class ImportResolver:
    """Maps `(importing file, Import)` to the workspace files it refers to."""

    def __init__(self, files: Iterable[tuple[str, str, str]], *, go_module: str = "") -> None:
        self._go_module = go_module.strip().strip("/")
        self._paths: set[str] = set()
        # python: last module name -> (path, dotted parts of the module it defines)
        self._py_modules: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
        # go: directory -> non-test .go files; directory suffix -> directories
        self._go_dirs: dict[str, list[str]] = {}
        self._go_suffixes: dict[str, list[str]] = {}
        # java: fully qualified class -> files; package -> files; class name -> files
        self._java_classes: dict[str, list[str]] = {}
        self._java_packages: dict[str, list[str]] = {}
        self._java_by_name: dict[str, list[str]] = {}
        # java: last directory name -> directory -> files in it
        self._java_dirs: dict[str, dict[str, list[str]]] = {}
        # c/c++: file name -> paths
        self._c_by_name: dict[str, list[str]] = {}
        # rust: crate name -> crate root directory; directory -> its crate root (memo)
        self._rust_crates: dict[str, str] = {}
        self._rust_roots: dict[str, tuple[str, str] | None] = {}
        self._more: dict[str, _Resolver] = {
            "ruby": _Ruby(self._paths),
            "php": _Php(self._paths),
            "csharp": _CSharp(),
            "kotlin": _Packages("kotlin"),
            "scala": _Packages("scala", relative=True),
            "swift": _Swift(),
        }
        feeds: dict[str, list[_Resolver]] = {}
        for more in self._more.values():
            for read in more.reads:
                feeds.setdefault(read, []).append(more)

        for path, language, package in files:
            self._paths.add(path)
            for more in feeds.get(language, ()):
                more.add(path, language, package)
            if language == "python":
                self._add_python(path)
            elif language == "go":
                if not path.endswith("_test.go"):
                    self._go_dirs.setdefault(_dir(path), []).append(path)
            elif language == "java":
                self._add_java(path, package)
            elif language in ("c", "cpp"):
                self._c_by_name.setdefault(posixpath.basename(path), []).append(path)
            elif language == "rust":
                self._add_rust(path)

        for more in self._more.values():
            more.finish()
        for directory, go_files in self._go_dirs.items():
            go_files.sort()
            parts = directory.split("/") if directory else []
            for i in range(len(parts)):
                self._go_suffixes.setdefault("/".join(parts[i:]), []).append(directory)

    # -- indexing ---------------------------------------------------------

    def _add_python(self, path: str) -> None:
        stem, ext = posixpath.splitext(path)
        if ext not in _PY_EXTENSIONS:
            return
        parts = tuple(stem.split("/"))
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts:
            self._py_modules.setdefault(parts[-1], []).append((path, parts))

    def _add_java(self, path: str, package: str) -> None:
        if not path.endswith(".java"):
            return
        directory, name = posixpath.split(path[: -len(".java")])
        self._java_by_name.setdefault(name, []).append(path)
        by_dir = self._java_dirs.setdefault(posixpath.basename(directory), {})
        by_dir.setdefault(directory, []).append(path)
        if package:
            self._java_classes.setdefault(f"{package}.{name}", []).append(path)
            self._java_packages.setdefault(package, []).append(path)

    def _add_rust(self, path: str) -> None:
        directory, name = posixpath.split(path)
        if name not in _RUST_ROOTS:
            return
        # `crates/foo-bar/src/lib.rs` is the crate `foo_bar`
        owner = _dir(directory) if posixpath.basename(directory) == "src" else directory
        crate = posixpath.basename(owner).replace("-", "_")
        if crate and (name == "lib.rs" or crate not in self._rust_crates):
            self._rust_crates[crate] = directory

    # -- resolution -------------------------------------------------------

    def resolve(
        self,
        rel_path: str,
        language: str,
        imp: Import,
        used: Container[str] = (),
        defs: Mapping[str, Collection[str]] | None = None,
    ) -> tuple[str, ...]:
        """Workspace files `imp` (found in `rel_path`) refers to: sorted, unique, () if none.

        `used` are the names `rel_path` references and `defs` the files defining each name:
        some languages need them to tell which files of a namespace an import means.
        """
        if language == "python":
            found = self._python(rel_path, imp)
        elif language in _JS_LANGUAGES:
            found = self._javascript(rel_path, imp.module)
        elif language == "rust":
            found = self._rust(rel_path, imp)
        elif language == "go":
            found = self._go(imp.module)
        elif language == "java":
            found = self._java(imp)
        elif language in ("c", "cpp"):
            found = self._c(rel_path, imp.module)
        elif language in self._more:
            found = self._more[language].resolve(rel_path, imp, _Uses(used, defs or {}))
        else:
            return ()
        found.discard(rel_path)
        return tuple(sorted(found))

    # python

    def _python(self, importer: str, imp: Import) -> set[str]:
        module = imp.module
        if module.startswith("."):
            level = len(module) - len(module.lstrip("."))
            base = _dir(importer)
            for _ in range(level - 1):
                if not base:
                    return set()  # more dots than directories
                base = _dir(base)
            rest = module[level:]

            def find(dotted: str) -> str | None:
                return self._py_relative(base, dotted)

        else:

            def find(dotted: str) -> str | None:
                return self._py_absolute(dotted, importer)

            rest = module
        found: set[str] = set()
        needs_module = not imp.names
        for name in imp.names:
            # `from pkg import name` names a submodule or something defined in pkg
            sub = find(_join_dotted(rest, name)) if name != "*" else None
            if sub is not None:
                found.add(sub)
            else:
                needs_module = True
        if needs_module:
            target = find(rest)
            if target is not None:
                found.add(target)
        return found

    def _py_relative(self, base: str, dotted: str) -> str | None:
        stem = _join(base, dotted.replace(".", "/"))
        # `from . import x` with no module part names the package itself
        modules: tuple[str, ...] = (f"{stem}.py", f"{stem}.pyi") if dotted else ()
        for candidate in (*modules, _join(stem, "__init__.py"), _join(stem, "__init__.pyi")):
            if candidate in self._paths:
                return candidate
        return None

    def _py_absolute(self, dotted: str, importer: str) -> str | None:
        if not dotted:
            return None
        parts = tuple(dotted.split("."))
        n = len(parts)
        candidates = [
            path for path, mod in self._py_modules.get(parts[-1], ()) if len(mod) >= n and mod[-n:] == parts
        ]
        if len(candidates) > 1:
            # a stub and its module, or several copies: prefer the source next to the importer
            sources = [p for p in candidates if p.endswith(".py")] or candidates
            return _closest(sources, importer)
        return candidates[0] if candidates else None

    # javascript / typescript

    def _javascript(self, importer: str, spec: str) -> set[str]:
        if not spec.startswith(("./", "../")) and spec not in (".", ".."):
            return set()  # a package name (tsconfig paths are not followed)
        spec = spec.split("?", 1)[0].split("#", 1)[0]
        base = posixpath.normpath(_join(_dir(importer), spec))
        if base == ".." or base.startswith("../"):
            return set()
        if base == ".":
            base = ""
        candidates = [base] if base else []
        stem, ext = posixpath.splitext(base)
        candidates += [stem + alt for alt in _JS_TO_TS.get(ext, ())]
        candidates += [base + e for e in _JS_EXTENSIONS]
        candidates += [_join(base, "index" + e) for e in _JS_EXTENSIONS]
        for candidate in candidates:
            if candidate in self._paths:
                return {candidate}
        return set()

    # rust

    def _rust(self, importer: str, imp: Import) -> set[str]:
        module = imp.module
        if module.startswith("mod:"):
            name = module[4:]
            # a crate root other than lib.rs/main.rs (tests/it.rs) keeps its modules beside it
            for directory in (self._rust_child_dir(importer), _dir(importer)):
                found = self._rust_module_file(directory, name)
                if found is not None:
                    return {found}
            return set()

        segments = [s for s in module.split("::") if s]
        if not segments:
            return set()
        start = self._rust_start(importer, segments)
        if start is None:
            return set()
        directory, current, rest = start
        for segment in rest:
            found = self._rust_module_file(directory, segment)
            if found is None:
                break  # the remaining segments are items inside `current`
            directory, current = _join(directory, segment), found
        else:
            # every segment was a module: the names may be modules too
            targets = set()
            for name in imp.names:
                sub = self._rust_module_file(directory, name) if name not in ("self", "*") else None
                if sub is None:
                    targets.add(current)
                else:
                    targets.add(sub)
            return targets or {current}
        return {current}

    def _rust_start(self, importer: str, segments: list[str]) -> tuple[str, str, list[str]] | None:
        """The module a path starts from: (its child directory, its file, the segments left)."""
        head = segments[0]
        if head == "crate":
            root = self._rust_crate_root(importer)
            return None if root is None else (root[0], root[1], segments[1:])
        if head in ("self", "super"):
            directory, current = self._rust_child_dir(importer), importer
            rest = segments
            while rest and rest[0] in ("self", "super"):
                if rest[0] == "super":
                    parent = self._rust_parent(importer, directory)
                    if parent is None:
                        return None
                    directory, current = parent
                rest = rest[1:]
            return directory, current, rest
        # 2018 paths may start at a child module of the current one ...
        if self._rust_module_file(self._rust_child_dir(importer), head) is not None:
            return self._rust_child_dir(importer), importer, segments
        # ... or name another crate of the workspace
        crate_dir = self._rust_crate_dir(head)
        if crate_dir is not None:
            root_file = self._rust_root_file(crate_dir)
            if root_file is not None:
                return crate_dir, root_file, segments[1:]
        return None

    def _rust_crate_dir(self, crate: str) -> str | None:
        found = self._rust_crates.get(crate)
        if found is None:
            # `grep_matcher` is often kept in `crates/matcher`: the package name in
            # Cargo.toml is not known here, so accept a directory named by its tail
            parts = crate.split("_")
            for i in range(1, len(parts)):
                found = self._rust_crates.get("_".join(parts[i:]))
                if found is not None:
                    break
        return found

    def _rust_child_dir(self, path: str) -> str:
        """Where the child modules of the module defined by `path` live."""
        directory, name = posixpath.split(path)
        if name in ("mod.rs", *_RUST_ROOTS):
            return directory
        return _join(directory, name[: -len(".rs")] if name.endswith(".rs") else name)

    def _rust_module_file(self, directory: str, name: str) -> str | None:
        for candidate in (_join(directory, f"{name}.rs"), _join(directory, name, "mod.rs")):
            if candidate in self._paths:
                return candidate
        return None

    def _rust_root_file(self, directory: str) -> str | None:
        for name in _RUST_ROOTS:
            if _join(directory, name) in self._paths:
                return _join(directory, name)
        return None

    def _rust_crate_root(self, importer: str) -> tuple[str, str] | None:
        """The nearest enclosing directory holding lib.rs or main.rs, and that file."""
        start = _dir(importer)
        if start in self._rust_roots:
            return self._rust_roots[start]
        directory = start
        while True:
            root_file = self._rust_root_file(directory)
            if root_file is not None:
                found: tuple[str, str] | None = (directory, root_file)
                break
            if not directory:
                found = None
                break
            directory = _dir(directory)
        self._rust_roots[start] = found
        return found

    def _rust_parent(self, importer: str, directory: str) -> tuple[str, str] | None:
        """The parent of the module whose child directory is `directory`."""
        root = self._rust_crate_root(importer)
        if root is None or directory == root[0] or not directory:
            return None
        parent_dir = _dir(directory)
        if parent_dir == root[0]:
            return root
        parent_file = self._rust_module_file(_dir(parent_dir), posixpath.basename(parent_dir))
        return None if parent_file is None else (parent_dir, parent_file)

    # go

    def _go(self, path: str) -> set[str]:
        path = path.strip("/")
        module = self._go_module
        inside = bool(module) and (path == module or path.startswith(module + "/"))
        if inside:
            directory = path[len(module) + 1 :]
            if directory in self._go_dirs:
                return self._go_package(directory)
        parts = path.split("/")
        if not inside and "." not in parts[0]:
            # the standard library ("net/http") or a GOPATH-style path: whole path only
            min_segments = len(parts)
        elif module and not inside:
            min_segments = 2  # another module: one shared directory name is not evidence
        else:
            min_segments = 1
        for i in range(len(parts) - min_segments + 1):
            dirs = self._go_suffixes.get("/".join(parts[i:]))
            if dirs:
                # several directories share the suffix: take the shortest, deterministically
                return self._go_package(min(dirs, key=lambda d: (len(d), d)))
        return set()

    def _go_package(self, directory: str) -> set[str]:
        return set(self._go_dirs.get(directory, ())[:MAX_PACKAGE_FILES])

    # java

    def _java(self, imp: Import) -> set[str]:
        module = imp.module
        if module.endswith(".*"):
            return self._java_package(module[:-2])
        parts = module.split(".")
        # `a.b.Outer.Inner` and static members: drop trailing names until a class is found
        while parts:
            found = self._java_class(parts)
            if found:
                return found
            if len(parts) <= 2:
                break
            parts = parts[:-1]
        return set()

    def _java_class(self, parts: list[str]) -> set[str]:
        exact = self._java_classes.get(".".join(parts))
        if exact:
            return set(exact)
        suffix = "/".join(parts) + ".java"
        return {p for p in self._java_by_name.get(parts[-1], ()) if p == suffix or p.endswith("/" + suffix)}

    def _java_package(self, package: str) -> set[str]:
        files = self._java_packages.get(package)
        if not files:
            # no file declared that package: fall back to the directory layout
            suffix = package.replace(".", "/")
            by_dir = self._java_dirs.get(suffix.rsplit("/", 1)[-1], {})
            files = [
                p
                for directory, paths in by_dir.items()
                if directory == suffix or directory.endswith("/" + suffix)
                for p in paths
            ]
        return set(sorted(files)[:MAX_PACKAGE_FILES])

    # c / c++

    def _c(self, importer: str, include: str) -> set[str]:
        beside = posixpath.normpath(_join(_dir(importer), include))
        if beside in self._paths:
            return {beside}
        include = posixpath.normpath(include).lstrip("/")
        if include.startswith("../"):
            include = include.rsplit("../", 1)[-1]
        candidates = [
            p
            for p in self._c_by_name.get(posixpath.basename(include), ())
            if p == include or p.endswith("/" + include)
        ]
        best = _closest(candidates, importer)
        return {best} if best is not None else set()


def _join_dotted(a: str, b: str) -> str:
    return f"{a}.{b}" if a else b


# ---------------------------------------------------------------------------
# Languages added with their own grammar wheels: one resolver each. `add` sees every
# file of the languages it reads, `finish` runs once after, `resolve` answers imports.


class _Uses(NamedTuple):
    """What the importing file references, and which files define each name."""

    names: Container[str]
    defs: Mapping[str, Collection[str]]

    def named_after(self, files: Iterable[str]) -> set[str]:
        """An import of a whole namespace or module (C# `using`, Swift `import`, `a.b.*`) means
        the files of it named after a type the importing file uses, not all of them."""
        return {f for f in files if _stem(f) in self.names}

    def defining(self, name: str, files: Iterable[str]) -> set[str]:
        """Those of `files` that define `name` (a file holding several types, a top-level function)."""
        found = self.defs.get(name)
        return set(files).intersection(found) if found else set()


def _stem(path: str) -> str:
    """The type a file is named after: `Options.TResult.cs`, `View+Extras.swift` -> the first part."""
    return posixpath.basename(path).split(".", 1)[0].split("+", 1)[0]


def _type_files(files: Collection[str], name: str, uses: _Uses) -> set[str]:
    """The files of a namespace holding the type (or top-level function) `name`."""
    return {f for f in files if _stem(f) == name} or uses.defining(name, files)


def _file_at(paths: set[str], *candidates: str) -> set[str]:
    """The first candidate path (normalised) that is a workspace file."""
    for candidate in candidates:
        candidate = posixpath.normpath(candidate)
        if candidate in paths:
            return {candidate}
    return set()


class _Resolver(ABC):
    """What the import resolver of one language provides."""

    reads: frozenset[str] = frozenset()  # languages of the files `add` is given

    @abstractmethod
    def add(self, path: str, language: str, package: str) -> None: ...

    def finish(self) -> None:
        return None

    @abstractmethod
    def resolve(self, importer: str, imp: Import, uses: _Uses) -> set[str]: ...


class _Ruby(_Resolver):
    """`require_relative` beside the file; `require` against the load paths lib/, test/, spec/."""

    reads = frozenset({"ruby"})
    LOAD_DIRS = frozenset({"lib", "test", "spec"})

    def __init__(self, paths: set[str]) -> None:
        self.paths = paths
        # path below a load directory, without .rb -> files
        self.loadable: dict[str, list[str]] = {}

    def add(self, path: str, language: str, package: str) -> None:
        if not path.endswith(".rb"):
            return
        parts = path[: -len(".rb")].split("/")
        for i, part in enumerate(parts[:-1]):
            if part in self.LOAD_DIRS:
                self.loadable.setdefault("/".join(parts[i + 1 :]), []).append(path)

    def resolve(self, importer: str, imp: Import, uses: _Uses) -> set[str]:
        module = imp.module
        if module.startswith(("./", "../")):
            base = _join(_dir(importer), module)
            return _file_at(self.paths, base + ".rb", base)
        key = module[: -len(".rb")] if module.endswith(".rb") else module
        # several gems of a monorepo may each have lib/: the nearest one
        best = _closest(self.loadable.get(key, ()), importer)
        return {best} if best is not None else set()


class _Php(_Resolver):
    """`use` by composer.json's PSR-4 map, else by the class's namespace and file name."""

    reads = frozenset({"php", "json"})

    def __init__(self, paths: set[str]) -> None:
        self.paths = paths
        self.psr4: list[tuple[str, str]] = []  # (namespace prefix, directory)
        self.declared: dict[tuple[str, str], list[str]] = {}  # (namespace, class) -> files
        self.in_namespace: dict[str, list[str]] = {}

    def add(self, path: str, language: str, package: str) -> None:
        if language == "json":
            if posixpath.basename(path) == "composer.json":
                for line in package.splitlines():
                    prefix, _, directory = line.partition("\t")
                    target = posixpath.normpath(_join(_dir(path), directory))
                    self.psr4.append((prefix.strip("\\"), "" if target == "." else target))
        elif path.endswith(".php"):
            self.declared.setdefault((package, posixpath.basename(path)[: -len(".php")]), []).append(path)
            self.in_namespace.setdefault(package, []).append(path)

    def finish(self) -> None:
        self.psr4.sort(key=lambda entry: (-len(entry[0]), entry))  # the most specific prefix first

    def resolve(self, importer: str, imp: Import, uses: _Uses) -> set[str]:
        module = imp.module
        if module.endswith(".php") or "/" in module:  # `require`: beside the file, else from the root
            return _file_at(self.paths, _join(_dir(importer), module), module)
        name = module.strip("\\")
        for prefix, directory in self.psr4:
            if not prefix or name.startswith(prefix + "\\"):
                rest = name[len(prefix) + 1 :] if prefix else name
                found = _file_at(self.paths, _join(directory, rest.replace("\\", "/") + ".php"))
                if found:
                    return found
        namespace, _, cls = name.rpartition("\\")
        best = _closest(self.declared.get((namespace, cls), ()), importer)
        if best is None:  # a file holding several classes, or a function
            best = _closest(uses.defining(cls, self.in_namespace.get(namespace, ())), importer)
        return {best} if best is not None else set()


class _CSharp(_Resolver):
    """`using` a namespace: the files declaring it; `using static` / an alias: the type's file."""

    reads = frozenset({"csharp"})

    def __init__(self) -> None:
        self.namespaces: dict[str, list[str]] = {}

    def add(self, path: str, language: str, package: str) -> None:
        if package:
            self.namespaces.setdefault(package, []).append(path)

    def resolve(self, importer: str, imp: Import, uses: _Uses) -> set[str]:
        files = self.namespaces.get(imp.module)
        if files:
            return uses.named_after(files)
        # a type, perhaps nested (`using static A.B.Outer.Inner`): drop names until one is found
        parts = imp.module.split(".")
        while len(parts) >= 2:
            found = _type_files(self.namespaces.get(".".join(parts[:-1]), ()), parts[-1], uses)
            if found:
                return found
            parts = parts[:-1]
        return set()


class _Packages(_Resolver):
    """Kotlin and Scala: packages as declared, a class in the file named after it, else by directories."""

    def __init__(self, language: str, *, relative: bool = False) -> None:
        self.reads = frozenset({language})
        # Scala resolves `import b.C` inside package `a` as `a.b.C` too
        self.relative = relative
        self.packages: dict[str, list[str]] = {}
        self.package_of: dict[str, str] = {}
        self.by_stem: dict[str, list[str]] = {}

    def add(self, path: str, language: str, package: str) -> None:
        if package:
            self.packages.setdefault(package, []).append(path)
            self.package_of[path] = package
            directory = posixpath.basename(_dir(path))
            if _stem(path) == "package" and directory and not package.endswith("." + directory):
                # `package a` + `package object b` in a/b/package.scala makes the package a.b
                self.packages.setdefault(f"{package}.{directory}", []).append(path)
        self.by_stem.setdefault(_stem(path), []).append(path)

    def resolve(self, importer: str, imp: Import, uses: _Uses) -> set[str]:
        module = imp.module
        bases = [""]
        if self.relative:
            enclosing = self.package_of.get(importer, "").split(".")
            bases += [".".join(enclosing[:i]) for i in range(len(enclosing), 0, -1) if enclosing[0]]
        head = module.split(".", 1)[0]
        for base in bases:
            if base and _join_dotted(base, head) not in self.packages:
                continue  # `b.C` is relative only where the package `a.b` exists
            found = self._absolute(_join_dotted(base, module), uses)
            if found:
                return found
        return set()

    def _absolute(self, module: str, uses: _Uses) -> set[str]:
        if module.endswith(".*"):
            files = self._package(module[:-2])
            # Scala's package object (package.scala) is what a wildcard import often wants
            return uses.named_after(files) | {f for f in files if _stem(f) == "package"}
        parts = module.split(".")
        # `a.b.Outer.Inner`, `a.b.Object.member`: drop trailing names until a class is found
        while len(parts) >= 2:
            found = self._class(parts, uses)
            if found:
                return found
            parts = parts[:-1]
        return set()

    def _class(self, parts: list[str], uses: _Uses) -> set[str]:
        package, name = ".".join(parts[:-1]), parts[-1]
        declared = _type_files(self.packages.get(package, ()), name, uses)
        if declared:
            return declared
        suffix = "/".join(parts)
        return {
            f
            for f in self.by_stem.get(name, ())
            if (stem := posixpath.splitext(f)[0]) == suffix or stem.endswith("/" + suffix)
        }

    def _package(self, package: str) -> list[str]:
        declared = self.packages.get(package)
        if declared:
            return declared
        suffix = "/" + package.replace(".", "/")
        return [f for files in self.by_stem.values() for f in files if ("/" + _dir(f)).endswith(suffix)]


class _Swift(_Resolver):
    """`import Module`: the files of a SwiftPM target, as Package.swift declares or `Sources/<Target>/`."""

    reads = frozenset({"swift"})
    CONVENTION_DIRS = frozenset({"Sources", "Tests"})

    def __init__(self) -> None:
        self.files: list[str] = []
        self.target_dirs: dict[str, str] = {}  # directory -> target declared in a manifest
        self.modules: dict[str, list[str]] = {}

    def add(self, path: str, language: str, package: str) -> None:
        if posixpath.basename(path) == "Package.swift":
            for line in package.splitlines():
                name, _, directory = line.partition("\t")
                target = posixpath.normpath(_join(_dir(path), directory))
                self.target_dirs["" if target == "." else target] = name
        else:
            self.files.append(path)

    def finish(self) -> None:
        for path in self.files:
            module = self._module_of(path)
            if module:
                self.modules.setdefault(module, []).append(path)

    def _module_of(self, path: str) -> str:
        directory = _dir(path)
        while True:
            if directory in self.target_dirs:
                return self.target_dirs[directory]
            if not directory:
                break
            directory = _dir(directory)
        parts = path.split("/")
        for i in range(len(parts) - 2):
            if parts[i] in self.CONVENTION_DIRS:
                return parts[i + 1]
        return ""

    def resolve(self, importer: str, imp: Import, uses: _Uses) -> set[str]:
        return uses.named_after(self.modules.get(imp.module, ()))
