"""Stack definitions (build and run base images), shipped as package data."""
