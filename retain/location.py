"""Where the input tables live: a local folder, or a URI with a scheme (`hdfs://`, `s3a://`, `file://`, ...)
that Spark resolves through Hadoop's file systems.

A URI stays a string from the command line to the engine's reader: pathlib would fold its `//` (`hdfs:/nn/x`).
Only a local folder is a `Path`; retain's own outputs (feature table, sentiment cache, score batches) are written
by this process, so they need one (`local_dir`).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlparse

from retain.errors import RetainError

Location = Path | str

SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")


def scheme(location: Location) -> str | None:
    """The URI scheme (`hdfs`), or None for a local path."""
    match = SCHEME.match(str(location)) if isinstance(location, str) else None
    return match[1].lower() if match else None


def parse(text: str | Path) -> Location:
    """A URI as the string it is; anything else as a local Path."""
    return str(text) if scheme(str(text)) else Path(text)


def local_dir(location: Location) -> Path | None:
    """The local folder `location` names: itself, or the path of a `file://` URI; None for any other scheme."""
    found = scheme(location)
    if found is None:
        return Path(location)
    if found == "file":
        return Path(unquote(urlparse(str(location)).path))
    return None


def child(location: Location, name: str) -> Location:
    """`name` inside the folder `location`."""
    return location / name if isinstance(location, Path) else f"{location.rstrip('/')}/{name}"


def output_dir(location: Location, what: str) -> Path:
    """The local folder `what` is written beside the data in; a RetainError when the data is at a URI this
    process cannot write to (retain writes its outputs itself, atomically, as local files)."""
    local = local_dir(location)
    if local is None:
        raise RetainError(f"{location} is not a local folder, and retain writes {what} with local file access: "
                          "run on a local or file:// copy")
    return local
