"""`make mutate`'s type check keeps only the errors a mutation made: not those of mutmut's
trampolines, nor those its copy of the original function has too."""

from __future__ import annotations

from typing import Any

from tests.mutant_types import mutants_errors

SOURCE = """\
def total(xs: list[int]) -> int:
    return _mutmut_trampoline(x_total__mutmut_orig, x_total__mutmut_mutants, xs)  # wrapper

def x_total__mutmut_orig(xs: list[int]) -> int:
    return sum(xs)

def x_total__mutmut_1(xs: list[int]) -> int:
    return sum(None)

def x_total__mutmut_2(xs: list[int]) -> int:
    return sum(xs)

class Box:
    def xǁBoxǁopen__mutmut_orig(self) -> Crew:
        return PostgresCrew()

    def xǁBoxǁopen__mutmut_1(self) -> Crew:
        return PostgresCrew()

    def xǁBoxǁopen__mutmut_2(self) -> Crew:
        return None
"""


def error(line: int, message: str) -> dict[str, Any]:
    return {"file": "src/weekly/x.py", "line": line, "message": message, "severity": "error"}


def test_only_a_mutation_s_own_errors_are_kept() -> None:
    copied = 'Incompatible return value type (got "PostgresCrew", expected "Crew")'
    errors = [
        error(2, "Returning Any from function declared to return int"),  # the wrapper
        error(8, 'Argument 1 to "sum" has incompatible type "None"'),  # mutant 1's own
        error(15, copied),  # the original's copy has it: every mutant of it would
        error(18, copied),
        error(21, 'Incompatible return value type (got "None", expected "Crew")'),
    ]
    kept = mutants_errors(errors, SOURCE)
    assert [e["line"] for e in kept] == [8, 21]
