"""The broadcasts feature's UI: callback data, the staff screens' texts and keyboards, the progress
message (rendered with `bot.i18n.translate`, since the scheduler writes it) and its part of the error
table."""
