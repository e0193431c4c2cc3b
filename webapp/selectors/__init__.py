"""Reads: every query the API, consumers and services make goes through a function here.

Functions that fetch one object take the ``owner`` and raise ``NotFound``
for another user's object, so ownership is checked in one place.
"""
