"""Real git repositories for tests, made with the git CLI in temporary directories."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


class GitRepo:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._clock = 1_700_000_000
        root.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        env = {
            **os.environ,
            **_ENV,
            "GIT_AUTHOR_DATE": f"{self._clock} +0000",
            "GIT_COMMITTER_DATE": f"{self._clock} +0000",
        }
        env.pop("GIT_DIR", None)
        out = subprocess.run(
            ["git", *args], cwd=self.root, env=env, capture_output=True, text=True, check=True
        )
        return out.stdout.strip()

    def write(self, rel: str, text: str | bytes) -> Path:
        p = self.root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            p.write_bytes(text)
        else:
            p.write_text(text)
        return p

    def commit(self, message: str, files: dict[str, str] | None = None) -> str:
        for rel, text in (files or {}).items():
            self.write(rel, text)
        self._clock += 3600
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")

    @property
    def head(self) -> str:
        return self.git("rev-parse", "HEAD")


INVOICE = '''"""Invoices and their totals."""

from billing.tax import tax_for


class InvoiceCalculator:
    """Computes invoice totals."""

    def __init__(self, lines):
        self.lines = lines

    def subtotal(self):
        return sum(line.price * line.qty for line in self.lines)

    def apply_discount(self, pct):
        """Apply a percentage discount, rounded to cents."""
        return round(self.subtotal() * (1 - pct / 100), 2)

    def total(self, region):
        return self.apply_discount(0) + tax_for(region, self.subtotal())
'''

TAX = '''"""Regional tax rates."""

RATES = {"eu": 0.2, "us": 0.07}


def tax_for(region, amount):
    """Tax owed on an amount in a region."""
    return amount * RATES.get(region, 0.0)
'''

PROFILE = '''"""User profiles."""


class Profile:
    def __init__(self, name, email):
        self.name = name
        self.email = email

    def display_name(self):
        return self.name.title()
'''

STRINGS = """def slugify(text):
    return "-".join(text.lower().split())


def truncate(text, width):
    return text if len(text) <= width else text[: width - 1] + "..."
"""


def make_billing_repo(root: Path) -> GitRepo:
    """A small Python project with a known answer: discount tasks belong to billing/invoice.py."""
    repo = GitRepo(root)
    repo.commit(
        "initial project",
        {
            "billing/__init__.py": "",
            "billing/invoice.py": INVOICE,
            "billing/tax.py": TAX,
            "users/__init__.py": "",
            "users/profile.py": PROFILE,
            "utils/strings.py": STRINGS,
            "README.md": "# Shop\n\nInvoices, taxes and user profiles.\n",
        },
    )
    repo.commit("tax: add US rate", {"billing/tax.py": TAX.replace('"us": 0.07', '"us": 0.08')})
    return repo
