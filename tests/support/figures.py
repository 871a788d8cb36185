"""Figures a test measured, printed at the end of the run (tests/conftest.py), so they show in `make test`."""

FIGURES = []


def report(text):
    print("\n" + text)
    FIGURES.append(text)
