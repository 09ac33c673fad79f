"""The reference lifecycle's acceptance tests (buildpacks/lifecycle ``acceptance/*_test.go``),
translated case by case: one module per phase, each test citing the Go test and line it comes
from, fixtures written here from what the Go tests need."""
