"""orjson as the changelog codec: several times faster than the stdlib json Faust defaults to."""

from __future__ import annotations

from typing import Any

import orjson
from faust.serializers import codecs

CODEC_NAME = "sp-orjson"


class OrjsonCodec(codecs.Codec):
    """Encode table values (plain dicts produced by ``to_dict``) with orjson."""

    def _dumps(self, obj: Any) -> bytes:
        return orjson.dumps(obj)

    def _loads(self, s: bytes) -> Any:
        return orjson.loads(s)


def register() -> None:
    """Make the codec available by name (idempotent)."""
    codecs.register(CODEC_NAME, OrjsonCodec())
