"""Bot API request parameters: query string, JSON, urlencoded and multipart bodies, coerced per type."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import BodyPartReader, web

from bot.sandbox.errors import bad_request


@dataclass(frozen=True)
class Upload:
    """A file sent in a multipart body."""

    data: bytes
    filename: str | None
    content_type: str | None


class Params:
    """The parameters of one call. Form values arrive as strings; objects arrive JSON-serialised."""

    def __init__(self, values: dict[str, Any], uploads: dict[str, Upload] | None = None) -> None:
        self.values = values
        self.uploads = uploads or {}

    def has(self, name: str) -> bool:
        return self.values.get(name) not in (None, "")

    def raw(self, name: str) -> Any:
        return self.values.get(name)

    def str(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None:
            return None
        if isinstance(value, Upload):
            raise bad_request(f"wrong parameter {name}")
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def int(self, name: str) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        try:
            return int(str(value).strip())
        except ValueError:
            raise bad_request(f"invalid {name} specified") from None

    def float(self, name: str) -> float | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        try:
            return float(str(value).strip())
        except ValueError:
            raise bad_request(f"invalid {name} specified") from None

    def bool(self, name: str, default: bool = False) -> bool:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return value != 0
        return str(value).strip().lower() in ("true", "1", "yes", "on")

    def json(self, name: str) -> Any:
        """An object parameter: native in a JSON body, JSON-serialised text in a form."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise bad_request(f"can't parse {name} JSON object") from None
        return value

    def file(self, name: str) -> Upload | str | None:
        """A file parameter: an uploaded part, ``attach://<part>``, a file_id or an URL."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, Upload):
            return value
        text = str(value)
        if text.startswith("attach://"):
            upload = self.uploads.get(text[len("attach://") :])
            if upload is None:
                raise bad_request(
                    f"wrong remote file identifier specified: can't find attached file in {name}"
                )
            return upload
        return text


async def read_params(request: web.Request) -> Params:
    """Collect the parameters of a Bot API request the way Telegram accepts them."""
    values: dict[str, Any] = dict(request.query)
    uploads: dict[str, Upload] = {}
    if request.method == "POST" and request.can_read_body:
        content_type = request.content_type
        if content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise bad_request("can't parse JSON object") from None
            if isinstance(body, dict):
                values.update(body)
        elif content_type == "multipart/form-data":
            reader = await request.multipart()
            while True:
                part = await reader.next()
                if part is None:
                    break
                if not isinstance(part, BodyPartReader) or part.name is None:
                    continue
                if part.filename is not None:
                    upload = Upload(
                        data=bytes(await part.read()),
                        filename=part.filename,
                        content_type=part.headers.get("Content-Type"),
                    )
                    uploads[part.name] = upload
                    values[part.name] = upload
                else:
                    values[part.name] = await part.text()
        else:
            form = await request.post()
            for key, value in form.items():
                values[key] = value if isinstance(value, str) else str(value)
    return Params(values, uploads)
