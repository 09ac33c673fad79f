"""The CNB lifecycle: detect, analyze, restore, build, export, create, rebase and launch.

It runs inside builder images, so it never imports click, rich or :mod:`pypack.pack`.
"""
