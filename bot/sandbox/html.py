"""Telegram's HTML subset: parsing into plain text and entities, and rendering entities back to HTML.

Offsets and lengths of entities are UTF-16 code units, as in the Bot API. Parse errors carry the
messages Telegram gives (``can't parse entities: Unsupported start tag "x" at byte offset N``).
"""

from __future__ import annotations

import html as std_html
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.errors import ApiError, bad_request

SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
}
SUPPORTED_TAGS = set(SIMPLE_TAGS) | {"a", "span", "tg-emoji", "blockquote"}
NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def utf16_len(text: str) -> int:
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def parse_error(message: str) -> ApiError:
    return bad_request(f"can't parse entities: {message}")


@dataclass
class _OpenTag:
    name: str
    start: int
    byte_offset: int
    attributes: dict[str, str] = field(default_factory=dict)
    sequence: int = 0


def _decode_entity(source: str, index: int) -> tuple[str, int] | None:
    """Decode the character reference at ``source[index] == "&"``: (text, characters consumed)."""
    end = source.find(";", index + 1, index + 12)
    if end == -1:
        return None
    name = source[index + 1 : end]
    if name.startswith("#"):
        digits = name[1:]
        try:
            code = int(digits[1:], 16) if digits[:1] in ("x", "X") else int(digits, 10)
        except ValueError:
            return None
        if not 0 < code <= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None
        return chr(code), end - index + 1
    if name in NAMED_ENTITIES:
        return NAMED_ENTITIES[name], end - index + 1
    return None


def _decode_attribute(value: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(value):
        if value[i] == "&":
            decoded = _decode_entity(value, i)
            if decoded is not None:
                out.append(decoded[0])
                i += decoded[1]
                continue
        out.append(value[i])
        i += 1
    return "".join(out)


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.n = len(source)
        self.out: list[str] = []
        self.pos16 = 0
        self.stack: list[_OpenTag] = []
        self.opened = 0
        self.closed: list[tuple[int, dict[str, Any]]] = []

    @property
    def entities(self) -> list[dict[str, Any]]:
        """Entities in the order their tags opened (outer before inner for equal ranges)."""
        return [entity for _, entity in sorted(self.closed, key=lambda item: item[0])]

    def byte_offset(self, index: int) -> int:
        return len(self.source[:index].encode("utf-8"))

    def emit(self, text: str) -> None:
        self.out.append(text)
        self.pos16 += utf16_len(text)

    def run(self) -> tuple[str, list[dict[str, Any]]]:
        i = 0
        source = self.source
        while i < self.n:
            ch = source[i]
            if ch == "&":
                decoded = _decode_entity(source, i)
                if decoded is not None:
                    self.emit(decoded[0])
                    i += decoded[1]
                    continue
                self.emit("&")
                i += 1
            elif ch == "<":
                i = self.end_tag(i) if i + 1 < self.n and source[i + 1] == "/" else self.start_tag(i)
            else:
                j = i
                while j < self.n and source[j] not in "&<":
                    j += 1
                self.emit(source[i:j])
                i = j
        if self.stack:
            raise parse_error(f'Can\'t find end tag corresponding to start tag "{self.stack[-1].name}"')
        return "".join(self.out), self.entities

    def start_tag(self, begin: int) -> int:
        source = self.source
        i = begin + 1
        while i < self.n and not source[i].isspace() and source[i] != ">":
            i += 1
        if i >= self.n:
            raise parse_error(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")
        name = source[begin + 1 : i].lower()
        if name not in SUPPORTED_TAGS:
            raise parse_error(f'Unsupported start tag "{name}" at byte offset {self.byte_offset(begin)}')
        attributes: dict[str, str] = {}
        while True:
            while i < self.n and source[i].isspace():
                i += 1
            if i >= self.n:
                raise parse_error(f'Unclosed start tag "{name}" at byte offset {self.byte_offset(begin)}')
            if source[i] == ">":
                i += 1
                break
            attr_begin = i
            while i < self.n and not source[i].isspace() and source[i] not in "=>":
                i += 1
            attr_name = source[attr_begin:i].lower()
            while i < self.n and source[i].isspace():
                i += 1
            if i < self.n and source[i] == "=":
                i += 1
                while i < self.n and source[i].isspace():
                    i += 1
                if i >= self.n:
                    raise parse_error(f'Unclosed start tag "{name}" at byte offset {self.byte_offset(begin)}')
                if source[i] in "\"'":
                    quote = source[i]
                    close = source.find(quote, i + 1)
                    if close == -1:
                        raise parse_error(
                            f'Unclosed start tag "{name}" at byte offset {self.byte_offset(begin)}'
                        )
                    value = source[i + 1 : close]
                    i = close + 1
                else:
                    value_begin = i
                    while i < self.n and not source[i].isspace() and source[i] != ">":
                        i += 1
                    value = source[value_begin:i]
                attributes[attr_name] = _decode_attribute(value)
            elif attr_name:
                attributes[attr_name] = ""
            else:
                raise parse_error(
                    f'Expected equal sign in declaration of an attribute of the tag "{name}" '
                    f"at byte offset {self.byte_offset(begin)}"
                )
        if name == "span" and attributes.get("class") != "tg-spoiler":
            raise parse_error(
                f'Tag "span" must have class "tg-spoiler" at byte offset {self.byte_offset(begin)}'
            )
        if name == "tg-emoji" and not attributes.get("emoji-id", "").isdigit():
            raise parse_error(
                f'Custom emoji entity must have "emoji-id" attribute at byte offset {self.byte_offset(begin)}'
            )
        self.opened += 1
        self.stack.append(_OpenTag(name, self.pos16, self.byte_offset(begin), attributes, self.opened))
        return i

    def end_tag(self, begin: int) -> int:
        source = self.source
        i = begin + 2
        while i < self.n and not source[i].isspace() and source[i] != ">":
            i += 1
        name = source[begin + 2 : i].lower()
        while i < self.n and source[i].isspace():
            i += 1
        if i >= self.n or source[i] != ">":
            raise parse_error(f"Can't find end of tag at byte offset {self.byte_offset(begin)}")
        if not self.stack:
            raise parse_error(f"Unexpected end tag at byte offset {self.byte_offset(begin)}")
        opened = self.stack[-1]
        if opened.name != name:
            raise parse_error(
                f'Unmatched end tag at byte offset {self.byte_offset(begin)}, expected "</{opened.name}>", '
                f'found "</{name}>"'
            )
        self.stack.pop()
        self.close(opened)
        return i + 1

    def close(self, opened: _OpenTag) -> None:
        length = self.pos16 - opened.start
        if length <= 0:
            return
        entity: dict[str, Any] = {"offset": opened.start, "length": length}
        name = opened.name
        if name in SIMPLE_TAGS:
            entity["type"] = SIMPLE_TAGS[name]
            language = opened.attributes.get("class", "")
            if name == "code" and language.startswith("language-"):
                entity["language"] = language[len("language-") :]
        elif name == "span":
            entity["type"] = "spoiler"
        elif name == "a":
            href = opened.attributes.get("href", "")
            if not href:
                return
            if href.startswith("tg://user?id=") and href[len("tg://user?id=") :].isdigit():
                entity["type"] = "text_mention"
                entity["user"] = {"id": int(href[len("tg://user?id=") :]), "is_bot": False, "first_name": ""}
            else:
                entity["type"] = "text_link"
                entity["url"] = href
        elif name == "tg-emoji":
            entity["type"] = "custom_emoji"
            entity["custom_emoji_id"] = opened.attributes["emoji-id"]
        elif name == "blockquote":
            entity["type"] = "expandable_blockquote" if "expandable" in opened.attributes else "blockquote"
        self.closed.append((opened.sequence, entity))


def _merge_pre_code(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``<pre><code class="language-x">`` is one pre entity with a language, as Telegram makes it."""
    pres = {(e["offset"], e["length"]): e for e in entities if e["type"] == "pre"}
    merged: list[dict[str, Any]] = []
    for entity in entities:
        pre = pres.get((entity["offset"], entity["length"])) if entity["type"] == "code" else None
        if pre is not None:
            if "language" in entity:
                pre["language"] = entity["language"]
            continue
        merged.append(entity)
    return merged


def sort_entities(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(entities, key=lambda e: (e["offset"], -e["length"]))


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Telegram's ``parse_mode=HTML``: (plain text, entities) or 400 ``can't parse entities``."""
    text, entities = _Parser(source).run()
    return text, sort_entities(_merge_pre_code(entities))


def _utf16_to_index(text: str) -> list[int]:
    """Map each UTF-16 offset (0..len) to the index of the code point that starts there."""
    table: list[int] = []
    for index, ch in enumerate(text):
        table.append(index)
        if ord(ch) > 0xFFFF:
            table.append(index)
    table.append(len(text))
    return table


def strip_text(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Drop leading and trailing whitespace as Telegram does, shrinking the entities with it."""
    stripped = text.strip()
    if stripped == text:
        return text, [e for e in entities if e["length"] > 0]
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    total = utf16_len(stripped)
    result: list[dict[str, Any]] = []
    for entity in entities:
        start = max(0, entity["offset"] - lead)
        end = min(total, entity["offset"] + entity["length"] - lead)
        if end > start:
            result.append({**entity, "offset": start, "length": end - start})
    return stripped, result


def check_entities(text: str, entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Validate an explicit ``entities`` parameter against the text."""
    total = utf16_len(text)
    checked: list[dict[str, Any]] = []
    for entity in entities:
        if not isinstance(entity, dict) or not isinstance(entity.get("type"), str):
            raise bad_request("can't parse entities: entity type must be a string")
        offset, length = entity.get("offset"), entity.get("length")
        if not isinstance(offset, int) or not isinstance(length, int) or offset < 0 or length < 0:
            raise bad_request("can't parse entities: entity offset and length must be non-negative integers")
        if entity["type"] == "text_link" and not entity.get("url"):
            raise bad_request("can't parse entities: text_link entity must have an url")
        end = min(offset + length, total)
        if end > offset:
            checked.append({**entity, "length": end - offset})
    return sort_entities(checked)


_RENDER_TAGS = {
    "bold": ("<b>", "</b>"),
    "italic": ("<i>", "</i>"),
    "underline": ("<u>", "</u>"),
    "strikethrough": ("<s>", "</s>"),
    "spoiler": ('<span class="tg-spoiler">', "</span>"),
    "code": ("<code>", "</code>"),
    "blockquote": ("<blockquote>", "</blockquote>"),
    "expandable_blockquote": ("<blockquote expandable>", "</blockquote>"),
}


def _tags(entity: dict[str, Any]) -> tuple[str, str] | None:
    kind = entity["type"]
    if kind in _RENDER_TAGS:
        return _RENDER_TAGS[kind]
    if kind == "pre":
        language = entity.get("language")
        if language:
            return f'<pre><code class="language-{std_html.escape(language)}">', "</code></pre>"
        return "<pre>", "</pre>"
    if kind == "text_link":
        return f'<a href="{std_html.escape(entity.get("url", ""))}">', "</a>"
    if kind == "text_mention":
        user_id = entity.get("user", {}).get("id", 0)
        return f'<a href="tg://user?id={user_id}">', "</a>"
    return None


def render_html(text: str, entities: list[dict[str, Any]]) -> str:
    """Escaped HTML for ``text`` with its formatting entities; overlapping entities are re-opened."""
    table = _utf16_to_index(text)
    limit = len(table) - 1
    spans: list[tuple[int, int, int, tuple[str, str]]] = []
    for order, entity in enumerate(sort_entities(entities)):
        tags = _tags(entity)
        if tags is None:
            continue
        start = table[min(entity["offset"], limit)]
        end = table[min(entity["offset"] + entity["length"], limit)]
        if end > start:
            spans.append((start, end, order, tags))
    if not spans:
        return std_html.escape(text, quote=False)
    bounds = sorted({0, len(text)} | {s[0] for s in spans} | {s[1] for s in spans})
    out: list[str] = []
    stack: list[tuple[int, int, int, tuple[str, str]]] = []
    for left, right in zip(bounds, bounds[1:], strict=False):
        active = [s for s in spans if s[0] <= left and s[1] >= right]
        keep = 0
        while keep < len(stack) and keep < len(active) and stack[keep] in active:
            keep += 1
        for span in reversed(stack[keep:]):
            out.append(span[3][1])
        stack = stack[:keep]
        for span in sorted((s for s in active if s not in stack), key=lambda s: (s[0], -s[1], s[2])):
            out.append(span[3][0])
            stack.append(span)
        out.append(std_html.escape(text[left:right], quote=False))
    for span in reversed(stack):
        out.append(span[3][1])
    return "".join(out)
