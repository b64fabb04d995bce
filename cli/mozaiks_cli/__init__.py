"""The `mozaiks` console script: the one package that imports both the runtime and the operator."""
