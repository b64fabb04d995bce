"""`python -m mozaiks_runtime`: the `mozaiks` console script."""

from mozaiks_runtime.cli import main

raise SystemExit(main())
