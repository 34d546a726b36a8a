"""roadseg desktop app: label roads on satellite tiles and retrain the model.

``core`` holds everything that is not Qt (workspace, state, mask edits, sync,
settings); ``ui`` holds the Qt widgets; ``cli`` the ``roadseg`` command.
"""

__version__ = "0.1.0"
