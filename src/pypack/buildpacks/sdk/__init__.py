"""The buildpack SDK: write a CNB buildpack as a Python class.

It depends on :mod:`pypack.spec` only.
"""
