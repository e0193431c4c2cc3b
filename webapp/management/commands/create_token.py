"""``python manage.py create_token USERNAME [--name NAME]``: an API token for a script, printed once.

For operators and scripts on the server itself; elsewhere a script can use
``POST /api/tokens/obtain`` with the account's credentials.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from webapp.errors import LabError
from webapp.services.tokens import token_create


class Command(BaseCommand):
    help = "Create an API token for a user and print its secret (shown only this once)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="script", help="what the token is for (default: script)")

    def handle(self, *args: str, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"], is_active=True).first()
        if user is None:
            raise CommandError(f"no active user {options['username']!r}")
        try:
            _token, secret = token_create(user=user, name=options["name"])
        except LabError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(secret)
