"""Telegram's ``MarkdownV2`` and legacy ``Markdown`` parse modes: plain text and entities (UTF-16 offsets)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.sandbox.errors import ApiError
from bot.sandbox.html import parse_error, sort_entities, utf16_len

RESERVED_V2 = set("_*[]()~`>#+-=|{}.!")
TOGGLES = {"*": "bold", "_": "italic", "__": "underline", "~": "strikethrough", "||": "spoiler"}
ENTITY_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "text_link": "TextUrl",
    "blockquote": "Blockquote",
}


@dataclass
class _Open:
    kind: str
    start: int
    byte_offset: int


class _V2:
    def __init__(self, source: str) -> None:
        self.src = source
        self.n = len(source)
        self.out: list[str] = []
        self.pos16 = 0
        self.stack: list[_Open] = []
        self.entities: list[dict[str, Any]] = []

    def byte(self, index: int) -> int:
        return len(self.src[:index].encode("utf-8"))

    def emit(self, text: str) -> None:
        self.out.append(text)
        self.pos16 += utf16_len(text)

    def reserved(self, index: int) -> ApiError:
        return parse_error(
            f"Character '{self.src[index]}' is reserved and must be escaped with the preceding '\\'"
        )

    def close(self, opened: _Open, **extra: Any) -> None:
        length = self.pos16 - opened.start
        if length > 0:
            self.entities.append({"type": opened.kind, "offset": opened.start, "length": length, **extra})

    def run(self) -> tuple[str, list[dict[str, Any]]]:
        src, i = self.src, 0
        while i < self.n:
            ch = src[i]
            at_line_start = i == 0 or src[i - 1] == "\n"
            if ch == "\\" and i + 1 < self.n and 0 < ord(src[i + 1]) <= 126:
                self.emit(src[i + 1])
                i += 2
            elif ch == ">" and at_line_start:
                if not (self.stack and self.stack[-1].kind == "blockquote"):
                    self.stack.append(_Open("blockquote", self.pos16, self.byte(i)))
                i += 1
            elif ch == "\n":
                self.emit("\n")
                i += 1
                if self.stack and self.stack[-1].kind == "blockquote" and (i >= self.n or src[i] != ">"):
                    opened = self.stack.pop()
                    self.pos16 -= 1
                    self.close(opened)
                    self.pos16 += 1
            elif ch == "`":
                i = self.code(i)
            elif ch == "[":
                self.stack.append(_Open("text_link", self.pos16, self.byte(i)))
                i += 1
            elif ch == "]":
                i = self.link_end(i)
            elif ch in "*_~|":
                token = ch
                if ch in "_|" and i + 1 < self.n and src[i + 1] == ch:
                    token = ch * 2
                elif ch == "|":
                    raise self.reserved(i)
                kind = TOGGLES[token]
                if self.stack and self.stack[-1].kind == kind:
                    self.close(self.stack.pop())
                else:
                    self.stack.append(_Open(kind, self.pos16, self.byte(i)))
                i += len(token)
            elif ch in RESERVED_V2:
                raise self.reserved(i)
            else:
                j = i
                while j < self.n and src[j] not in RESERVED_V2 and src[j] not in "\\\n":
                    j += 1
                self.emit(src[i : max(j, i + 1)])
                i = max(j, i + 1)
        if self.stack and self.stack[-1].kind == "blockquote":
            self.close(self.stack.pop())
        if self.stack:
            opened = self.stack[-1]
            raise parse_error(
                f"Can't find end of {ENTITY_NAMES.get(opened.kind, opened.kind)} entity "
                f"at byte offset {opened.byte_offset}"
            )
        return "".join(self.out), sort_entities(self.entities)

    def code(self, begin: int) -> int:
        src = self.src
        fence = src.startswith("```", begin)
        marker = "```" if fence else "`"
        i = begin + len(marker)
        language = ""
        if fence:
            line_end = src.find("\n", i)
            first_line = src[i:line_end] if line_end != -1 else ""
            if line_end != -1 and first_line and " " not in first_line and "`" not in first_line:
                language = first_line
                i = line_end + 1
        start = self.pos16
        chunk: list[str] = []
        while i < self.n and not src.startswith(marker, i):
            if src[i] == "\\" and i + 1 < self.n and src[i + 1] in "`\\":
                chunk.append(src[i + 1])
                i += 2
            else:
                chunk.append(src[i])
                i += 1
        if i >= self.n:
            name = "Pre" if fence else "Code"
            raise parse_error(f"Can't find end of {name} entity at byte offset {self.byte(begin)}")
        self.emit("".join(chunk))
        length = self.pos16 - start
        if length > 0:
            entity: dict[str, Any] = {"type": "pre" if fence else "code", "offset": start, "length": length}
            if language:
                entity["language"] = language
            self.entities.append(entity)
        return i + len(marker)

    def link_end(self, index: int) -> int:
        src = self.src
        if not self.stack or self.stack[-1].kind != "text_link":
            raise self.reserved(index)
        opened = self.stack.pop()
        i = index + 1
        if i >= self.n or src[i] != "(":
            raise parse_error(f"Can't find end of TextUrl entity at byte offset {opened.byte_offset}")
        i += 1
        url: list[str] = []
        while i < self.n and src[i] != ")":
            if src[i] == "\\" and i + 1 < self.n and src[i + 1] in ")\\":
                url.append(src[i + 1])
                i += 2
            else:
                url.append(src[i])
                i += 1
        if i >= self.n:
            raise parse_error(f"Can't find end of a URL at byte offset {self.byte(index + 1)}")
        target = "".join(url).strip()
        if target.startswith("tg://user?id=") and target[len("tg://user?id=") :].isdigit():
            user = {"id": int(target[len("tg://user?id=") :]), "is_bot": False, "first_name": ""}
            self.close(_Open("text_mention", opened.start, opened.byte_offset), user=user)
        elif target:
            self.close(opened, url=target)
        return i + 1


def parse_markdown_v2(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Telegram's ``parse_mode=MarkdownV2``; unescaped reserved characters are a 400."""
    return _V2(source).run()


def parse_markdown(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Telegram's legacy ``parse_mode=Markdown``: *bold*, _italic_, `code`, ```pre``` and [text](url)."""
    out: list[str] = []
    entities: list[dict[str, Any]] = []
    pos16 = 0
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch == "\\" and i + 1 < n and source[i + 1] in "_*`[":
            out.append(source[i + 1])
            pos16 += 1
            i += 2
            continue
        if ch in "*_`[":
            marker = "```" if source.startswith("```", i) else ("]" if ch == "[" else ch)
            begin = i + (3 if marker == "```" else 1)
            end = source.find(marker, begin)
            if end == -1:
                byte_offset = len(source[:i].encode("utf-8"))
                raise parse_error(f"Can't find end of the entity starting at byte offset {byte_offset}")
            inner = source[begin:end]
            after = end + len(marker)
            entity: dict[str, Any] | None
            if ch == "[":
                close = source.find(")", after) if after < n and source[after] == "(" else -1
                if close == -1:
                    out.append("[")
                    pos16 += 1
                    i += 1
                    continue
                entity = {"type": "text_link", "url": source[after + 1 : close]}
                after = close + 1
            else:
                kind = {"*": "bold", "_": "italic", "`": "code"}[ch] if marker != "```" else "pre"
                entity = {"type": kind}
            if marker == "```" and "\n" in inner and inner.split("\n", 1)[0].strip().isidentifier():
                language, inner = inner.split("\n", 1)
                entity["language"] = language.strip()
            length = utf16_len(inner)
            if length:
                entities.append({**entity, "offset": pos16, "length": length})
            out.append(inner)
            pos16 += length
            i = after
            continue
        out.append(ch)
        pos16 += utf16_len(ch)
        i += 1
    return "".join(out), sort_entities(entities)
