"""Helpers shared by the test suites (the ``lab_server`` pytest plugin lives here)."""
