"""Files the bot and the people exchange: stored in memory, addressed by file_id and file_path."""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from typing import Any

_PREFIX = {"photo": "AgACAgIAAxkBAA", "document": "BQACAgIAAxkBAA", "sticker": "CAACAgIAAxkBAA"}
_FOLDER = {"photo": "photos", "document": "documents", "sticker": "stickers"}
_EXTENSION = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp"}


@dataclass
class FileRecord:
    file_id: str
    file_unique_id: str
    kind: str
    data: bytes | None
    url: str | None
    mime_type: str
    file_name: str | None
    file_path: str
    width: int = 0
    height: int = 0

    @property
    def file_size(self) -> int | None:
        return None if self.data is None else len(self.data)

    def _base(self) -> dict[str, Any]:
        base: dict[str, Any] = {"file_id": self.file_id, "file_unique_id": self.file_unique_id}
        if self.file_size is not None:
            base["file_size"] = self.file_size
        return base

    def photo_sizes(self) -> list[dict[str, Any]]:
        return [{**self._base(), "width": self.width, "height": self.height}]

    def document_json(self) -> dict[str, Any]:
        doc = self._base()
        if self.file_name:
            doc["file_name"] = self.file_name
        doc["mime_type"] = self.mime_type
        return doc

    def file_json(self) -> dict[str, Any]:
        return {**self._base(), "file_path": self.file_path}


def image_info(data: bytes) -> tuple[int, int, str] | None:
    """(width, height, mime type) of an image, or None when the bytes are not a picture."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:  # pragma: no cover - Pillow ships with the project's dependencies
        return _sniff_image(data)
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            mime = Image.MIME.get(image.format or "", "image/jpeg")
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    return width, height, mime


def _sniff_image(data: bytes) -> tuple[int, int, str] | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big"), "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little"), "image/gif"
    if data.startswith(b"\xff\xd8"):
        return 0, 0, "image/jpeg"
    return None


class FileStore:
    def __init__(self) -> None:
        self._by_id: dict[str, FileRecord] = {}
        self._by_path: dict[str, FileRecord] = {}
        self._counter = 0

    def _ids(self, kind: str) -> tuple[str, str]:
        return _PREFIX[kind] + secrets.token_urlsafe(40), "AQAD" + secrets.token_urlsafe(9)

    def _path(self, kind: str, mime_type: str, file_name: str | None) -> str:
        self._counter += 1
        extension = _EXTENSION.get(mime_type)
        if extension is None and file_name and "." in file_name:
            extension = file_name.rsplit(".", 1)[1][:8]
        return f"{_FOLDER[kind]}/file_{self._counter}.{extension or 'bin'}"

    def _keep(self, record: FileRecord) -> FileRecord:
        self._by_id[record.file_id] = record
        self._by_path[record.file_path] = record
        return record

    def add(
        self,
        kind: str,
        data: bytes,
        mime_type: str,
        file_name: str | None = None,
        width: int = 0,
        height: int = 0,
    ) -> FileRecord:
        file_id, unique_id = self._ids(kind)
        path = self._path(kind, mime_type, file_name)
        return self._keep(
            FileRecord(file_id, unique_id, kind, data, None, mime_type, file_name, path, width, height)
        )

    def add_url(self, kind: str, url: str) -> FileRecord:
        file_id, unique_id = self._ids(kind)
        name = url.rsplit("/", 1)[-1].split("?", 1)[0] or None
        mime = "image/jpeg" if kind == "photo" else "application/octet-stream"
        path = self._path(kind, mime, name)
        return self._keep(FileRecord(file_id, unique_id, kind, None, url, mime, name, path, 0, 0))

    def get(self, file_id: str) -> FileRecord | None:
        return self._by_id.get(file_id)

    def by_path(self, path: str) -> FileRecord | None:
        return self._by_path.get(path)
