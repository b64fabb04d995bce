"""`python -m mozaiks_cli`: the `mozaiks` console script."""

from mozaiks_cli.main import main

raise SystemExit(main())
