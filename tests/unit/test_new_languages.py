"""Ruby, PHP, C#, Kotlin, Swift and Scala: symbols, references, imports and import resolution.

Each language gets a small source made here, the definitions it must yield (kind, lines,
signature, doc line, parent), references with their lines, its imports, and resolution
cases over a made-up file list; a polyglot repository is checked end to end through the CLI.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from gitrepo import GitRepo

from rtk_lsp.index.graph import Graph
from rtk_lsp.index.languages import MANIFEST_NAMES, PARSED, detect_language
from rtk_lsp.index.parse import LANGUAGES, MANIFESTS
from rtk_lsp.index.parse.extract import extract
from rtk_lsp.index.resolve import ImportResolver
from rtk_lsp.index.workspace import Workspace
from rtk_lsp.model import SYMBOL_KINDS, FileFacts, Import
from rtk_lsp.plan.pipeline import plan
from rtk_lsp.plan.request import PlanRequest
from rtk_lsp.planning import build_snapshot
from rtk_lsp.settings import Settings

NEW = ("ruby", "php", "csharp", "kotlin", "swift", "scala")


def facts_of(path: str, source: str) -> FileFacts:
    facts = extract(path, detect_language(path), source.encode())
    assert all(s.kind in SYMBOL_KINDS for s in facts.symbols)
    assert facts.refs.keys() == facts.ref_lines.keys()
    return facts


def table(facts: FileFacts) -> list[tuple[str, str, str, int, int]]:
    return [(s.kind, s.parent, s.name, s.start_line, s.end_line) for s in facts.symbols]


def by_name(facts: FileFacts) -> dict[str, tuple[str, str]]:
    """qualified name -> (signature, doc)"""
    out: dict[str, tuple[str, str]] = {}
    for s in facts.symbols:  # a Swift extension or a Scala companion shares its type's name
        out.setdefault(s.qualified, (s.signature, s.doc))
    return out


Resolve = Callable[..., tuple[str, ...]]


def resolver(files: list[tuple[str, str, str]], importer: str, defs: dict[str, frozenset[str]]) -> Resolve:
    """`res(module, used={})`: what `module`, imported by `importer`, resolves to among `files`."""
    r = ImportResolver(files)
    language = detect_language(importer)

    def res(module: str, used: dict[str, int] | None = None) -> tuple[str, ...]:
        return r.resolve(importer, language, Import(module), used or {}, defs)

    return res


def test_the_new_languages_are_parsed_and_their_grammars_load() -> None:
    assert set(NEW) <= PARSED == LANGUAGES
    assert set(MANIFESTS) == MANIFEST_NAMES
    for language in NEW:
        # an empty-but-valid file of each parses without error: the grammar loaded
        assert extract("x", language, b"\n") is not None
    path_of = {"ruby": "a.rb", "php": "a.php", "csharp": "a.cs", "kotlin": "a.kt", "swift": "a.swift"}
    for language, path in {**path_of, "scala": "a.scala"}.items():
        assert detect_language(path) == language


# --------------------------------------------------------------------------- ruby

RUBY = """\
require "json"
require_relative "support/helpers"
autoload :Adapter, "shop/adapter"

# Things a shop sells.
module Shop
  # A customer's cart.
  class Cart < Base
    include Enumerable
    attr_reader :items, :owner
    LIMIT = 10

    # Adds an item to the cart.
    def add(item, qty = 1)
      @items << item
      Pricing.total(item) * qty
    end

    def self.build(owner)
      new(owner)
    end

    class << self
      def empty; end
    end
  end

  class Admin::Report
    def render = "report"
  end
end

def checkout(cart)
  Shop::Cart.build(cart).add(cart)
end
"""


def test_ruby_symbols_references_imports() -> None:
    f = facts_of("lib/shop/cart.rb", RUBY)
    assert table(f) == [
        ("module", "", "Shop", 6, 31),
        ("class", "Shop", "Cart", 8, 26),
        ("property", "Cart", "items", 10, 10),
        ("property", "Cart", "owner", 10, 10),
        ("constant", "Cart", "LIMIT", 11, 11),
        ("method", "Cart", "add", 14, 17),
        ("method", "Cart", "build", 19, 21),
        ("method", "Cart", "empty", 24, 24),
        ("class", "Shop", "Report", 28, 30),
        ("method", "Report", "render", 29, 29),
        ("function", "", "checkout", 33, 35),
    ]
    sig = by_name(f)
    assert sig["Shop"] == ("module Shop", "Things a shop sells.")
    assert sig["Shop.Cart"] == ("class Cart < Base", "A customer's cart.")
    assert sig["Cart.add"] == ("def add(item, qty = 1)", "Adds an item to the cart.")
    assert sig["Cart.build"][0] == "def self.build(owner)"
    assert f.imports == (
        Import("json", (), 1),
        Import("./support/helpers", (), 2),
        Import("shop/adapter", (), 3),
    )
    assert f.ref_lines["Pricing"] == (16,)
    assert f.ref_lines["total"] == (16,)
    assert f.ref_lines["Cart"] == (34,)  # the definition's own name is not a use
    assert f.ref_lines["build"] == (34,)
    assert {"Enumerable", "Base", "Admin", "item"} <= f.refs.keys()
    assert not {"require", "attr_reader", "new", "self", "add_item"} & f.refs.keys()


def test_ruby_resolution_require_relative_and_load_paths() -> None:
    files = [
        ("lib/shop.rb", "ruby", ""),
        ("lib/shop/cart.rb", "ruby", ""),
        ("lib/shop/support/helpers.rb", "ruby", ""),
        ("lib/shop/adapter.rb", "ruby", ""),
        ("engines/admin/lib/shop/adapter.rb", "ruby", ""),
        ("test/test_helper.rb", "ruby", ""),
        ("test/cart_test.rb", "ruby", ""),
    ]
    r = ImportResolver(files)
    cart = "lib/shop/cart.rb"
    assert r.resolve(cart, "ruby", Import("./support/helpers")) == ("lib/shop/support/helpers.rb",)
    assert r.resolve(cart, "ruby", Import("../shop")) == ("lib/shop.rb",)
    assert r.resolve(cart, "ruby", Import("./support/helpers.rb")) == ("lib/shop/support/helpers.rb",)
    # `require` searches the load paths; of two gems' lib/ the nearer one wins
    assert r.resolve(cart, "ruby", Import("shop/adapter")) == ("lib/shop/adapter.rb",)
    engine = "engines/admin/lib/admin.rb"
    assert r.resolve(engine, "ruby", Import("shop/adapter")) == ("engines/admin/lib/shop/adapter.rb",)
    assert r.resolve("test/cart_test.rb", "ruby", Import("test_helper")) == ("test/test_helper.rb",)
    # the standard library and other gems are outside the workspace
    assert r.resolve(cart, "ruby", Import("json")) == ()
    assert r.resolve(cart, "ruby", Import("./missing")) == ()


# --------------------------------------------------------------------------- php

PHP = """\
<?php
declare(strict_types=1);

namespace App\\Orders;

use App\\Support\\Money;
use App\\Contracts\\{Payable, Shippable as Ship};
use function App\\Support\\format_money;

require_once __DIR__ . '/helpers.php';

/**
 * An order placed by a customer.
 */
#[Entity]
final class Order implements Payable
{
    use HasEvents;

    public const STATUS_NEW = 'new';
    private array $lines = [];

    /** Total of all lines. */
    public function total(): Money
    {
        $sum = Money::zero();
        foreach ($this->lines as $line) {
            $sum = $sum->add($line->price());
        }
        return $sum;
    }
}

interface Refundable
{
    public function refund(int $amount): void;
}

trait HasEvents
{
    public function raise(): void {}
}

enum Status: string
{
    case Open = 'open';
}

function make_order(): Order
{
    return new Order();
}
"""


def test_php_symbols_references_imports() -> None:
    f = facts_of("src/Orders/Order.php", PHP)
    assert f.package == "App\\Orders"
    assert table(f) == [
        ("class", "", "Order", 15, 32),
        ("constant", "Order", "STATUS_NEW", 20, 20),
        ("property", "Order", "lines", 21, 21),
        ("method", "Order", "total", 24, 31),
        ("interface", "", "Refundable", 34, 37),
        ("method", "Refundable", "refund", 36, 36),
        ("trait", "", "HasEvents", 39, 42),
        ("method", "HasEvents", "raise", 41, 41),
        ("enum", "", "Status", 44, 47),
        ("function", "", "make_order", 49, 52),
    ]
    sig = by_name(f)
    assert sig["Order"] == ("final class Order implements Payable", "An order placed by a customer.")
    assert sig["Order.total"] == ("public function total(): Money", "Total of all lines.")
    assert sig["Refundable.refund"][0] == "public function refund(int $amount): void;"
    assert f.imports == (
        Import("App\\Support\\Money", ("Money",), 6),
        Import("App\\Contracts\\Payable", ("Payable",), 7),
        Import("App\\Contracts\\Shippable", ("Shippable",), 7),
        Import("App\\Support\\format_money", ("format_money",), 8),
        Import("./helpers.php", (), 10),
    )
    assert f.ref_lines["Money"] == (24, 26)
    assert f.ref_lines["zero"] == (26,)
    assert f.ref_lines["price"] == (28,)
    assert f.ref_lines["Order"] == (49, 51)
    assert {"Payable", "HasEvents", "Entity", "add", "lines"} <= f.refs.keys()
    # local variables, namespace paths and `$this` are not references
    assert not {"sum", "line", "amount", "this", "App", "Support", "Contracts", "Open"} & f.refs.keys()


def test_php_resolution_psr4_then_declared_namespaces() -> None:
    composer = json.dumps(
        {
            "autoload": {"psr-4": {"App\\": "src/", "Lib\\Util\\": ["lib/util/", "lib/extra/"]}},
            "autoload-dev": {"psr-4": {"App\\Tests\\": "tests/"}},
        }
    ).encode()
    psr4 = extract("composer.json", "json", composer).package
    assert psr4.splitlines() == [
        "App\\\tsrc/",
        "Lib\\Util\\\tlib/util/",
        "Lib\\Util\\\tlib/extra/",
        "App\\Tests\\\ttests/",
    ]
    assert extract("composer.json", "json", b"{not json").package == ""
    files = [
        ("composer.json", "json", psr4),
        ("src/Support/Money.php", "php", "App\\Support"),
        ("src/Orders/Order.php", "php", "App\\Orders"),
        ("src/Orders/helpers.php", "php", "App\\Orders"),
        ("lib/extra/Str.php", "php", "Lib\\Util"),
        ("tests/OrderTest.php", "php", "App\\Tests"),
        # no composer.json maps this directory: found by its namespace declaration
        ("modules/billing/Invoice.php", "php", "Billing"),
        ("modules/billing/functions.php", "php", "Billing"),
    ]
    r = ImportResolver(files)
    order = "src/Orders/Order.php"

    def res(module: str, defs: dict[str, frozenset[str]] | None = None) -> tuple[str, ...]:
        return r.resolve(order, "php", Import(module, (module.rpartition("\\")[2],)), (), defs)

    assert res("App\\Support\\Money") == ("src/Support/Money.php",)
    assert res("\\App\\Support\\Money") == ("src/Support/Money.php",)
    assert res("Lib\\Util\\Str") == ("lib/extra/Str.php",)  # the second directory of the prefix
    assert res("App\\Tests\\OrderTest") == ("tests/OrderTest.php",)  # the longer prefix wins
    assert res("Billing\\Invoice") == ("modules/billing/Invoice.php",)
    assert res("Billing\\bill") == ()
    assert res("Billing\\bill", {"bill": frozenset({"modules/billing/functions.php"})}) == (
        "modules/billing/functions.php",
    )
    assert res("Psr\\Log\\LoggerInterface") == ()
    assert r.resolve(order, "php", Import("./helpers.php")) == ("src/Orders/helpers.php",)


# --------------------------------------------------------------------------- c#

CSHARP = """\
using System;
using Shop.Pricing;
using static Shop.Pricing.Rates;
using Clock = Shop.Time.SystemClock;

namespace Shop.Orders;

/// <summary>
/// An order placed by a customer.
/// </summary>
[Serializable]
public sealed class Order : IOrder
{
    public const int MaxLines = 50;
    private static readonly string Prefix = "ORD";
    private int _count;

    public string Id { get; init; }

    /// <summary>Creates an empty order.</summary>
    public Order(string id) { Id = id; }

    /// <summary>Total of all lines.</summary>
    public decimal Total(decimal rate)
    {
        return Calculator.Apply(rate, _count) + Rates.Vat;
    }
}

public interface IOrder
{
    decimal Total(decimal rate);
}

public record struct Line(string Sku, int Qty);
public enum Status { Open, Paid }
public delegate void Changed(Order order);
"""


def test_csharp_symbols_references_imports() -> None:
    f = facts_of("src/Orders/Order.cs", CSHARP)
    assert f.package == "Shop.Orders"
    assert table(f) == [
        ("class", "", "Order", 11, 28),
        ("constant", "Order", "MaxLines", 14, 14),
        ("constant", "Order", "Prefix", 15, 15),
        ("property", "Order", "Id", 18, 18),
        ("method", "Order", "Order", 21, 21),
        ("method", "Order", "Total", 24, 27),
        ("interface", "", "IOrder", 30, 33),
        ("method", "IOrder", "Total", 32, 32),
        ("class", "", "Line", 35, 35),
        ("enum", "", "Status", 36, 36),
        ("type", "", "Changed", 37, 37),
    ]
    sig = by_name(f)
    assert sig["Order"] == ("public sealed class Order : IOrder", "An order placed by a customer.")
    assert sig["Order.Total"] == ("public decimal Total(decimal rate)", "Total of all lines.")
    assert sig["Order.Order"] == ("public Order(string id)", "Creates an empty order.")
    assert f.imports == (
        Import("System", (), 1),
        Import("Shop.Pricing", (), 2),
        Import("Shop.Pricing.Rates", (), 3),
        Import("Shop.Time.SystemClock", ("Clock",), 4),
    )
    assert f.ref_lines["Calculator"] == (26,)
    assert f.ref_lines["Rates"] == (26,)
    assert f.ref_lines["Order"] == (37,)
    assert {"IOrder", "Serializable", "Apply", "Vat", "_count"} <= f.refs.keys()
    assert not {"System", "Shop", "Pricing", "Orders", "Open", "Paid", "Clock"} & f.refs.keys()


def test_csharp_resolution_by_declared_namespaces() -> None:
    files = [
        ("src/Pricing/Calculator.cs", "csharp", "Shop.Pricing"),
        ("src/Pricing/Rates.cs", "csharp", "Shop.Pricing"),
        ("src/Pricing/Discounts.cs", "csharp", "Shop.Pricing"),
        ("src/Pricing/Options.TResult.cs", "csharp", "Shop.Pricing"),
        ("src/Time/SystemClock.cs", "csharp", "Shop.Time"),
        ("src/Time/Clocks.cs", "csharp", "Shop.Time"),
        ("src/Orders/Order.cs", "csharp", "Shop.Orders"),
    ]
    r = ImportResolver(files)
    order = "src/Orders/Order.cs"
    used = {"Calculator": 2, "Options": 1, "Vat": 1}
    # a namespace: its files named after the types this file uses, not all of them
    assert r.resolve(order, "csharp", Import("Shop.Pricing"), used) == (
        "src/Pricing/Calculator.cs",
        "src/Pricing/Options.TResult.cs",
    )
    assert r.resolve(order, "csharp", Import("Shop.Pricing"), {}) == ()
    # a type: `using static` and aliases; a nested type resolves to its outer type's file
    assert r.resolve(order, "csharp", Import("Shop.Pricing.Rates")) == ("src/Pricing/Rates.cs",)
    assert r.resolve(order, "csharp", Import("Shop.Time.SystemClock", ("Clock",))) == (
        "src/Time/SystemClock.cs",
    )
    assert r.resolve(order, "csharp", Import("Shop.Pricing.Rates.Table")) == ("src/Pricing/Rates.cs",)
    # a type in a file named otherwise is found through the definitions
    defs = {"MonotonicClock": frozenset({"src/Time/Clocks.cs"})}
    assert r.resolve(order, "csharp", Import("Shop.Time.MonotonicClock"), (), defs) == ("src/Time/Clocks.cs",)
    assert r.resolve(order, "csharp", Import("System.Text"), used) == ()


# --------------------------------------------------------------------------- kotlin

KOTLIN = """\
package com.shop.orders

import com.shop.pricing.Calculator
import com.shop.pricing.*
import com.shop.util.formatMoney as fmt

/** An order placed by a customer. */
@Serializable
data class Order(val id: String) : Payable {
    val lines = mutableListOf<Line>()

    // Total of all lines.
    fun total(rate: Double): Double {
        return Calculator.apply(rate, lines.size)
    }

    companion object {
        const val MAX_LINES = 50
        fun empty() = Order("")
    }
}

interface Payable {
    fun pay(amount: Long)
}

object Registry {
    fun register(order: Order) = order.lines.forEach { println(it) }
}

enum class Status { OPEN, PAID }

typealias Orders = List<Order>

fun checkout(order: Order): Double = order.total(1.0)
"""


def test_kotlin_symbols_references_imports() -> None:
    f = facts_of("src/main/kotlin/com/shop/orders/Order.kt", KOTLIN)
    assert f.package == "com.shop.orders"
    assert table(f) == [
        ("class", "", "Order", 8, 21),
        ("property", "Order", "lines", 10, 10),
        ("method", "Order", "total", 13, 15),
        ("constant", "Order", "MAX_LINES", 18, 18),
        ("method", "Order", "empty", 19, 19),
        ("interface", "", "Payable", 23, 25),
        ("method", "Payable", "pay", 24, 24),
        ("object", "", "Registry", 27, 29),
        ("method", "Registry", "register", 28, 28),
        ("enum", "", "Status", 31, 31),
        ("type", "", "Orders", 33, 33),
        ("function", "", "checkout", 35, 35),
    ]
    sig = by_name(f)
    assert sig["Order"] == ("data class Order(val id: String) : Payable", "An order placed by a customer.")
    assert sig["Order.total"] == ("fun total(rate: Double): Double", "Total of all lines.")
    assert sig["Registry"][0] == "object Registry"
    assert f.imports == (
        Import("com.shop.pricing.Calculator", ("Calculator",), 3),
        Import("com.shop.pricing.*", ("*",), 4),
        Import("com.shop.util.formatMoney", ("formatMoney",), 5),
    )
    assert f.ref_lines["Calculator"] == (14,)
    assert f.ref_lines["apply"] == (14,)
    assert f.ref_lines["Order"] == (19, 28, 33, 35)
    assert {"Payable", "Serializable", "Line", "mutableListOf", "total"} <= f.refs.keys()
    assert not {"com", "shop", "pricing", "orders", "OPEN", "it", "fmt"} & f.refs.keys()


def test_kotlin_resolution_by_package_declarations_and_directories() -> None:
    files = [
        ("core/src/com/shop/pricing/Calculator.kt", "kotlin", "com.shop.pricing"),
        ("core/src/com/shop/pricing/Discounts.kt", "kotlin", "com.shop.pricing"),
        ("core/src/com/shop/util/Money.kt", "kotlin", "com.shop.util"),
        # a package declared without the directories that usually spell it
        ("app/src/Checkout.kt", "kotlin", "com.shop.checkout"),
        ("app/src/com/shop/legacy/Old.kt", "kotlin", ""),
        ("app/src/com/shop/orders/Order.kt", "kotlin", "com.shop.orders"),
    ]
    defs = {"formatMoney": frozenset({"core/src/com/shop/util/Money.kt"})}
    res = resolver(files, "app/src/com/shop/orders/Order.kt", defs)
    assert res("com.shop.pricing.Calculator") == ("core/src/com/shop/pricing/Calculator.kt",)
    assert res("com.shop.pricing.Calculator.Companion") == ("core/src/com/shop/pricing/Calculator.kt",)
    assert res("com.shop.checkout.Checkout") == ("app/src/Checkout.kt",)
    assert res("com.shop.util.formatMoney") == ("core/src/com/shop/util/Money.kt",)  # a top-level function
    assert res("com.shop.legacy.Old") == ("app/src/com/shop/legacy/Old.kt",)  # by directories
    assert res("com.shop.pricing.*", {"Discounts": 1}) == ("core/src/com/shop/pricing/Discounts.kt",)
    assert res("kotlin.collections.List") == ()


# --------------------------------------------------------------------------- swift

SWIFT = """\
import Foundation
@testable import ShopCore

/// An order placed by a customer.
public final class Order: Payable {
    var lines: [Line] = []
    let id: String

    init(id: String) { self.id = id }

    /// Total of all lines.
    @discardableResult
    public func total(rate: Double) -> Double {
        return Calculator.apply(rate, lines.count)
    }
}

struct Line { let sku: String }

enum Status { case open, paid }

protocol Payable {
    func pay(amount: Int)
}

extension Order: CustomStringConvertible {
    var description: String { id }
}

typealias Orders = [Order]

func checkout(_ order: Order) -> Double { order.total(rate: 1) }
"""


def test_swift_symbols_references_imports() -> None:
    f = facts_of("Sources/Shop/Order.swift", SWIFT)
    assert table(f) == [
        ("class", "", "Order", 5, 16),
        ("property", "Order", "lines", 6, 6),
        ("property", "Order", "id", 7, 7),
        ("method", "Order", "init", 9, 9),
        ("method", "Order", "total", 12, 15),
        ("struct", "", "Line", 18, 18),
        ("property", "Line", "sku", 18, 18),
        ("enum", "", "Status", 20, 20),
        ("protocol", "", "Payable", 22, 24),
        ("method", "Payable", "pay", 23, 23),
        ("extension", "", "Order", 26, 28),
        ("property", "Order", "description", 27, 27),
        ("type", "", "Orders", 30, 30),
        ("function", "", "checkout", 32, 32),
    ]
    sig = by_name(f)
    assert sig["Order"] == ("public final class Order: Payable", "An order placed by a customer.")
    assert sig["Order.total"] == ("public func total(rate: Double) -> Double", "Total of all lines.")
    assert f.imports == (Import("Foundation", (), 1), Import("ShopCore", (), 2))
    assert f.ref_lines["Calculator"] == (14,)
    assert f.ref_lines["Order"] == (26, 30, 32)  # the extension names a type defined elsewhere
    assert {"Payable", "CustomStringConvertible", "apply", "total"} <= f.refs.keys()
    assert not {"Foundation", "ShopCore", "open", "paid"} & f.refs.keys()


PACKAGE_SWIFT = """\
// swift-tools-version:5.9
import PackageDescription

let package = Package(
    name: "Shop",
    dependencies: [.package(path: "../Vendor")],
    targets: [
        .target(name: "ShopCore", path: "Core/Sources"),
        .target(name: "Shop", dependencies: ["ShopCore"]),
        .testTarget(name: "ShopTests", dependencies: ["Shop"]),
    ]
)
"""


def test_swift_resolution_by_swiftpm_targets() -> None:
    targets = extract("Package.swift", "swift", PACKAGE_SWIFT.encode()).package
    assert targets.splitlines() == [
        "ShopCore\tCore/Sources",
        "Shop\tSources/Shop",
        "ShopTests\tTests/ShopTests",
    ]
    files = [
        ("Package.swift", "swift", targets),
        ("Core/Sources/Calculator.swift", "swift", ""),
        ("Core/Sources/Models/Money+Format.swift", "swift", ""),
        ("Sources/Shop/Order.swift", "swift", ""),
        ("Tests/ShopTests/OrderTests.swift", "swift", ""),
        # no manifest names this one: SwiftPM's Sources/<Target> convention
        ("Plugins/Sources/Extras/Badge.swift", "swift", ""),
    ]
    r = ImportResolver(files)
    used = {"Calculator": 1, "Money": 2, "Order": 1, "Badge": 1}
    assert r.resolve("Sources/Shop/Order.swift", "swift", Import("ShopCore"), used) == (
        "Core/Sources/Calculator.swift",
        "Core/Sources/Models/Money+Format.swift",
    )
    assert r.resolve("Tests/ShopTests/OrderTests.swift", "swift", Import("Shop"), used) == (
        "Sources/Shop/Order.swift",
    )
    assert r.resolve("Sources/Shop/Order.swift", "swift", Import("Extras"), used) == (
        "Plugins/Sources/Extras/Badge.swift",
    )
    assert r.resolve("Sources/Shop/Order.swift", "swift", Import("ShopCore"), {}) == ()
    assert r.resolve("Sources/Shop/Order.swift", "swift", Import("Foundation"), used) == ()


# --------------------------------------------------------------------------- scala

SCALA = """\
package com.shop
package orders

import com.shop.pricing.Calculator
import com.shop.pricing.{Discount, Rate => R}
import com.shop.util._
import scala.collection.mutable

/** An order placed by a customer. */
final case class Order(id: String) extends Payable {
  val lines = mutable.ListBuffer.empty[Line]

  // Total of all lines.
  def total(rate: Double): Double = Calculator.apply(rate, lines.size)
}

trait Payable {
  def pay(amount: Long): Unit
  val currency: String
}

object Order {
  def empty: Order = Order("")
}

enum Status { case Open, Paid }

type Orders = List[Order]
"""


def test_scala_symbols_references_imports() -> None:
    f = facts_of("modules/core/src/main/scala/com/shop/orders/Order.scala", SCALA)
    assert f.package == "com.shop.orders"
    assert table(f) == [
        ("class", "", "Order", 10, 15),
        ("property", "Order", "lines", 11, 11),
        ("method", "Order", "total", 14, 14),
        ("trait", "", "Payable", 17, 20),
        ("method", "Payable", "pay", 18, 18),
        ("property", "Payable", "currency", 19, 19),
        ("object", "", "Order", 22, 24),
        ("method", "Order", "empty", 23, 23),
        ("enum", "", "Status", 26, 26),
        ("type", "", "Orders", 28, 28),
    ]
    sig = by_name(f)
    assert sig["Order"] == (
        "final case class Order(id: String) extends Payable",
        "An order placed by a customer.",
    )
    assert sig["Order.total"][1] == "Total of all lines."
    assert f.imports == (
        Import("com.shop.pricing.Calculator", ("Calculator",), 4),
        Import("com.shop.pricing.Discount", ("Discount",), 5),
        Import("com.shop.pricing.Rate", ("Rate",), 5),
        Import("com.shop.util.*", ("*",), 6),
        Import("scala.collection.mutable", ("mutable",), 7),
    )
    assert f.ref_lines["Calculator"] == (14,)
    assert f.ref_lines["Order"] == (23, 28)
    assert {"Payable", "Line", "ListBuffer", "mutable", "apply"} <= f.refs.keys()
    assert not {"com", "shop", "pricing", "orders", "Open", "R"} & f.refs.keys()


def test_scala_resolution_packages_package_objects_and_relative_imports() -> None:
    files = [
        ("core/src/com/shop/pricing/Calculator.scala", "scala", "com.shop.pricing"),
        ("core/src/com/shop/pricing/Rates.scala", "scala", "com.shop.pricing"),
        ("core/src/com/shop/util/package.scala", "scala", "com.shop"),
        ("core/src/com/shop/util/Strings.scala", "scala", "com.shop.util"),
        ("core/src/com/shop/orders/Order.scala", "scala", "com.shop.orders"),
    ]
    defs = {"Discount": frozenset({"core/src/com/shop/pricing/Rates.scala"})}
    res = resolver(files, "core/src/com/shop/orders/Order.scala", defs)
    assert res("com.shop.pricing.Calculator") == ("core/src/com/shop/pricing/Calculator.scala",)
    # several types in one file: the definitions say which
    assert res("com.shop.pricing.Discount") == ("core/src/com/shop/pricing/Rates.scala",)
    # `package object util` in package com.shop: a wildcard import of com.shop.util reaches it
    assert res("com.shop.util.*", {"Strings": 1}) == (
        "core/src/com/shop/util/Strings.scala",
        "core/src/com/shop/util/package.scala",
    )
    # relative to the enclosing package, only where that package exists
    assert res("pricing.Calculator") == ("core/src/com/shop/pricing/Calculator.scala",)
    assert res("cats.kernel.Eq") == ()


# --------------------------------------------------------------------------- graph and end to end


def test_graph_links_new_languages_through_imports_and_calls(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "ws")
    repo.write("lib/shop.rb", 'require_relative "shop/cart"\nmodule Shop\nend\n')
    repo.write("lib/shop/cart.rb", "module Shop\n  class Cart\n    def add_line(item)\n    end\n  end\nend\n")
    repo.write("bin/run.rb", 'require "shop"\nShop::Cart.new.add_line(1)\n')
    repo.write("composer.json", json.dumps({"autoload": {"psr-4": {"Shop\\": "php/"}}}))
    repo.write("php/Billing/Invoice.php", "<?php\nnamespace Shop\\Billing;\nclass Invoice {}\n")
    repo.write("php/Orders/Order.php", "<?php\nnamespace Shop\\Orders;\nuse Shop\\Billing\\Invoice;\n")
    repo.commit("init")
    ws = Workspace(str(repo.root), Settings(), use_store=False)
    snap = ws.refresh()
    g = snap.graph
    assert g.imports_out["lib/shop.rb"] == ("lib/shop/cart.rb",)
    assert g.imports_out["bin/run.rb"] == ("lib/shop.rb",)
    assert g.imports_out["php/Orders/Order.php"] == ("php/Billing/Invoice.php",)
    assert "lib/shop/cart.rb" in g.calls_out["bin/run.rb"]  # `add_line` is defined there only

    # editing composer.json (same files) re-resolves what its map decides
    (repo.root / "composer.json").write_text(json.dumps({"autoload": {"psr-4": {"Other\\": "php/"}}}))
    (repo.root / "php/Billing/Invoice.php").write_text("<?php\nnamespace Elsewhere;\nclass Invoice {}\n")
    snap = ws.refresh(paths=["composer.json", "php/Billing/Invoice.php"])
    assert "php/Orders/Order.php" not in snap.graph.imports_out
    fresh = Graph.build(snap.files)
    assert dict(snap.graph.imports_out) == dict(fresh.imports_out)


POLYGLOT = {
    "ruby/lib/ledger.rb": (
        "module Ledger\n  # Posts a journal entry.\n  def self.post_entry(entry)\n    entry\n  end\nend\n",
        "post_entry",
    ),
    "php/src/Inventory.php": (
        "<?php\nnamespace Shop;\n\nclass Inventory\n{\n    public function reserveStock(int $n): bool\n"
        "    {\n        return $n > 0;\n    }\n}\n",
        "reserveStock",
    ),
    "dotnet/Shipping/Courier.cs": (
        "namespace Shop.Shipping;\n\npublic class Courier\n{\n    public int DispatchParcel(int id)\n"
        "    {\n        return id;\n    }\n}\n",
        "DispatchParcel",
    ),
    "kotlin/src/Refunds.kt": (
        "package shop.refunds\n\nclass Refunds {\n    fun issueRefund(amount: Long): Long {\n"
        "        return amount\n    }\n}\n",
        "issueRefund",
    ),
    "swift/Sources/Loyalty/Points.swift": (
        "struct Points {\n    func awardPoints(_ n: Int) -> Int {\n        return n\n    }\n}\n",
        "awardPoints",
    ),
    "scala/src/Tax.scala": (
        "package shop.tax\n\nobject Tax {\n  def computeVat(amount: BigDecimal): BigDecimal =\n"
        "    amount * 0.2\n}\n",
        "computeVat",
    ),
}


def test_polyglot_repository_plan_names_symbols_of_every_language(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "poly")
    for path, (text, _) in POLYGLOT.items():
        repo.write(path, text)
    repo.write("README.md", "A shop in six languages.\n")
    repo.commit("six languages")
    symbols = [name for _, name in POLYGLOT.values()]
    task = "Fix rounding in " + ", ".join(symbols)
    args = ["plan", task, "--root", str(repo.root), "--budget", "6000", "--format", "json", "--no-server"]
    out = subprocess.run(
        [sys.executable, "-m", "rtk_lsp", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    plan = json.loads(out.stdout)
    selected = {f["rel_path"]: f for f in plan["selected"]}
    for path, (_, name) in POLYGLOT.items():
        assert path in selected, (path, sorted(selected))
        picked = {s["name"].rpartition(".")[2]: s for s in selected[path]["symbols"]}
        assert name in picked, (path, picked)
        sym = picked[name]
        assert sym["start_line"] >= 2 and sym["end_line"] >= sym["start_line"]
        assert name in sym["signature"]


@pytest.mark.parametrize("language", NEW)
def test_broken_sources_keep_what_parses(language: str) -> None:
    # error recovery: a half-written file still yields its complete methods, never raises
    broken = {
        "ruby": "class A\n  def ok; end\n  def broken(\nend\n",
        "php": "<?php\nclass A { public function ok() {} public function broken( }\n",
        "csharp": "class A { void Ok() {} void Broken( }\n",
        "kotlin": "class A {\n    fun ok() {}\n    fun broken(\n}\n",
        "swift": "class A {\n    func ok() {}\n    func broken(\n}\n",
        "scala": "class A {\n  def ok(): Unit = ()\n  def broken(\n}\n",
    }[language]
    facts = extract("x", language, broken.encode())
    assert "ok" in {s.name.lower() for s in facts.symbols}
    assert extract("x", language, b"\xff\xfe\x00garbage{{{") is not None


def test_properties_match_a_task_by_name_not_by_their_words(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "props")
    repo.write(
        "src/Cart.kt",
        "class Cart {\n    val discountRate: Double = 0.1\n\n    fun checkout(): Double {\n"
        "        return discountRate\n    }\n}\n",
    )
    repo.write("src/Other.kt", "class Other {\n    fun unrelated() = 1\n}\n")
    repo.commit("cart")
    snap = build_snapshot(str(repo.root), Settings(), use_store=False)
    assert ("property", "discountRate") in {(s.kind, s.name) for s in snap.files["src/Cart.kt"].facts.symbols}

    def symbol_reasons(task: str) -> list[str]:
        selected = {f.rel_path: f for f in plan(snap, PlanRequest(task)).selected}
        return [r for r in selected["src/Cart.kt"].reasons if r.startswith("defines")]

    # a property shares its words with many tasks: that alone is not a reason
    assert symbol_reasons("the discount rate is wrong") == []
    assert symbol_reasons("discountRate is wrong") == ["defines `Cart.discountRate` named in the task"]
