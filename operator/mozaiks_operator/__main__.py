"""`python -m mozaiks_operator`: the same as `mozaiks operator`."""

from mozaiks_operator.main import run

run()
