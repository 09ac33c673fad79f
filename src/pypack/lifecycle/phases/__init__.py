"""The phases: logic only, collaborators (runner, image access, cache) come in the inputs."""
