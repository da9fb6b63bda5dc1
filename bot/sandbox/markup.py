"""Validation of ``reply_markup``: inline keyboards, reply keyboards, keyboard removal and force reply."""

from __future__ import annotations

from typing import Any

from bot.sandbox.errors import bad_request

INLINE_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
REQUEST_FIELDS = (
    "request_contact",
    "request_location",
    "request_poll",
    "request_users",
    "request_chat",
    "web_app",
)
MAX_BUTTONS = 100
URL_SCHEMES = ("http://", "https://", "tg://")


def _rows(markup: dict[str, Any], key: str, kind: str) -> list[list[Any]]:
    rows = markup.get(key)
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(f'field "{key}" of the {kind} must be an Array of Arrays')
    if sum(len(row) for row in rows) > MAX_BUTTONS:
        raise bad_request("reply markup is too long")
    return rows


def _inline_button(button: Any, max_callback_data: int) -> dict[str, Any]:
    if not isinstance(button, dict):
        raise bad_request("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
    text = button.get("text")
    if not isinstance(text, str):
        raise bad_request('can\'t parse inline keyboard button: Field "text" must be of type String')
    if not text.strip():
        raise bad_request("BUTTON_TEXT_INVALID")
    actions = [name for name in INLINE_ACTIONS if button.get(name) is not None]
    if not actions:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if len(actions) > 1:
        raise bad_request(
            "can't parse inline keyboard button: exactly one of the optional fields must be used, "
            f"found {', '.join(actions)}"
        )
    if "callback_data" in actions:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= max_callback_data:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in actions:
        url = button["url"]
        if not isinstance(url, str) or not url.startswith(URL_SCHEMES) or len(url) <= len("http://"):
            raise bad_request("BUTTON_URL_INVALID")
    return button


def _reply_button(button: Any) -> dict[str, Any]:
    if isinstance(button, str):
        button = {"text": button}
    if not isinstance(button, dict):
        raise bad_request("can't parse keyboard button: KeyboardButton must be a String or an Object")
    text = button.get("text")
    if not isinstance(text, str) or not text.strip():
        raise bad_request('can\'t parse keyboard button: Field "text" must be a non-empty String')
    requests = [name for name in REQUEST_FIELDS if button.get(name)]
    if len(requests) > 1:
        raise bad_request("can't parse keyboard button: only one of the optional fields can be used")
    return button


def validate_markup(markup: Any, max_callback_data: int, inline_only: bool = False) -> dict[str, Any] | None:
    """The reply markup as stored, with string buttons of reply keyboards turned into objects."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = _rows(markup, "inline_keyboard", "InlineKeyboardMarkup")
        return {"inline_keyboard": [[_inline_button(b, max_callback_data) for b in row] for row in rows]}
    if inline_only:
        raise bad_request("inline keyboard expected")
    if "keyboard" in markup:
        rows = _rows(markup, "keyboard", "ReplyKeyboardMarkup")
        keyboard = [[_reply_button(b) for b in row] for row in rows if row]
        if not keyboard:
            raise bad_request("keyboard must be non-empty")
        placeholder = markup.get("input_field_placeholder")
        if placeholder is not None and (not isinstance(placeholder, str) or len(placeholder) > 64):
            raise bad_request("input_field_placeholder must be at most 64 characters")
        options = {
            key: markup[key]
            for key in (
                "resize_keyboard",
                "one_time_keyboard",
                "is_persistent",
                "selective",
                "input_field_placeholder",
            )
            if key in markup
        }
        return {"keyboard": keyboard, **options}
    if markup.get("remove_keyboard") is True:
        return {
            "remove_keyboard": True,
            **({"selective": markup["selective"]} if "selective" in markup else {}),
        }
    if markup.get("force_reply") is True:
        return {
            k: v for k, v in markup.items() if k in ("force_reply", "input_field_placeholder", "selective")
        }
    raise bad_request("can't parse reply keyboard markup JSON object")
