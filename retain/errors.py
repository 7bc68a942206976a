"""Errors a user can cause and fix: the CLI prints them as messages, never as tracebacks."""

from __future__ import annotations


class RetainError(Exception):
    """A problem with the user's input or set-up, reported as a message and a non-zero exit."""
