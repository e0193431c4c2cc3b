"""Path converter ``{id:name}``: 1 to 18 digits, so an id always fits a 64-bit column.

A longer number is a 404 from the URL resolver, never an overflow in the database.
"""

from django.urls import register_converter


class IdConverter:
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id")
