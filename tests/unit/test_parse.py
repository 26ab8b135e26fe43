"""Tests for rtk_lsp.index.parse: definitions, references, imports per language."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from rtk_lsp.index.parse import LANGUAGES
from rtk_lsp.index.parse.extract import MAX_REF_LINES, MAX_STRING_CHARS, MAX_STRINGS, extract
from rtk_lsp.model import EMPTY_FACTS, SYMBOL_KINDS, FileFacts, Import


def symbols(facts: FileFacts) -> list[tuple[str, str, str, int, int, str]]:
    return [(s.name, s.kind, s.parent, s.start_line, s.end_line, s.doc) for s in facts.symbols]


def signatures(facts: FileFacts) -> dict[str, str]:
    return {s.qualified: s.signature for s in facts.symbols}


def assert_refs(facts: FileFacts, present: str, absent: str) -> None:
    """`present` / `absent`: whitespace-separated names expected in / missing from the refs."""
    missing = set(present.split()) - facts.refs.keys()
    unexpected = set(absent.split()) & facts.refs.keys()
    assert not missing, missing
    assert not unexpected, unexpected
    assert facts.refs.keys() == facts.ref_lines.keys()


# --------------------------------------------------------------------------- python

PYTHON = '''\
"""Order processing."""

from __future__ import annotations

import json
import os.path as osp
from dataclasses import dataclass, field
from ..billing import invoice, Invoice as Inv
from . import tax

DEFAULT_CURRENCY = "EUR"
_MAX_LINES: int = 500
registry = {}


@dataclass(frozen=True)
class Order:
    """An order placed by a customer.

    Immutable once created.
    """

    lines: list[LineItem] = field(default_factory=list)

    def total(self, *, rounding: int = 2) -> Money:
        """Sum of all line totals."""
        amount = sum(line.price * line.qty for line in self.lines)
        return Money(round(amount, rounding), DEFAULT_CURRENCY)

    async def submit(
        self,
        client: ApiClient,
    ) -> Receipt:
        def encode(o):
            return json.dumps(o)

        payload = encode(self)
        return await client.post("/orders", payload)


def load_orders(path: str) -> list[Order]:
    with open(osp.join(path, "orders.json")) as fh:
        return [Order(**row) for row in json.load(fh)]
'''


def test_python_symbols() -> None:
    facts = extract("shop/orders.py", "python", PYTHON.encode())
    assert symbols(facts) == [
        ("DEFAULT_CURRENCY", "constant", "", 11, 11, ""),
        ("_MAX_LINES", "constant", "", 12, 12, ""),
        # decorators are part of the definition
        ("Order", "class", "", 16, 38, "An order placed by a customer."),
        ("total", "method", "Order", 25, 28, "Sum of all line totals."),
        ("submit", "method", "Order", 30, 38, ""),
        ("load_orders", "function", "", 41, 43, ""),
    ]
    # `registry` is not UPPER_CASE and the nested `encode` is local to `submit`


def test_python_signatures_join_multiline_headers() -> None:
    sigs = signatures(extract("shop/orders.py", "python", PYTHON.encode()))
    assert sigs["Order"] == "class Order:"
    assert sigs["Order.total"] == "def total(self, *, rounding: int = 2) -> Money:"
    assert sigs["Order.submit"] == "async def submit(self, client: ApiClient) -> Receipt:"
    assert sigs["DEFAULT_CURRENCY"] == 'DEFAULT_CURRENCY = "EUR"'


def test_python_comments_do_not_leak_into_signature_or_hide_the_docstring() -> None:
    source = b"""\
class Retry:  # noqa: D101
    # tuned for the payment gateway
    \"\"\"

    Retry policy.
    \"\"\"

    def delay(self, attempt):  # seconds
        # exponential
        return 2**attempt
"""
    facts = extract("retry.py", "python", source)
    assert [(s.qualified, s.signature, s.doc) for s in facts.symbols] == [
        ("Retry", "class Retry:", "Retry policy."),
        ("Retry.delay", "def delay(self, attempt):", ""),
    ]


def test_python_imports() -> None:
    facts = extract("shop/orders.py", "python", PYTHON.encode())
    assert facts.imports == (
        Import("json", (), 5),
        Import("os.path", (), 6),
        Import("dataclasses", ("dataclass", "field"), 7),
        Import("..billing", ("invoice", "Invoice"), 8),
        Import(".", ("tax",), 9),
    )
    assert facts.package == ""


def test_python_refs() -> None:
    facts = extract("shop/orders.py", "python", PYTHON.encode())
    assert_refs(
        facts,
        present="Money ApiClient Receipt LineItem dumps post join osp dataclass field",
        # definition names at their definition site, import paths, keyword argument
        # names, `self`, and one-letter names are not references
        absent="total submit load_orders annotations dataclasses billing Inv invoice tax"
        " frozen default_factory self o",
    )
    # `Order` is used twice (return annotation, constructor call) beyond its definition
    assert facts.refs["Order"] == 2
    assert facts.ref_lines["Order"] == (41, 43)
    assert facts.refs["DEFAULT_CURRENCY"] == 1
    assert facts.ref_lines["Money"] == (25, 28)
    # `field` is imported on line 7 but only the use on line 23 counts
    assert facts.ref_lines["field"] == (23,)


# --------------------------------------------------------------------------- typescript

TYPESCRIPT = """\
import { Injectable } from "@angular/core";
import type { Product, Price } from "./models";
import * as fmt from "../util/format.js";
export { CartEvent } from "./events";

/** Maximum items in one cart. */
export const MAX_ITEMS = 50;

export type CartId = string;

export interface CartStore {
  load(id: CartId): Promise<Cart>;
  save(cart: Cart): Promise<void>;
}

// Where a cart lives.
export enum Storage {
  Local,
  Remote,
}

/**
 * A shopping cart.
 */
@Injectable()
export class Cart {
  private items: Product[] = [];

  constructor(private readonly store: CartStore) {}

  add(product: Product, price: Price): void {
    this.items.push(product);
    this.store.save(this);
  }

  total = (): number => this.items.reduce((sum, p) => sum + p.price, 0);
}

export const formatTotal = (cart: Cart): string => fmt.currency(cart.total());

export function emptyCart(store: CartStore): Cart {
  const lazy = () => import("./lazy");
  return new Cart(store);
}
"""


def test_typescript_symbols() -> None:
    facts = extract("web/cart.ts", "typescript", TYPESCRIPT.encode())
    assert symbols(facts) == [
        ("MAX_ITEMS", "constant", "", 7, 7, "Maximum items in one cart."),
        ("CartId", "type", "", 9, 9, ""),
        ("CartStore", "interface", "", 11, 14, ""),
        ("load", "method", "CartStore", 12, 12, ""),
        ("save", "method", "CartStore", 13, 13, ""),
        ("Storage", "enum", "", 17, 20, "Where a cart lives."),
        ("Cart", "class", "", 25, 37, "A shopping cart."),
        ("constructor", "method", "Cart", 29, 29, ""),
        ("add", "method", "Cart", 31, 34, ""),
        ("total", "method", "Cart", 36, 36, ""),
        ("formatTotal", "function", "", 39, 39, ""),
        ("emptyCart", "function", "", 41, 44, ""),
    ]
    sigs = signatures(facts)
    assert sigs["Cart"] == "export class Cart"  # the decorator line is skipped
    assert sigs["CartStore.load"] == "load(id: CartId): Promise<Cart>"
    assert sigs["emptyCart"] == "export function emptyCart(store: CartStore): Cart"


def test_typescript_imports() -> None:
    facts = extract("web/cart.ts", "typescript", TYPESCRIPT.encode())
    assert facts.imports == (
        Import("@angular/core", ("Injectable",), 1),
        Import("./models", ("Product", "Price"), 2),
        Import("../util/format.js", ("*",), 3),
        Import("./events", ("CartEvent",), 4),
        Import("./lazy", (), 42),  # dynamic import()
    )


def test_typescript_refs() -> None:
    facts = extract("web/cart.ts", "typescript", TYPESCRIPT.encode())
    assert_refs(
        facts,
        present="Injectable CartStore Product Price Promise push save currency reduce",
        absent="MAX_ITEMS Storage emptyCart formatTotal Local Remote",
    )
    # the class name is used in the interface, in formatTotal and emptyCart, not at line 26
    assert facts.ref_lines["Cart"] == (12, 13, 39, 41, 43)
    assert facts.refs["CartId"] == 1


def test_typescript_import_require_and_type_only_forms() -> None:
    source = b"""\
import fs = require("./fs-helpers");
import type { Order } from "./types";
export type { Invoice } from "./billing";
"""
    facts = extract("src/io.ts", "typescript", source)
    assert facts.imports == (
        Import("./fs-helpers", ("fs",), 1),
        Import("./types", ("Order",), 2),
        Import("./billing", ("Invoice",), 3),
    )


def test_tsx_component() -> None:
    source = """\
import React from "react";
import { Button } from "./Button";

/** Props of the toolbar. */
interface ToolbarProps {
  onSave: () => void;
}

export function Toolbar({ onSave }: ToolbarProps) {
  return <div className="toolbar"><Button label="Save" onClick={onSave} /></div>;
}
"""
    facts = extract("web/Toolbar.tsx", "tsx", source.encode())
    assert symbols(facts) == [
        ("ToolbarProps", "interface", "", 5, 7, "Props of the toolbar."),
        ("Toolbar", "function", "", 9, 11, ""),
    ]
    assert facts.imports == (Import("react", ("React",), 1), Import("./Button", ("Button",), 2))
    assert_refs(facts, present="Button ToolbarProps onSave", absent="Toolbar React")


# --------------------------------------------------------------------------- javascript

JAVASCRIPT = """\
'use strict';
const express = require('express');
const { loadConfig } = require('./config');
const routes = require('./routes/index.js');

const DEFAULT_PORT = 8080;

/**
 * Build the HTTP app.
 */
function createApp(config) {
  const app = express();
  app.use(routes.router(config));
  return app;
}

class Server {
  // Start listening.
  start(port = DEFAULT_PORT) {
    this.http = createApp(loadConfig()).listen(port);
  }
}

module.exports = { createApp, Server };
"""


def test_javascript_symbols_imports_refs() -> None:
    facts = extract("server/app.js", "javascript", JAVASCRIPT.encode())
    assert symbols(facts) == [
        ("express", "constant", "", 2, 2, ""),
        ("routes", "constant", "", 4, 4, ""),
        ("DEFAULT_PORT", "constant", "", 6, 6, ""),
        ("createApp", "function", "", 11, 15, "Build the HTTP app."),
        ("Server", "class", "", 17, 22, ""),
        ("start", "method", "Server", 19, 21, "Start listening."),
    ]
    assert facts.imports == (
        Import("express", (), 2),
        Import("./config", (), 3),
        Import("./routes/index.js", (), 4),
    )
    assert_refs(
        facts,
        present="createApp loadConfig listen router use DEFAULT_PORT",
        absent="require start this",
    )
    assert facts.ref_lines["createApp"] == (20, 24)  # the call and the export, not the definition


def test_javascript_locals_and_object_methods_are_not_symbols() -> None:
    source = b"""\
const handlers = { save() {}, load: function () {} };
describe("cart", () => {
  function helper() {}
  it("works", () => helper());
});
export default class extends Base {}
"""
    facts = extract("a.js", "javascript", source)
    assert symbols(facts) == [("handlers", "constant", "", 1, 1, "")]
    assert "helper" in facts.refs  # called, even though its definition is local


def test_javascript_commonjs_and_prototype_assignments() -> None:
    source = b"""\
/*!
 * shop-server
 * MIT Licensed
 */

function helper() {}

/**
 * Send a response body.
 */

res.send = function send(body) {
  return helper(body);
};

// Render a view.
View.prototype.render = function (options) {};

exports.parse = (text) => JSON.parse(text);
module.exports = function createServer() {};
"""
    facts = extract("lib/response.js", "javascript", source)
    assert symbols(facts) == [
        ("helper", "function", "", 6, 6, ""),  # the licence header is not its doc
        ("send", "method", "res", 12, 14, "Send a response body."),  # a JSDoc block one blank line up
        ("render", "method", "View", 17, 17, "Render a view."),
        ("parse", "function", "", 19, 19, ""),
        ("createServer", "function", "", 20, 20, ""),
    ]
    assert facts.ref_lines["helper"] == (13,)


# --------------------------------------------------------------------------- rust

RUST = """\
//! Geometry primitives.

use std::fmt;
use crate::units::{Length, Angle as A};
use super::render::{self, Canvas};
mod tests_support;

/// Largest supported polygon.
pub const MAX_SIDES: usize = 64;

/// A closed shape.
///
/// Implementors must be cheap to clone.
pub trait Shape: fmt::Debug {
    /// Area in square units.
    fn area(&self) -> f64;

    fn describe(&self) -> String {
        format!("shape with area {}", self.area())
    }
}

#[derive(Debug, Clone)]
pub struct Circle {
    pub radius: Length,
}

pub enum Kind {
    Round,
    Polygon(usize),
}

impl Shape for Circle {
    fn area(&self) -> f64 {
        std::f64::consts::PI * self.radius.squared()
    }
}

impl Circle {
    // Build from a diameter.
    pub fn from_diameter(d: Length) -> Self {
        Circle { radius: d.halve() }
    }
}

macro_rules! circle {
    ($r:expr) => {
        Circle::from_diameter(Length::new($r * 2.0))
    };
}

pub fn draw_all(shapes: &[Box<dyn Shape>], canvas: &mut Canvas) {
    for s in shapes {
        render::outline(canvas, s.as_ref());
    }
}

mod tests {
    use super::*;

    fn unit() -> Circle {
        circle!(0.5)
    }
}
"""


def test_rust_symbols() -> None:
    facts = extract("src/geometry/shapes.rs", "rust", RUST.encode())
    assert symbols(facts) == [
        ("MAX_SIDES", "constant", "", 9, 9, "Largest supported polygon."),
        ("Shape", "trait", "", 14, 21, "A closed shape."),
        ("area", "method", "Shape", 16, 16, "Area in square units."),
        ("describe", "method", "Shape", 18, 20, ""),
        # the doc comment is found above the attribute
        ("Circle", "struct", "", 24, 26, ""),
        ("Kind", "enum", "", 28, 31, ""),
        ("Circle", "impl", "", 33, 37, ""),
        ("area", "method", "Circle", 34, 36, ""),
        ("Circle", "impl", "", 39, 44, ""),
        ("from_diameter", "method", "Circle", 41, 43, "Build from a diameter."),
        ("circle", "macro", "", 46, 50, ""),
        ("draw_all", "function", "", 52, 56, ""),
        ("tests", "module", "", 58, 64, ""),
        ("unit", "function", "tests", 61, 63, ""),
    ]
    sigs = signatures(facts)
    assert sigs["Shape"] == "pub trait Shape: fmt::Debug"
    assert sigs["Shape.area"] == "fn area(&self) -> f64;"
    assert sigs["draw_all"] == "pub fn draw_all(shapes: &[Box<dyn Shape>], canvas: &mut Canvas)"


def test_rust_doc_above_attributes() -> None:
    source = b"/// A point.\n#[derive(Debug)]\n#[repr(C)]\npub struct Point { x: i32 }\n"
    facts = extract("src/lib.rs", "rust", source)
    assert symbols(facts) == [("Point", "struct", "", 4, 4, "A point.")]


def test_rust_imports() -> None:
    facts = extract("src/geometry/shapes.rs", "rust", RUST.encode())
    assert facts.imports == (
        Import("std", ("fmt",), 3),
        Import("crate::units", ("Length", "Angle"), 4),
        Import("super::render", ("self", "Canvas"), 5),
        Import("mod:tests_support", (), 6),
        Import("super", ("*",), 59),
    )


def test_rust_nested_use_tree_and_extern_crate() -> None:
    source = b"extern crate serde;\nuse crate::{config::Settings, db::{pool::Pool, Conn}};\nuse a::b as c;\n"
    facts = extract("src/main.rs", "rust", source)
    assert facts.imports == (
        Import("serde", (), 1),
        Import("crate::config", ("Settings",), 2),
        Import("crate::db::pool", ("Pool",), 2),
        Import("crate::db", ("Conn",), 2),
        Import("a", ("b",), 3),
    )


def test_rust_refs() -> None:
    facts = extract("src/geometry/shapes.rs", "rust", RUST.encode())
    assert_refs(
        facts,
        # method calls, path segments `std::f64::consts::PI`, macros, types, derives
        present="squared halve outline consts PI format circle Length Debug Canvas",
        absent="draw_all unit Kind Round Polygon tests_support Angle self",
    )
    # `impl X for Circle` and `impl Circle` name the type they implement: uses, not definitions
    assert facts.ref_lines["Circle"] == (33, 39, 42, 48, 61)


# --------------------------------------------------------------------------- go

GO = """\
// Package store persists orders.
package store

import (
	"context"
	"database/sql"

	"github.com/acme/shop/internal/model"
	log "github.com/sirupsen/logrus"
)

// DefaultLimit caps list queries.
const DefaultLimit = 100

const (
	StatusOpen   = "open"
	StatusClosed = "closed"
)

// Store reads and writes orders.
type Store struct {
	db *sql.DB
}

// Querier is the subset of *sql.DB we use.
type Querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// New returns a Store backed by db.
func New(db *sql.DB) *Store {
	return &Store{db: db}
}

// Get loads one order.
func (s *Store) Get(ctx context.Context, id int64) (*model.Order, error) {
	row := s.db.QueryRowContext(ctx, "SELECT id FROM orders WHERE id = ?", id)
	var o model.Order
	if err := row.Scan(&o.ID); err != nil {
		log.WithError(err).Warn("get failed")
		return nil, err
	}
	return &o, nil
}
"""


def test_go_symbols() -> None:
    facts = extract("internal/store/store.go", "go", GO.encode())
    assert symbols(facts) == [
        ("DefaultLimit", "constant", "", 13, 13, "DefaultLimit caps list queries."),
        ("StatusOpen", "constant", "", 16, 16, ""),
        ("StatusClosed", "constant", "", 17, 17, ""),
        ("Store", "struct", "", 21, 23, "Store reads and writes orders."),
        ("Querier", "interface", "", 26, 28, "Querier is the subset of *sql.DB we use."),
        ("QueryContext", "method", "Querier", 27, 27, ""),
        ("New", "function", "", 31, 33, "New returns a Store backed by db."),
        ("Get", "method", "Store", 36, 44, "Get loads one order."),
    ]
    assert signatures(facts)["Store.Get"] == (
        "func (s *Store) Get(ctx context.Context, id int64) (*model.Order, error)"
    )


def test_doc_comments_must_sit_directly_above() -> None:
    source = b"""\
package cfg

var loaded = false // set once Load succeeds

func Load() error { return nil }

// Detached comment, then a blank line.

func Reset() {}

// ------------------------------------------
// Validate checks the config.
//
// It never mutates.
func Validate() bool { return loaded }
"""
    facts = extract("cfg/cfg.go", "go", source)
    assert [(s.name, s.doc) for s in facts.symbols] == [
        ("Load", ""),  # the trailing comment of the line above belongs to `loaded`
        ("Reset", ""),
        ("Validate", "Validate checks the config."),  # banner lines have no words
    ]


def test_go_imports_and_package() -> None:
    facts = extract("internal/store/store.go", "go", GO.encode())
    assert facts.package == "store"
    assert facts.imports == (
        Import("context", (), 5),
        Import("database/sql", (), 6),
        Import("github.com/acme/shop/internal/model", (), 8),
        Import("github.com/sirupsen/logrus", (), 9),
    )


def test_go_refs() -> None:
    facts = extract("internal/store/store.go", "go", GO.encode())
    assert_refs(
        facts,
        present="QueryRowContext Scan WithError Warn Order model Context DB sql",
        absent="New Get DefaultLimit StatusOpen Querier QueryContext",
    )
    assert facts.ref_lines["Store"] == (31, 32, 36)


# --------------------------------------------------------------------------- java

JAVA = """\
package com.acme.shop.service;

import java.util.List;
import java.util.concurrent.*;
import com.acme.shop.model.Order;
import static com.acme.shop.util.Checks.requireNonNull;

/**
 * Coordinates order workflows.
 *
 * @author shop-team
 */
@Service
public class OrderService implements Closeable {
    public static final int MAX_BATCH = 100;
    private final OrderRepository repository;

    /** Creates the service. */
    public OrderService(OrderRepository repository) {
        this.repository = requireNonNull(repository);
    }

    // Places an order and returns its id.
    @Transactional
    public long place(Order order) {
        List<Order> pending = repository.findPending(order.customerId());
        return repository.save(new OrderEntity(order, pending.size()));
    }

    @Override
    public void close() {
        repository.flush();
    }

    interface Listener {
        void onPlaced(Order order);
    }

    enum State { NEW, PAID; boolean isFinal() { return this == PAID; } }
}
"""


def test_java_symbols() -> None:
    facts = extract("src/main/java/com/acme/shop/service/OrderService.java", "java", JAVA.encode())
    assert symbols(facts) == [
        ("OrderService", "class", "", 13, 40, "Coordinates order workflows."),
        ("MAX_BATCH", "constant", "OrderService", 15, 15, ""),
        ("OrderService", "method", "OrderService", 19, 21, "Creates the service."),
        ("place", "method", "OrderService", 24, 28, "Places an order and returns its id."),
        ("close", "method", "OrderService", 30, 33, ""),
        ("Listener", "interface", "OrderService", 35, 37, ""),
        ("onPlaced", "method", "Listener", 36, 36, ""),
        ("State", "enum", "OrderService", 39, 39, ""),
        ("isFinal", "method", "State", 39, 39, ""),
    ]
    sigs = signatures(facts)
    assert sigs["OrderService"] == "public class OrderService implements Closeable"  # not `@Service`
    assert sigs["OrderService.place"] == "public long place(Order order)"


def test_java_imports_and_package() -> None:
    facts = extract("src/main/java/com/acme/shop/service/OrderService.java", "java", JAVA.encode())
    assert facts.package == "com.acme.shop.service"
    assert facts.imports == (
        Import("java.util.List", ("List",), 3),
        Import("java.util.concurrent.*", ("*",), 4),
        Import("com.acme.shop.model.Order", ("Order",), 5),
        Import("com.acme.shop.util.Checks", ("requireNonNull",), 6),  # static import
    )


def test_java_refs() -> None:
    facts = extract("src/main/java/com/acme/shop/service/OrderService.java", "java", JAVA.encode())
    assert_refs(
        facts,
        present="OrderRepository OrderEntity findPending requireNonNull Closeable Transactional",
        absent="place onPlaced isFinal MAX_BATCH NEW acme concurrent util",
    )
    assert facts.ref_lines["Order"] == (25, 26, 36)


# --------------------------------------------------------------------------- c / c++

C_HEADER = """\
#ifndef SHOP_BUFFER_H
#define SHOP_BUFFER_H

#include <stddef.h>
#include "shop/alloc.h"

#define BUFFER_INITIAL_CAP 64
#define BUFFER_EMPTY(b) ((b)->len == 0)

/* A growable byte buffer. */
typedef struct buffer {
    char *data;
    size_t len;
    size_t cap;
} buffer_t;

typedef enum { BUF_OK, BUF_NOMEM } buf_status;

typedef int (*buffer_visit_fn)(const char *chunk, size_t n);

/** Allocate an empty buffer. */
buffer_t *buffer_new(size_t cap);

// Append bytes, growing as needed.
buf_status buffer_append(buffer_t *b, const char *src, size_t n);

static inline size_t buffer_len(const buffer_t *b) {
    return b->len;
}

#endif
"""


def test_c_header() -> None:
    facts = extract("include/shop/buffer.h", "c", C_HEADER.encode())
    assert symbols(facts) == [
        ("SHOP_BUFFER_H", "macro", "", 2, 2, ""),
        ("BUFFER_INITIAL_CAP", "macro", "", 7, 7, ""),
        ("BUFFER_EMPTY", "macro", "", 8, 8, ""),
        ("buffer_t", "type", "", 11, 15, "A growable byte buffer."),
        ("buffer", "struct", "", 11, 15, "A growable byte buffer."),
        ("buf_status", "enum", "", 17, 17, ""),  # typedef of an anonymous enum
        ("buffer_visit_fn", "type", "", 19, 19, ""),
        ("buffer_new", "function", "", 22, 22, "Allocate an empty buffer."),
        ("buffer_append", "function", "", 25, 25, "Append bytes, growing as needed."),
        ("buffer_len", "function", "", 27, 29, ""),
    ]
    assert facts.imports == (Import("shop/alloc.h", (), 5),)  # <stddef.h> is a system header
    assert_refs(facts, present="buffer_t buf_status len", absent="buffer_new BUF_OK size_t")
    assert signatures(facts)["buffer_len"] == "static inline size_t buffer_len(const buffer_t *b)"


CPP = """\
#include "ui/widget.hpp"
#include "../core/log.h"
#include <vector>

namespace ui {

/// Base class for drawable things.
class Widget {
public:
    explicit Widget(Rect bounds);
    virtual ~Widget() = default;
    virtual void draw(Canvas& canvas) const = 0;

protected:
    Rect bounds_;
};

/// A clickable button.
template <typename Label>
class Button : public Widget {
public:
    void draw(Canvas& canvas) const override {
        canvas.fillRect(bounds_, theme::accent());
        label_.render(canvas);
    }

private:
    Label label_;
};

Widget::Widget(Rect bounds) : bounds_(bounds) {
    core::log_debug("widget created");
}

using WidgetList = std::vector<Widget*>;

}  // namespace ui
"""


def test_cpp_symbols_imports_refs() -> None:
    facts = extract("src/ui/widget.cpp", "cpp", CPP.encode())
    assert symbols(facts) == [
        ("ui", "module", "", 5, 37, ""),
        ("Widget", "class", "ui", 8, 16, "Base class for drawable things."),
        ("Widget", "method", "Widget", 10, 10, ""),
        ("~Widget", "method", "Widget", 11, 11, ""),
        ("draw", "method", "Widget", 12, 12, ""),
        ("Button", "class", "ui", 19, 29, "A clickable button."),
        ("draw", "method", "Button", 22, 25, ""),
        ("Widget", "method", "Widget", 31, 33, ""),  # defined out of line: `Widget::Widget`
        ("WidgetList", "type", "ui", 35, 35, ""),
    ]
    assert signatures(facts)["ui.Button"] == "template <typename Label> class Button : public Widget"
    assert facts.imports == (Import("ui/widget.hpp", (), 1), Import("../core/log.h", (), 2))
    assert_refs(
        facts,
        present="fillRect accent theme log_debug core Canvas Rect vector std",
        absent="draw WidgetList Button",
    )
    assert facts.ref_lines["Widget"] == (20, 31, 35)


# --------------------------------------------------------------------------- robustness


def test_syntax_errors_keep_what_tree_sitter_recovers() -> None:
    source = b"""\
import os

def good(a):
    return os.getcwd()

def broken(:
    x = = 1

class Fine:
    def ok(self):
        return helper()
"""
    facts = extract("bad.py", "python", source)
    names = [s.name for s in facts.symbols]
    assert {"good", "broken", "ok"} <= set(names)
    assert Import("os", (), 1) in facts.imports
    assert {"getcwd", "helper"} <= facts.refs.keys()
    assert "class" not in facts.refs  # keywords swallowed by error recovery are not names


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_empty_and_whitespace_files(language: str) -> None:
    assert extract("empty", language, b"") is EMPTY_FACTS
    assert extract("blank", language, b"\n\n   \n") == FileFacts()


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_invalid_utf8_never_raises(language: str) -> None:
    junk = bytes(range(256)) * 20 + b"\xff\xfe\x00 def class fn func { ( [ \xc3\x28 \xa0\xa1"
    facts = extract("junk", language, junk)
    assert isinstance(facts, FileFacts)
    for s in facts.symbols:
        assert s.kind in SYMBOL_KINDS


def test_invalid_utf8_inside_identifiers_and_docs() -> None:
    source = b'def caf\xe9(x):\n    """Doc \xff here."""\n    return na\xefve(x)\n'
    facts = extract("latin1.py", "python", source)
    (sym,) = facts.symbols
    assert (sym.kind, sym.start_line, sym.end_line, sym.doc) == ("function", 1, 3, "Doc \ufffd here.")
    assert sym.signature == "def caf\ufffd(x):"


def test_unknown_language_and_bad_input_do_not_raise() -> None:
    assert extract("a.lua", "lua", b"function x() end") is EMPTY_FACTS
    assert extract("a.py", "python", "not bytes") is EMPTY_FACTS  # type: ignore[arg-type]


def test_large_generated_file() -> None:
    parts = ['"""Generated."""\nimport enum\n']
    i = 0
    while sum(map(len, parts)) < 2_000_000:
        parts.append(f'\n\nclass Message{i}(Base):\n    """Message {i}."""\n\n')
        parts.append(f"    FIELD = {i}\n\n    def encode(self, out: Buffer) -> None:\n")
        parts.append(f"        out.write_varint(self.FIELD, {i})\n        encode_header(out, Message{i})\n")
        i += 1
    source = "".join(parts).encode()
    facts = extract("gen/messages_pb2.py", "python", source)
    assert len(source) >= 2_000_000
    assert len(facts.symbols) == 2 * i
    last = facts.symbols[-1]
    assert (last.name, last.kind, last.parent) == ("encode", "method", f"Message{i - 1}")
    assert last.signature == "def encode(self, out: Buffer) -> None:"
    assert last.end_line == source.count(b"\n")
    assert facts.refs["encode_header"] == i
    assert len(facts.ref_lines["encode_header"]) == MAX_REF_LINES
    assert facts.ref_lines["encode_header"] == tuple(sorted(facts.ref_lines["encode_header"]))


def test_minified_line_signature_is_capped() -> None:
    body = ";".join(f"a{i}=b{i}(c{i})" for i in range(20_000))
    source = f"export function init(){{{body}}}\n".encode()
    facts = extract("dist/app.min.js", "javascript", source)
    assert [s.name for s in facts.symbols] == ["init"]
    assert facts.symbols[0].signature == "export function init()"
    assert all(len(s.signature) <= 160 for s in facts.symbols)
    assert facts.refs["b19999"] == 1


def test_ref_lines_keep_the_first_distinct_lines() -> None:
    source = "\n".join(["x = compute(compute(1))"] + [f"y{i} = compute({i})" for i in range(20)]).encode()
    facts = extract("m.py", "python", source)
    assert facts.refs["compute"] == 22
    assert facts.ref_lines["compute"] == tuple(range(1, MAX_REF_LINES + 1))


def test_signature_and_doc_are_capped() -> None:
    params = ", ".join(f"argument_number_{i}: int" for i in range(30))
    doc = "word " * 100
    source = f'def wide({params}) -> None:\n    """{doc}"""\n'.encode()
    (sym,) = extract("w.py", "python", source).symbols
    assert len(sym.signature) == 160 and sym.signature.startswith("def wide(argument_number_0: int,")
    assert len(sym.doc) == 160


def test_extraction_is_deterministic() -> None:
    first = extract("web/cart.ts", "typescript", TYPESCRIPT.encode())
    second = extract("web/cart.ts", "typescript", TYPESCRIPT.encode())
    assert first == second
    assert list(first.refs) == sorted(first.refs)
    assert first.to_wire() == second.to_wire()
    assert FileFacts.from_wire(first.to_wire()) == first


def test_concurrent_threads_agree_with_sequential_runs() -> None:
    jobs = [("python", PYTHON), ("typescript", TYPESCRIPT), ("rust", RUST), ("go", GO)] * 6
    expected = [extract("f", lang, src.encode()) for lang, src in jobs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda job: extract("f", job[0], job[1].encode()), jobs))
    assert got == expected


@pytest.mark.parametrize(
    ("language", "source"),
    [
        ("python", PYTHON),
        ("typescript", TYPESCRIPT),
        ("javascript", JAVASCRIPT),
        ("rust", RUST),
        ("go", GO),
        ("java", JAVA),
        ("c", C_HEADER),
        ("cpp", CPP),
    ],
)
def test_every_symbol_is_well_formed(language: str, source: str) -> None:
    facts = extract("f", language, source.encode())
    n_lines = source.count("\n") + 1
    for s in facts.symbols:
        assert s.kind in SYMBOL_KINDS
        assert 1 <= s.start_line <= s.end_line <= n_lines
        assert s.signature and len(s.signature) <= 160 and "\n" not in s.signature
        assert s.name and s.name in source


def test_the_registry_is_the_one_list_of_parsed_languages() -> None:
    from rtk_lsp.index.languages import PARSED, detect_language
    from rtk_lsp.index.parse import REGISTRY, SPECS

    names = [spec.name for module in REGISTRY for spec in module.SPECS]
    assert len(names) == len(set(names)) and PARSED == set(names) == LANGUAGES
    extensions = [ext for spec in SPECS.values() for ext in spec.extensions]
    assert len(extensions) == len(set(extensions)), "two languages claim one extension"
    for spec in SPECS.values():
        for ext in spec.extensions:
            assert ext.startswith(".") and ext == ext.lower()
            assert detect_language(f"src/file{ext}") == spec.name


# --------------------------------------------------------------------------- string literals

LITERALS = {
    "python": (
        '"""Module doc."""\ndef f(line):\n    """Function doc."""\n'
        '    raise ValueError(f"Unrecognized QDP line: {line}")\n'
        'OPTIONS = {"notes": 1}\nmsg = ("Don\'t recognize the argument " "in the --msg-template.")\n'
        'pattern = r"raw \\d+ string"\n',
        [
            "Unrecognized QDP line: {line}",
            "notes",
            "Don't recognize the argument",
            "in the --msg-template.",
            "raw \\d+ string",
        ],
    ),
    "javascript": (
        "\"use strict\";\nthrow new Error('Route.get() requires a callback function');\nconst t = `hello ${name} there`;\n",
        ["Route.get() requires a callback function", "hello ${name} there"],
    ),
    "typescript": ('const m: string = "cannot find module";\n', ["cannot find module"]),
    "rust": (
        'fn main() { panic!("could not parse {} as a number", s); let r = r#"raw "quoted" text"#; let c = \'x\'; }',
        ["could not parse {} as a number", 'raw "quoted" text'],
    ),
    "go": (
        'package main\nfunc f() { fmt.Errorf("unknown flag: --%s", n); x := `raw go text` }\n',
        ["unknown flag: --%s", "raw go text"],
    ),
    "java": (
        'class A { void f() { throw new IllegalStateException("Cannot start twice"); } }',
        ["Cannot start twice"],
    ),
    "c": ('int main() { printf("hello %s world", x); }', ["hello %s world"]),
    "cpp": ('auto s = R"(raw cpp text)"; const char* t = "plain cpp";', ["raw cpp text", "plain cpp"]),
    "ruby": ('def f\n  raise ArgumentError, "invalid table line: #{x}"\nend\n', ["invalid table line: #{x}"]),
    "php": (
        "<?php\nfunction f() { throw new Exception(\"Cannot load the file\"); $x = 'single quoted text'; }\n",
        ["Cannot load the file", "single quoted text"],
    ),
    "csharp": (
        'class A { void F() { throw new ArgumentException("Value cannot be null"); var s = $"hi {x} there"; } }',
        ["Value cannot be null", "hi {x} there"],
    ),
    "kotlin": ('fun f() { throw IllegalStateException("Cannot start twice") }', ["Cannot start twice"]),
    "swift": ('func f() { fatalError("Unexpected nil value here") }', ["Unexpected nil value here"]),
    "scala": (
        'object A { def f() = throw new RuntimeException("no such element here") }',
        ["no such element here"],
    ),
}


@pytest.mark.parametrize("language", sorted(LITERALS))
def test_string_literals_are_kept_without_quotes_or_docstrings(language: str) -> None:
    source, expected = LITERALS[language]
    assert list(extract("f", language, source.encode()).strings) == expected


def test_every_parsed_language_has_string_literals() -> None:
    assert set(LITERALS) | {"tsx"} == LANGUAGES


def test_string_literals_are_bounded_and_messages_come_first() -> None:
    keys = "".join(f'K{i} = "key_{i}"\n' for i in range(MAX_STRINGS))
    long = "word " * 200
    source = f'{keys}X = "a message with words"\nY = "{long}"\n'.encode()
    strings = extract("big.py", "python", source).strings
    assert len(strings) == MAX_STRINGS
    assert strings[:2] == ("a message with words", ("word " * 200).strip()[:MAX_STRING_CHARS])
    assert all(len(s) <= MAX_STRING_CHARS for s in strings)
    assert FileFacts.from_wire(extract("big.py", "python", source).to_wire()).strings == strings
