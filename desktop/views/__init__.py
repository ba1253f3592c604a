"""Qt views: each listens to a Qt-free model in ``desktop/`` and only draws it."""
