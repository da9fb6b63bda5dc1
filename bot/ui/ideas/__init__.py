"""How ideas look in chat: cards, the error table, callback data and keyboards."""
