"""Loaders: read input files, detect their kind, and validate them into canonical frames.

Each loaded row is either kept (canonical columns plus `_file`/`_line`) or rejected with a reason;
nothing is dropped without being counted.
"""

from tokenaudit.loaders.canonical import LoadedInput, load_input
from tokenaudit.loaders.sources import InputFile, expand_paths

__all__ = ["InputFile", "LoadedInput", "expand_paths", "load_input"]
