"""Views: how plans and results look to people (text, Markdown) and machines (JSON)."""
