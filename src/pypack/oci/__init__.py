"""OCI images: references, layouts, registries, the Docker daemon and reproducible layers."""
