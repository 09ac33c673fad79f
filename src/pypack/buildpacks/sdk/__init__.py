"""The buildpack SDK: write a CNB buildpack as a Python class. Depends on :mod:`pypack.spec` only."""
