"""The testplan (sim/testplan.yaml) and the tests agree.

Every testpoint names tests that exist and coverpoints that are defined;
every test (each pyuvm test class and cocotb test function under
tb/vmsg/tests/) belongs to at least one testpoint; every pyuvm test is in the
simulation test list (otherwise nothing would run it).
"""

from __future__ import annotations

import ast
import re

import yaml

from vmsgsim.paths import SIM, TB

TESTS_DIR = TB / "vmsg" / "tests"


def _decorated(node, names: set[str]) -> bool:
    for d in node.decorator_list:
        target = d.func if isinstance(d, ast.Call) else d
        text = ast.unparse(target)
        if text in names:
            return True
    return False


def discover_tests() -> dict[str, str]:
    """test name -> module, for pyuvm tests (classes) and cocotb tests (functions)."""
    found: dict[str, str] = {}
    for path in sorted(TESTS_DIR.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and _decorated(node, {"pyuvm.test"}):
                found[node.name] = path.stem
            elif (isinstance(node, ast.AsyncFunctionDef) and _decorated(node, {"cocotb.test"})
                  and node.name.startswith("test_")):  # others are benchmarks run by make bench
                found[node.name] = path.stem
    return found


def defined_coverpoints() -> set[str]:
    names: set[str] = set()
    for path in (TB / "vmsg").rglob("*.py"):
        names |= set(re.findall(r'Cover(?:Point|Cross|Check)\(\s*"([\w.]+)"', path.read_text()))
    return names


def load_plan() -> list[dict]:
    return yaml.safe_load((SIM / "testplan.yaml").read_text())["testpoints"]


def test_every_testpoint_maps_to_existing_tests_and_coverpoints():
    tests = discover_tests()
    cover = defined_coverpoints()
    for tp in load_plan():
        assert tp.get("feature"), f"testpoint {tp['name']} has no feature"
        assert tp.get("tests"), f"testpoint {tp['name']} has no test"
        for t in tp["tests"]:
            assert t in tests, f"testpoint {tp['name']}: no test {t!r}"
        for c in tp.get("coverpoints", []):
            assert c in cover, f"testpoint {tp['name']}: no coverpoint {c!r}"


def test_every_test_belongs_to_a_testpoint():
    planned = {t for tp in load_plan() for t in tp["tests"]}
    orphans = sorted(set(discover_tests()) - planned)
    assert not orphans, f"tests in no testpoint: {orphans}"


def test_every_pyuvm_test_is_in_the_test_list():
    listed = {t["name"] for t in yaml.safe_load((SIM / "testlist.yaml").read_text())["tests"]}
    pyuvm_tests = {n for n, m in discover_tests().items() if n[0].isupper()}
    missing = sorted(pyuvm_tests - listed)
    assert not missing, f"pyuvm tests not in sim/testlist.yaml: {missing}"


def test_testpoint_names_unique():
    names = [tp["name"] for tp in load_plan()]
    assert len(names) == len(set(names))
