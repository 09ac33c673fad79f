"""pypack/python: the bundled Python buildpack (its modules run in the build image on the
standard library only)."""
