"""Tests for rtk_lsp.index.resolve: raw imports -> workspace files."""

from __future__ import annotations

import time

from rtk_lsp.index.resolve import MAX_PACKAGE_FILES, ImportResolver
from rtk_lsp.model import Import


def files(language: str, *paths: str, package: str = "") -> list[tuple[str, str, str]]:
    return [(p, language, package) for p in paths]


# --------------------------------------------------------------------------- python

PY_FILES = [
    ("pyproject.toml", "toml", ""),
    ("README.md", "markdown", ""),
    *files(
        "python",
        "src/shop/__init__.py",
        "src/shop/orders.py",
        "src/shop/util.py",
        "src/shop/util.pyi",
        "src/shop/billing/__init__.py",
        "src/shop/billing/invoice.py",
        "src/shop/billing/tax.py",
        "src/shop/billing/rules/__init__.py",
        "tests/test_orders.py",
        "tests/conftest.py",
        "vendor/legacy/shop/orders.py",  # a stale copy elsewhere in the tree
        "docs/conf.py",
    ),
]


def test_python_absolute_imports_src_layout() -> None:
    r = ImportResolver(PY_FILES)
    importer = "src/shop/billing/invoice.py"
    assert r.resolve(importer, "python", Import("shop.orders", (), 1)) == ("src/shop/orders.py",)
    # a package resolves to its __init__, a stub loses to the source next to it
    assert r.resolve(importer, "python", Import("shop.billing", (), 1)) == ("src/shop/billing/__init__.py",)
    assert r.resolve(importer, "python", Import("shop.util", (), 1)) == ("src/shop/util.py",)
    assert r.resolve(importer, "python", Import("shop.billing.rules", (), 1)) == (
        "src/shop/billing/rules/__init__.py",
    )
    assert r.resolve("tests/test_orders.py", "python", Import("shop", (), 1)) == ("src/shop/__init__.py",)


def test_python_absolute_prefers_the_copy_nearest_the_importer() -> None:
    r = ImportResolver(PY_FILES)
    imp = Import("shop.orders", (), 1)
    assert r.resolve("src/shop/util.py", "python", imp) == ("src/shop/orders.py",)
    assert r.resolve("vendor/legacy/app.py", "python", imp) == ("vendor/legacy/shop/orders.py",)
    # no directory in common with either: the shorter path wins
    assert r.resolve("docs/conf.py", "python", imp) == ("src/shop/orders.py",)


def test_python_from_import_of_submodules_and_names() -> None:
    r = ImportResolver(PY_FILES)
    importer = "tests/test_orders.py"
    # `invoice` is a submodule, `Invoice` a name defined in the package's __init__
    assert r.resolve(importer, "python", Import("shop.billing", ("invoice", "Invoice"), 3)) == (
        "src/shop/billing/__init__.py",
        "src/shop/billing/invoice.py",
    )
    assert r.resolve(importer, "python", Import("shop.billing", ("tax",), 3)) == ("src/shop/billing/tax.py",)
    assert r.resolve(importer, "python", Import("shop.orders", ("Order",), 3)) == ("src/shop/orders.py",)
    assert r.resolve(importer, "python", Import("shop.billing", ("*",), 3)) == (
        "src/shop/billing/__init__.py",
    )


def test_python_relative_imports() -> None:
    r = ImportResolver(PY_FILES)
    importer = "src/shop/billing/invoice.py"
    assert r.resolve(importer, "python", Import(".", ("tax",), 1)) == ("src/shop/billing/tax.py",)
    assert r.resolve(importer, "python", Import(".", ("ROUNDING",), 1)) == ("src/shop/billing/__init__.py",)
    assert r.resolve(importer, "python", Import(".tax", ("vat",), 1)) == ("src/shop/billing/tax.py",)
    assert r.resolve(importer, "python", Import("..orders", ("Order",), 1)) == ("src/shop/orders.py",)
    assert r.resolve(importer, "python", Import("..", ("util",), 1)) == ("src/shop/util.py",)
    assert r.resolve(importer, "python", Import(".rules", (), 1)) == ("src/shop/billing/rules/__init__.py",)
    assert r.resolve(importer, "python", Import("..missing", ("x",), 1)) == ()
    # `src/shop/billing.py` beside the package does not stand in for `from . import`
    beside = ImportResolver([*PY_FILES, ("src/shop/billing.py", "python", "")])
    assert beside.resolve(importer, "python", Import(".", ("ROUNDING",), 1)) == (
        "src/shop/billing/__init__.py",
    )
    # more dots than directories
    assert r.resolve(importer, "python", Import(".....", ("x",), 1)) == ()


def test_python_external_and_self_imports() -> None:
    r = ImportResolver(PY_FILES)
    for module in ("os", "os.path", "pytest", "shop.nonexistent"):
        assert r.resolve("src/shop/orders.py", "python", Import(module, (), 1)) == ()
    # a file never depends on itself
    assert r.resolve("src/shop/billing/tax.py", "python", Import(".tax", ("RATE",), 1)) == ()


def test_python_workspace_is_a_subdirectory_of_the_package_root() -> None:
    # the workspace opened at `shop/` itself: imports still spell `shop.x`
    r = ImportResolver(files("python", "billing/tax.py", "billing/__init__.py", "orders.py"))
    assert r.resolve("orders.py", "python", Import("shop.billing.tax", (), 1)) == ()
    assert r.resolve("orders.py", "python", Import("billing.tax", (), 1)) == ("billing/tax.py",)


# --------------------------------------------------------------------------- javascript / typescript

TS_FILES = [
    ("package.json", "json", ""),
    *files("typescript", "src/index.ts", "src/app.ts", "src/cart/index.ts", "src/cart/cart.ts"),
    *files("typescript", "src/util/format.ts", "src/types/api.d.ts", "src/esm/worker.mts"),
    *files("tsx", "src/components/Button.tsx", "src/components/index.tsx"),
    *files("javascript", "src/legacy/helpers.js", "src/legacy/data.json.js", "scripts/build.mjs"),
    ("src/data/prices.json", "json", ""),
]


def test_typescript_relative_specifiers() -> None:
    r = ImportResolver(TS_FILES)

    def res(spec: str, importer: str = "src/app.ts", language: str = "typescript") -> tuple[str, ...]:
        return r.resolve(importer, language, Import(spec, (), 1))

    assert res("./cart") == ("src/cart/index.ts",)  # directory -> index file
    assert res("./cart/cart") == ("src/cart/cart.ts",)
    assert res("./components/Button") == ("src/components/Button.tsx",)
    assert res("./components") == ("src/components/index.tsx",)
    assert res("./legacy/helpers") == ("src/legacy/helpers.js",)
    assert res("./types/api") == ("src/types/api.d.ts",)
    assert res("./data/prices.json") == ("src/data/prices.json",)  # exact file first
    assert res("../index", "src/cart/cart.ts") == ("src/index.ts",)
    assert res("..", "src/cart/cart.ts") == ("src/index.ts",)
    assert res("./cart.ts?raw", "src/cart/index.ts") == ("src/cart/cart.ts",)


def test_typescript_esm_js_extension_maps_to_source() -> None:
    r = ImportResolver(TS_FILES)
    assert r.resolve("src/app.ts", "typescript", Import("./util/format.js", (), 1)) == ("src/util/format.ts",)
    assert r.resolve("src/app.ts", "typescript", Import("./components/Button.jsx", (), 1)) == (
        "src/components/Button.tsx",
    )
    assert r.resolve("src/app.ts", "typescript", Import("./esm/worker.mjs", (), 1)) == ("src/esm/worker.mts",)
    # a real .js file is still found by its own name
    assert r.resolve("src/app.ts", "typescript", Import("./legacy/helpers.js", (), 1)) == (
        "src/legacy/helpers.js",
    )


def test_javascript_packages_and_escapes_are_external() -> None:
    r = ImportResolver(TS_FILES)
    for spec in ("react", "@angular/core", "lodash/fp", "../../outside", "./nope", "/abs/path"):
        assert r.resolve("src/app.ts", "typescript", Import(spec, (), 1)) == ()
    assert r.resolve("scripts/build.mjs", "javascript", Import("../src/legacy/helpers", (), 1)) == (
        "src/legacy/helpers.js",
    )
    assert r.resolve("src/components/Button.tsx", "tsx", Import("../util/format", (), 1)) == (
        "src/util/format.ts",
    )


# --------------------------------------------------------------------------- rust

CORE = "crates/shop-core"
RUST_FILES = [
    ("Cargo.toml", "toml", ""),
    (f"{CORE}/Cargo.toml", "toml", ""),
    *files(
        "rust",
        f"{CORE}/src/lib.rs",
        f"{CORE}/src/units.rs",
        f"{CORE}/src/geometry/mod.rs",
        f"{CORE}/src/geometry/shapes.rs",
        f"{CORE}/src/geometry/render.rs",
        f"{CORE}/src/geometry/render/svg.rs",
        f"{CORE}/tests/it.rs",
        f"{CORE}/tests/common/mod.rs",
        "crates/shop-cli/src/main.rs",
        "crates/shop-cli/src/args.rs",
    ),
]


def rs(importer: str, module: str, *names: str) -> tuple[str, ...]:
    return ImportResolver(RUST_FILES).resolve(importer, "rust", Import(module, names, 1))


def test_rust_mod_declarations() -> None:
    assert rs(f"{CORE}/src/lib.rs", "mod:geometry") == (f"{CORE}/src/geometry/mod.rs",)
    assert rs(f"{CORE}/src/lib.rs", "mod:units") == (f"{CORE}/src/units.rs",)
    assert rs(f"{CORE}/src/geometry/mod.rs", "mod:shapes") == (f"{CORE}/src/geometry/shapes.rs",)
    # `render.rs` keeps its children in `render/`
    assert rs(f"{CORE}/src/geometry/render.rs", "mod:svg") == (f"{CORE}/src/geometry/render/svg.rs",)
    # an integration test is a crate root of its own: modules live beside it
    assert rs(f"{CORE}/tests/it.rs", "mod:common") == (f"{CORE}/tests/common/mod.rs",)
    assert rs(f"{CORE}/src/lib.rs", "mod:missing") == ()


def test_rust_crate_paths() -> None:
    shapes = f"{CORE}/src/geometry/shapes.rs"
    assert rs(shapes, "crate::units", "Length", "Angle") == (f"{CORE}/src/units.rs",)
    # the deepest module file that exists; the rest are items
    assert rs(shapes, "crate::geometry::render::svg", "SvgWriter") == (f"{CORE}/src/geometry/render/svg.rs",)
    assert rs(shapes, "crate::units::metric::Meter") == (f"{CORE}/src/units.rs",)
    # names may themselves be modules
    assert rs(shapes, "crate::geometry", "render", "Point") == (
        f"{CORE}/src/geometry/mod.rs",
        f"{CORE}/src/geometry/render.rs",
    )
    # an item of the crate root
    assert rs(shapes, "crate", "Config") == (f"{CORE}/src/lib.rs",)


def test_rust_super_and_self() -> None:
    shapes = f"{CORE}/src/geometry/shapes.rs"
    svg = f"{CORE}/src/geometry/render/svg.rs"
    assert rs(shapes, "super::render", "self", "Canvas") == (f"{CORE}/src/geometry/render.rs",)
    assert rs(shapes, "super", "*") == (f"{CORE}/src/geometry/mod.rs",)
    assert rs(svg, "super", "Canvas") == (f"{CORE}/src/geometry/render.rs",)
    assert rs(svg, "super::super::shapes", "Circle") == (f"{CORE}/src/geometry/shapes.rs",)
    assert rs(f"{CORE}/src/geometry/mod.rs", "super::units", "Length") == (f"{CORE}/src/units.rs",)
    assert rs(f"{CORE}/src/geometry/render.rs", "self::svg", "SvgWriter") == (svg,)
    # `super` of the crate root does not exist
    assert rs(f"{CORE}/src/lib.rs", "super::x") == ()


def test_rust_other_workspace_crates_and_externals() -> None:
    main = "crates/shop-cli/src/main.rs"
    assert rs(main, "shop_core::geometry::shapes", "Circle") == (f"{CORE}/src/geometry/shapes.rs",)
    assert rs(main, "shop_core") == (f"{CORE}/src/lib.rs",)  # `extern crate shop_core;`
    assert rs(main, "mod:args") == ("crates/shop-cli/src/args.rs",)
    assert rs(main, "crate::args", "Cli") == ("crates/shop-cli/src/args.rs",)
    # the package `shop-geometry` kept in `crates/geometry`
    assert ImportResolver([*RUST_FILES, ("crates/geometry/src/lib.rs", "rust", "")]).resolve(
        main, "rust", Import("shop_geometry", ("Point",), 1)
    ) == ("crates/geometry/src/lib.rs",)
    # 2018 paths may start with a child module of the current one
    assert rs(main, "args", "Cli") == ("crates/shop-cli/src/args.rs",)
    for module in ("std::fmt", "serde", "tokio::sync"):
        assert rs(main, module, "X") == ()


# --------------------------------------------------------------------------- go

GO_FILES = [
    ("go.mod", "gomod", ""),
    *files("go", "main.go", "doc.go", "cmd/shopd/main.go", package="main"),
    *files("go", "internal/store/store.go", "internal/store/query.go", "internal/store/store_test.go"),
    *files("go", "internal/model/order.go", "pkg/api/client.go", "pkg/json/encode.go"),
    *files("go", "vendor/github.com/sirupsen/logrus/logrus.go", "vendor/github.com/sirupsen/logrus/entry.go"),
]


def test_go_module_paths() -> None:
    r = ImportResolver(GO_FILES, go_module="github.com/acme/shop")
    main = "cmd/shopd/main.go"
    assert r.resolve(main, "go", Import("github.com/acme/shop/internal/store")) == (
        "internal/store/query.go",
        "internal/store/store.go",  # no _test.go files
    )
    # the module root is the repository's root package
    assert r.resolve(main, "go", Import("github.com/acme/shop")) == ("doc.go", "main.go")
    assert r.resolve(main, "go", Import("github.com/acme/shop/internal/nothing")) == ()


def test_go_external_stdlib_and_vendor() -> None:
    r = ImportResolver(GO_FILES, go_module="github.com/acme/shop")
    main = "cmd/shopd/main.go"
    for path in ("context", "net/http", "encoding/json", "github.com/other/api"):
        assert r.resolve(main, "go", Import(path)) == (), path
    assert r.resolve(main, "go", Import("github.com/sirupsen/logrus")) == (
        "vendor/github.com/sirupsen/logrus/entry.go",
        "vendor/github.com/sirupsen/logrus/logrus.go",
    )


def test_go_without_module_matches_the_longest_directory_suffix() -> None:
    r = ImportResolver(GO_FILES)
    main = "cmd/shopd/main.go"
    assert r.resolve(main, "go", Import("github.com/acme/shop/internal/model")) == (
        "internal/model/order.go",
    )
    assert r.resolve(main, "go", Import("github.com/spf13/cobra/pkg/api")) == ("pkg/api/client.go",)
    assert r.resolve(main, "go", Import("example.com/x/json")) == ("pkg/json/encode.go",)
    # a standard library path never matches a workspace directory by a partial suffix
    assert r.resolve(main, "go", Import("encoding/json")) == ()


def test_go_package_is_capped() -> None:
    many = files("go", *(f"gen/proto/m{i:02d}.go" for i in range(30)))
    r = ImportResolver(many, go_module="example.com/svc")
    found = r.resolve("main.go", "go", Import("example.com/svc/gen/proto"))
    assert len(found) == MAX_PACKAGE_FILES
    assert found == tuple(f"gen/proto/m{i:02d}.go" for i in range(MAX_PACKAGE_FILES))


# --------------------------------------------------------------------------- java

JAVA_ROOT = "src/main/java/com/acme/shop"
JAVA_FILES = [
    ("pom.xml", "xml", ""),
    (f"{JAVA_ROOT}/service/OrderService.java", "java", "com.acme.shop.service"),
    (f"{JAVA_ROOT}/model/Order.java", "java", "com.acme.shop.model"),
    (f"{JAVA_ROOT}/model/LineItem.java", "java", "com.acme.shop.model"),
    (f"{JAVA_ROOT}/util/Checks.java", "java", ""),  # not parsed yet: found by its path
    ("src/test/java/com/acme/shop/service/OrderServiceTest.java", "java", "com.acme.shop.service"),
    ("legacy/Weird.java", "java", "com.acme.legacy"),  # directory does not follow the package
]


def test_java_class_and_package_imports() -> None:
    r = ImportResolver(JAVA_FILES)
    importer = "src/test/java/com/acme/shop/service/OrderServiceTest.java"

    def res(module: str, *names: str) -> tuple[str, ...]:
        return r.resolve(importer, "java", Import(module, names, 1))

    assert res("com.acme.shop.model.Order", "Order") == (f"{JAVA_ROOT}/model/Order.java",)
    assert res("com.acme.shop.model.*", "*") == (
        f"{JAVA_ROOT}/model/LineItem.java",
        f"{JAVA_ROOT}/model/Order.java",
    )
    assert res("com.acme.shop.util.Checks", "requireNonNull") == (f"{JAVA_ROOT}/util/Checks.java",)
    assert res("com.acme.shop.util.*", "*") == (f"{JAVA_ROOT}/util/Checks.java",)  # by directory
    assert res("com.acme.shop.model.Order.Status", "Status") == (f"{JAVA_ROOT}/model/Order.java",)
    assert res("com.acme.legacy.Weird", "Weird") == ("legacy/Weird.java",)  # by declared package
    assert res("com.acme.shop.service.OrderService", "OrderService") == (
        f"{JAVA_ROOT}/service/OrderService.java",
    )
    for module in ("java.util.List", "java.util.concurrent.*", "org.junit.Assert"):
        assert res(module, "X") == ()


# --------------------------------------------------------------------------- c / c++

C_FILES = [
    ("CMakeLists.txt", "cmake", ""),
    *files("c", "src/main.c", "src/buffer.c", "src/buffer.h", "include/shop/buffer.h"),
    *files("c", "include/shop/alloc.h", "third_party/zlib/zlib.h", "tests/buffer_test.c"),
    *files("cpp", "src/ui/widget.cpp", "src/ui/widget.hpp", "include/ui/widget.hpp"),
]


def test_c_quoted_includes() -> None:
    r = ImportResolver(C_FILES)

    def res(importer: str, header: str, language: str = "c") -> tuple[str, ...]:
        return r.resolve(importer, language, Import(header, (), 1))

    assert res("src/buffer.c", "buffer.h") == ("src/buffer.h",)  # beside the including file first
    assert res("src/main.c", "shop/buffer.h") == ("include/shop/buffer.h",)  # then by path suffix
    assert res("src/main.c", "../include/shop/alloc.h") == ("include/shop/alloc.h",)
    assert res("src/main.c", "zlib.h") == ("third_party/zlib/zlib.h",)
    # two files called buffer.h, neither beside the includer: the shorter path
    assert res("tests/buffer_test.c", "buffer.h") == ("src/buffer.h",)
    assert res("src/main.c", "missing.h") == ()
    # the closest by shared directories
    assert res("src/ui/view.cpp", "ui/widget.hpp", "cpp") == ("src/ui/widget.hpp",)
    assert res("include/ui/all.hpp", "ui/widget.hpp", "cpp") == ("include/ui/widget.hpp",)


# --------------------------------------------------------------------------- general


def test_unknown_language_and_non_source_files() -> None:
    r = ImportResolver([*PY_FILES, *TS_FILES])
    assert r.resolve("README.md", "markdown", Import("shop.orders", (), 1)) == ()
    assert r.resolve("a.rb", "ruby", Import("./x", (), 1)) == ()


def test_large_workspace_builds_fast_and_resolves() -> None:
    workspace: list[tuple[str, str, str]] = []
    for i in range(2500):
        pkg = f"pkg{i % 50}/sub{i % 7}"
        workspace += [
            (f"src/{pkg}/mod{i}.py", "python", ""),
            (f"web/{pkg}/comp{i}.ts", "typescript", ""),
            (f"go/{pkg}/file{i}.go", "go", f"sub{i % 7}"),
            (f"java/com/acme/{pkg}/C{i}.java", "java", f"com.acme.{pkg.replace('/', '.')}"),
        ]
    start = time.process_time()  # CPU time: not inflated by other processes
    r = ImportResolver(workspace, go_module="example.com/ws")
    elapsed = time.process_time() - start
    assert len(workspace) == 10_000
    assert elapsed < 0.25, f"building the index took {elapsed * 1000:.0f} ms"
    assert r.resolve("src/pkg1/sub1/mod1.py", "python", Import("pkg3.sub3.mod3", (), 1)) == (
        "src/pkg3/sub3/mod3.py",
    )
    assert r.resolve("web/pkg1/sub1/comp1.ts", "typescript", Import("../../pkg3/sub3/comp3", (), 1)) == (
        "web/pkg3/sub3/comp3.ts",
    )
    assert r.resolve("x.java", "java", Import("com.acme.pkg3.sub3.C3", ("C3",), 1)) == (
        "java/com/acme/pkg3/sub3/C3.java",
    )
