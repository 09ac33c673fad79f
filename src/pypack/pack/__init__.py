"""The platform: the ``pypack`` CLI, build orchestration, builder and buildpack packaging."""
