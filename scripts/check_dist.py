"""Checks the wheel and sdist that `python -m build` made: usage `check_dist.py SOURCE_TREE DIST_DIR`.

Every file git knows under rtk_lsp/ (code, py.typed, the JSON schemas, the example workspace)
must be in both; the licence file and the project metadata too. Prints each problem; exits 1 if any.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

METADATA_FIELDS = ("License-Expression", "Project-URL", "Classifier", "Keywords", "Requires-Python")


def package_files(source: Path) -> set[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "rtk_lsp"],
        cwd=source,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return {p for p in listed if (source / p).is_file() and "__pycache__" not in p}


def check(source: Path, dist: Path) -> list[str]:
    problems: list[str] = []
    wheels = sorted(dist.glob("rtk_lsp-*.whl"))
    sdists = sorted(dist.glob("rtk_lsp-*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        return [f"expected one wheel and one sdist in {dist}, found {[p.name for p in dist.iterdir()]}"]
    wanted = package_files(source)
    for must in ("rtk_lsp/py.typed", "rtk_lsp/examples/shop/billing/invoice.py"):
        if must not in wanted:
            problems.append(f"{must} is not in the source tree's package")

    with zipfile.ZipFile(wheels[0]) as whl:
        names = set(whl.namelist())
        problems += [f"wheel lacks {p}" for p in sorted(wanted - names)]
        dist_info = next((n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA")), None)
        if dist_info is None:
            return [*problems, "wheel has no METADATA"]
        if f"{dist_info}/licenses/LICENSE" not in names:
            problems.append("wheel lacks the LICENSE file")
        metadata = Parser().parsestr(whl.read(f"{dist_info}/METADATA").decode())
    problems += [f"wheel METADATA lacks {field}" for field in METADATA_FIELDS if not metadata.get_all(field)]
    if metadata.get("License-Expression") != "MIT":
        problems.append(f"licence is {metadata.get('License-Expression')!r}, not MIT")

    with tarfile.open(sdists[0]) as sdist:
        top = sdist.getnames()[0].split("/")[0]
        members = {n.removeprefix(f"{top}/") for n in sdist.getnames()}
    problems += [f"sdist lacks {p}" for p in sorted(wanted - members)]
    problems += [
        f"sdist lacks {p}" for p in ("LICENSE", "README.md", "pyproject.toml", "PKG-INFO") if p not in members
    ]
    return problems


def main() -> int:
    source, dist = Path(sys.argv[1]), Path(sys.argv[2])
    problems = check(source, dist)
    for problem in problems:
        print(f"check_dist: {problem}")
    if not problems:
        print(f"check_dist: {len(package_files(source))} package files, licence and metadata present")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
