"""Static files of the wall page (``/wall``), shipped as package data.

They live in a package, not next to the wiring code, so ``importlib.resources`` finds
them in an installed wheel as well as in a source checkout; ``stream/wiring/wall.py``
serves them.
"""
